// Start-up probe: are subgroups contiguous, aligned runs of the local index (what
// common/reduce.wgsl assumes)? res[lid] = 0 when the subgroup of lid is exactly
// [lid - lid % size, lid - lid % size + size) and lid sits at position lid % size in it;
// res[64] = the subgroup size.
enable subgroups;
@group(0) @binding(0) var<storage, read_write> res: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32) {
  let first = subgroupMin(lid);
  let last = subgroupMax(lid);
  let ok = sgi == lid % sgs && first == lid - sgi && last == first + sgs - 1u && 64u % sgs == 0u;
  res[lid] = select(1u, 0u, ok);
  if (lid == 0u) { res[64] = sgs; }
}
