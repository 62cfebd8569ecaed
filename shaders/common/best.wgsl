// Selection within a workgroup of {{WG}} invocations: the best (value, index) pair, where a
// larger value wins, the lower index wins a tie, and index NONE (nothing seen) never wins.
// Every invocation must call wg_best (it has barriers); the winner is left in bv[0], bi[0].
const NONE = 0xffffffffu;
var<workgroup> bv: array<f32, {{WG}}>;
var<workgroup> bi: array<u32, {{WG}}>;

// does (v2, i2) beat (v1, i1)?
fn beats(v2: f32, i2: u32, v1: f32, i1: u32) -> bool {
  if (i2 == NONE) { return false; }
  if (i1 == NONE) { return true; }
  return v2 > v1 || (v2 == v1 && i2 < i1);
}

// is y a value selection may take? (-inf and NaN are never taken: y >= -FLT_MAX is false for both)
fn selectable(y: f32) -> bool { return y >= -0x1.fffffep+127f; }

fn wg_best(v: f32, idx: u32, lid: u32) {
  bv[lid] = v;
  bi[lid] = idx;
  workgroupBarrier();
  for (var s = {{WG}}u / 2u; s > 0u; s >>= 1u) {
    if (lid < s && beats(bv[lid + s], bi[lid + s], bv[lid], bi[lid])) {
      bv[lid] = bv[lid + s];
      bi[lid] = bi[lid + s];
    }
    workgroupBarrier();
  }
}
