// BF16 units (see dqb/pairs): a bf16 is the high half of an f32.
fn pair(w: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u)); }
#include "dqb/pairs"
