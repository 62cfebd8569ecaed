// tanh with its argument clamped: tanh(+-10) is +-1 in f32, and some drivers compute tanh
// through exp(2x), which overflows to inf/inf = NaN for large |x|.
fn tanh_safe(x: f32) -> f32 { return tanh(clamp(x, -10.0, 10.0)); }

// GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
fn gelu_tanh(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}
