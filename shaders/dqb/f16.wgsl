// F16 units (see dqb/pairs).
fn pair(w: u32) -> vec2<f32> { return unpack2x16float(w); }
#include "dqb/pairs"
