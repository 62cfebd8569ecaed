// Enable directives and type aliases shared by every kernel (included first).
//   F16:       the adapter has shader-f16 and the backend runs its f16 path (KV cache and
//              matmul tiles in f16; accumulation stays f32)
//   SUBGROUPS: reductions use subgroup operations (workgroup-memory trees otherwise)
#if F16
enable f16;
#endif
#if SUBGROUPS
enable subgroups;
// subgroup operations run where every lane of the subgroup agrees (e.g. one row per
// subgroup), which WGSL's workgroup-level uniformity analysis cannot see
diagnostic(off, subgroup_uniformity);
#endif
#if F16
alias half_t = f16;
#else
alias half_t = f32;
#endif
