// Argmax of long rows (a 262k-entry vocabulary) in two dispatches, so that more than one
// workgroup scans a row. The result is that of argmax.wgsl: first index on ties, NaN and -inf
// never win, a row without a finite value gives 0.
//   PART:  workgroup (p, r) scans columns [p * span, (p + 1) * span) of row r and writes its
//          winner as (value bits, index) to pairs[r][p] (index NONE when it saw no finite value)
//   MERGE: workgroup r takes the winner of row r's pairs (lower part first on equal values, so
//          ties still go to the lower index) and writes it to res[r]
#include "common/header"
struct Params {
  rows: u32,
  cols: u32,
  parts: u32,
  span: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
#if PART
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> pairs: array<u32>;
#else
@group(0) @binding(1) var<storage, read> pairs: array<u32>;
@group(0) @binding(2) var<storage, read_write> res: array<u32>;
#endif

#include "common/best"

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var v = 0.0;
  var idx = NONE;
#if PART
  let p = wg.x;
  let r = wg.y;
  let c1 = min(P.cols, (p + 1u) * P.span);
  for (var c = p * P.span + lid; c < c1; c += {{WG}}u) {
    let y = x[r * P.cols + c];
    if (selectable(y) && (idx == NONE || y > v)) { v = y; idx = c; }
  }
#else
  let r = wg.x;
  for (var i = lid; i < P.parts; i += {{WG}}u) {
    let o = (r * P.parts + i) * 2u;
    let y = bitcast<f32>(pairs[o]);
    let j = pairs[o + 1u];
    if (beats(y, j, v, idx)) { v = y; idx = j; }
  }
#endif
  wg_best(v, idx, lid);
  if (lid == 0u) {
#if PART
    let o = (r * P.parts + p) * 2u;
    pairs[o] = bitcast<u32>(bv[0]);
    pairs[o + 1u] = bi[0];
#else
    res[r] = select(bi[0], 0u, bi[0] == NONE);
#endif
  }
}
