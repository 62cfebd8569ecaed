// Workgroup reductions over {{WG}} invocations with 1-D local index `lid`. Every invocation
// must call them (they contain barriers) and every invocation gets the same result.
// With subgroups: one subgroupAdd/Max per subgroup, then the subgroup totals (one slot per
// subgroup; the backend checks at start-up that subgroups are contiguous runs of the local
// index) are summed in a fixed order. Without: a tree in workgroup memory (log2(WG) barriers).
var<workgroup> red_f: array<f32, {{WG}}>;
#if SUBGROUPS
var<private> sg_id: u32;
var<private> sg_size: u32;
#endif

fn wg_sum(v: f32, lid: u32) -> f32 {
#if SUBGROUPS
  let s = subgroupAdd(v);
  if (sg_id == 0u) { red_f[lid / sg_size] = s; }
  workgroupBarrier();
  var t = 0.0;
  let n = {{WG}}u / sg_size;
  for (var i = 0u; i < n; i++) { t += red_f[i]; }
#else
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = {{WG}}u / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] += red_f[lid + s]; }
    workgroupBarrier();
  }
  let t = red_f[0];
#endif
  workgroupBarrier();
  return t;
}

fn wg_max(v: f32, lid: u32) -> f32 {
#if SUBGROUPS
  let s = subgroupMax(v);
  if (sg_id == 0u) { red_f[lid / sg_size] = s; }
  workgroupBarrier();
  var t = red_f[0];
  let n = {{WG}}u / sg_size;
  for (var i = 1u; i < n; i++) { t = max(t, red_f[i]); }
#else
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = {{WG}}u / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] = max(red_f[lid], red_f[lid + s]); }
    workgroupBarrier();
  }
  let t = red_f[0];
#endif
  workgroupBarrier();
  return t;
}
