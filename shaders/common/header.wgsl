// Enable directives and type aliases shared by every kernel (included first).
//   F16:       the adapter has shader-f16 and the backend runs its f16 path (KV cache and
//              matmul tiles in f16; accumulation stays f32)
//   SUBGROUPS: reductions use subgroup operations (workgroup-memory trees otherwise)
//   KV32, KVP: the KV cache's element type (below)
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
// The KV cache's element (WebGpuOptions.kvCache): f16 on the F16 path unless KV32; f32 on the
// f32 path unless KVP, which keeps f16 pairs packed in u32 words (pack2x16float, no extension)
#if !KVP
#if F16
#if KV32
alias kv_t = f32;
#else
alias kv_t = f16;
#endif
#else
alias kv_t = f32;
#endif
#endif
