// Linear index of an invocation in a 2-D grid of 1-D workgroups of {{WG}} (grids wrap at
// grid_x workgroups along x, since a dimension holds at most 65535).
fn linear_id(wg: vec3<u32>, lid: u32, grid_x: u32) -> u32 {
  return (wg.y * grid_x + wg.x) * {{WG}}u + lid;
}
