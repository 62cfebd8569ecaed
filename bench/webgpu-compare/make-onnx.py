#!/usr/bin/env python3
"""
Build, node by node, an ONNX graph of a Gemma 3 text decoder with KV cache in the layout
transformers.js expects for `gemma3_text` causal LMs, with the weights of a safetensors
directory written by gemma-ts (bench/webgpu-compare/synth.ts), so both engines run the
same numbers.

    /usr/bin/python3 bench/webgpu-compare/make-onnx.py MODEL_DIR [--rope-in-graph] [--fused OUT_DIR]

Reads MODEL_DIR/config.json + model.safetensors (F32), writes MODEL_DIR/onnx/model.onnx
and MODEL_DIR/generation_config.json. Needs only python3-onnx (1.12, opset 17) + numpy.

Two graphs of the same maths:
  plain  (default): standard ONNX ops only (Gather, MatMul, ReduceMean, Softmax, ...), the
                    mask built in the graph. onnxruntime does not fuse these (checked with
                    --ort-log verbose in run.ts: no fused node appears). RoPE cos/sin are
                    gathered from tables computed here; --rope-in-graph computes them with
                    Cos/Sin nodes instead (on SwiftShader that costs 1.4e-3 in log-softmax).
  fused  (--fused OUT_DIR): the fused operators onnxruntime's exporters put into real LLM
                    graphs and its WebGPU EP implements: SimplifiedLayerNormalization,
                    com.microsoft SkipSimplifiedLayerNormalization (residual add + RMSNorm),
                    com.microsoft GroupQueryAttention (KV concat, RoPE from cos/sin caches,
                    causal + local window, GQA, softmax, in one op), com.microsoft FastGelu.
                    Written to OUT_DIR (config, tokenizer, generation config copied, the
                    safetensors file hard-linked) so the two graphs can be timed side by side.

Graph I/O (what transformers.js 4.x feeds and reads, see src/models/modeling_utils.js:
decoder_forward, addPastKeyValues, getPastKeyValues):
  input_ids                  int64 [batch, seq]
  attention_mask             int64 [batch, past + seq]   1 = attend
  position_ids               int64 [batch, seq]          (transformers.js counts from 1 for
                                                          gemma3; RoPE only sees differences)
  past_key_values.{l}.key    f32   [batch, kv_heads, past, head_dim]   (also .value)
  logits                     f32   [batch, seq, vocab]
  present.{l}.key            f32   [batch, kv_heads, past + seq, head_dim] = concat(past, new)
(The fused graph has no position_ids input: GroupQueryAttention derives positions from
seqlens_k = sum(attention_mask) - 1, counting from 0; transformers.js feeds only the inputs
a session declares.)
The empty first cache is made by transformers.js from the input metadata: symbolic dims
`batch_size` -> batch, anything else (past_sequence_length) -> 0, numbers as they are.

Maths (Gemma 3, as in HF Gemma3ForCausalLM and gemma-ts src/model/forward.ts):
  h = embed[ids] * sqrt(d)
  per layer:  x = rms(h) * (1 + w_in)
              q, k, v = x Wq^T, x Wk^T, x Wv^T;  q, k = rms(q) * (1 + w_qn), rms(k) * (1 + w_kn)
              q, k = rope(q, k)  half-split, base 10 000 on sliding layers, rope_theta (and
                                 linear scaling) on full layers
              a = softmax(q k^T / sqrt(query_pre_attn_scalar) + mask) v   (GQA: head h uses
                  KV head h // (heads / kv_heads); mask: causal, padding, and on sliding
                  layers key j visible from query i only if i - W < j)
              h = h + rms(a Wo^T) * (1 + w_post_attn)
              x = rms(h) * (1 + w_pre_ffn)
              h = h + rms((gelu_tanh(x Wg^T) * x Wu^T) Wd^T) * (1 + w_post_ffn)
  logits = (rms(h) * (1 + w_final)) embed^T        (tied head)
  rms(x) = x / sqrt(mean(x^2) + eps)
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def read_safetensors(path):
    """name -> float32 array (F32 only: the harness writes F32 so nothing is rounded)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        if n > 100 * 1024 * 1024:
            raise ValueError(f'safetensors header of {n} bytes is implausible')
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, meta in header.items():
            if name == '__metadata__':
                continue
            if meta['dtype'] != 'F32':
                raise ValueError(f'{name}: dtype {meta["dtype"]}, expected F32')
            a, b = meta['data_offsets']
            f.seek(base + a)
            arr = np.frombuffer(f.read(b - a), dtype='<f4').astype(np.float32)
            if arr.size != int(np.prod(meta['shape'])):
                raise ValueError(f'{name}: {arr.size} values for shape {meta["shape"]}')
            out[name] = arr.reshape(meta['shape'])
    return out


class Builder:
    """Tiny helper: unique names, constants, nodes."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, hint):
        self.n += 1
        return f'{hint}_{self.n}'

    def const(self, value, hint='c', dtype=None):
        arr = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        nm = self.name(hint)
        self.inits.append(numpy_helper.from_array(arr, nm))
        return nm

    def op(self, op_type, inputs, hint=None, outputs=None, **attrs):
        outs = outputs or [self.name(hint or op_type.lower())]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name('n_' + op_type), **attrs))
        return outs[0] if len(outs) == 1 else outs


def rms_norm(b, x, w_plus_1, eps_c):
    """x / sqrt(mean(x^2, last axis) + eps) * (1 + w)"""
    sq = b.op('Mul', [x, x])
    ms = b.op('ReduceMean', [sq], axes=[-1], keepdims=1)
    r = b.op('Sqrt', [b.op('Add', [ms, eps_c])])
    return b.op('Mul', [b.op('Div', [x, r]), w_plus_1])


def gelu_tanh(b, x, c):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))"""
    x3 = b.op('Mul', [b.op('Mul', [x, x]), x])
    inner = b.op('Mul', [b.op('Add', [x, b.op('Mul', [x3, c['k044']])]), c['s2pi']])
    t = b.op('Add', [b.op('Tanh', [inner]), c['one']])
    return b.op('Mul', [b.op('Mul', [x, t]), c['half']])


def inv_freq(head_dim, theta, scaling):
    """inv_freq_i = theta^(-2i/D) / scaling, in f32 like HF (torch.arange(0, D, 2).float() / D)"""
    inv = (1.0 / (np.float32(theta) ** (np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / np.float32(head_dim)))).astype(np.float32)
    return (inv / np.float32(scaling)).astype(np.float32)


def rope_from_tables(b, head_dim, theta, scaling, max_pos, tag):
    """cos, sin [batch, 1, seq, head_dim]: rows position_ids of tables computed here (numpy f32
    angles p * inv_freq, cos/sin in f32). Default: Sin/Cos evaluated on SwiftShader's WebGPU
    adapter are off by enough at angles of tens of radians to move log-softmax by 1.4e-3."""
    inv = inv_freq(head_dim, theta, scaling)
    ang = (np.arange(max_pos, dtype=np.float32)[:, None] * inv[None, :]).astype(np.float32)
    ang = np.concatenate([ang, ang], axis=1)                                # [P, D]
    ax1 = b.const(np.array([1], np.int64), 'ax1')
    cos = b.op('Gather', [b.const(np.cos(ang).astype(np.float32), f'cos_table_{tag}'), 'position_ids'], axis=0)   # [B, S, D]
    sin = b.op('Gather', [b.const(np.sin(ang).astype(np.float32), f'sin_table_{tag}'), 'position_ids'], axis=0)
    return b.op('Unsqueeze', [cos, ax1], f'cos_{tag}'), b.op('Unsqueeze', [sin, ax1], f'sin_{tag}')


def rope_tables(b, pos_f, head_dim, theta, scaling, tag):
    """cos, sin [batch, 1, seq, head_dim] for positions pos_f [batch, seq, 1] (float), with
    Cos/Sin nodes in the graph (as optimum's exports do): --rope-in-graph."""
    half = head_dim // 2
    inv = inv_freq(head_dim, theta, scaling)
    assert inv.shape == (half,)
    freqs = b.op('Mul', [pos_f, b.const(inv, f'inv_freq_{tag}')])          # [B, S, D/2]
    emb = b.op('Concat', [freqs, freqs], axis=-1)                           # [B, S, D]
    emb = b.op('Unsqueeze', [emb, b.const(np.array([1], np.int64), 'ax1')])  # [B, 1, S, D]
    return b.op('Cos', [emb], f'cos_{tag}'), b.op('Sin', [emb], f'sin_{tag}')


def apply_rope(b, x, cos, sin, head_dim, c):
    """x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x[D/2:], x[:D/2])"""
    x1, x2 = b.op('Split', [x, c['split_half']], outputs=[b.name('x1'), b.name('x2')], axis=-1)
    rot = b.op('Concat', [b.op('Neg', [x2]), x1], axis=-1)
    return b.op('Add', [b.op('Mul', [x, cos]), b.op('Mul', [rot, sin])])


def graph_io(L, nKV, D, V, position_ids):
    """The graph inputs and outputs transformers.js feeds and reads for a gemma3_text decoder."""
    inputs = [
        helper.make_tensor_value_info('input_ids', TensorProto.INT64, ['batch_size', 'sequence_length']),
        helper.make_tensor_value_info('attention_mask', TensorProto.INT64, ['batch_size', 'total_sequence_length']),
    ]
    if position_ids:
        inputs.append(helper.make_tensor_value_info('position_ids', TensorProto.INT64, ['batch_size', 'sequence_length']))
    outputs = [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['batch_size', 'sequence_length', V])]
    for l in range(L):
        for kv in ('key', 'value'):
            inputs.append(helper.make_tensor_value_info(f'past_key_values.{l}.{kv}', TensorProto.FLOAT, ['batch_size', nKV, 'past_sequence_length', D]))
            outputs.append(helper.make_tensor_value_info(f'present.{l}.{kv}', TensorProto.FLOAT, ['batch_size', nKV, 'total_sequence_length', D]))
    return inputs, outputs


def attention_scales(cfg):
    """(query scale, global RoPE position scaling) of a Gemma 3 config; Gemma 2's soft-caps are
    not built here"""
    rs = cfg.get('rope_scaling') or {}
    global_scaling = rs.get('factor', 1.0) if rs.get('rope_type', 'linear') == 'linear' else 1.0
    assert cfg.get('attn_logit_softcapping') is None and cfg.get('final_logit_softcapping') is None
    return 1.0 / math.sqrt(cfg['query_pre_attn_scalar']), global_scaling


def build(cfg, W, rope_in_graph=False):
    H = cfg['hidden_size']
    nH = cfg['num_attention_heads']
    nKV = cfg['num_key_value_heads']
    D = cfg['head_dim']
    V = cfg['vocab_size']
    L = cfg['num_hidden_layers']
    eps = cfg['rms_norm_eps']
    R = nH // nKV
    window = cfg['sliding_window']
    types = cfg['layer_types']
    qscale, global_scaling = attention_scales(cfg)

    b = Builder()
    c = {
        'eps': b.const(np.float32(eps), 'eps'),
        'one': b.const(np.float32(1.0), 'one'),
        'half': b.const(np.float32(0.5), 'half'),
        'k044': b.const(np.float32(0.044715), 'k044'),
        's2pi': b.const(np.float32(math.sqrt(2.0 / math.pi)), 's2pi'),
        'split_half': b.const(np.array([D // 2, D // 2], np.int64), 'split_half'),
    }

    inputs, outputs = graph_io(L, nKV, D, V, position_ids=True)

    # ---- embedding: h = embed[ids] * sqrt(d)  (the scale rounded to f32, as HF's normalizer)
    embed = W['model.embed_tokens.weight']                                  # [V, H]
    emb_c = b.const(embed, 'embed')
    h = b.op('Gather', [emb_c, 'input_ids'], axis=0)                        # [B, S, H]
    h = b.op('Mul', [h, b.const(np.float32(math.sqrt(H)), 'sqrt_d')])

    # ---- masks: [B, 1, S, T] additive bias (0 or -3.4e38)
    past_len = b.op('Shape', ['past_key_values.0.key'], start=2, end=3)    # [1]
    seq_len = b.op('Shape', ['input_ids'], start=1, end=2)                  # [1]
    tot_len = b.op('Shape', ['attention_mask'], start=1, end=2)            # [1]
    sq0 = b.const(np.array([0], np.int64), 'ax0')
    p0 = b.op('Squeeze', [past_len, sq0])
    s0 = b.op('Squeeze', [seq_len, sq0])
    t0 = b.op('Squeeze', [tot_len, sq0])
    one_i = b.const(np.int64(1), 'one_i')
    zero_i = b.const(np.int64(0), 'zero_i')
    qi = b.op('Range', [p0, b.op('Add', [p0, s0]), one_i])                 # [S] cache index of each query
    kj = b.op('Range', [zero_i, t0, one_i])                                 # [T]
    qi_col = b.op('Unsqueeze', [qi, b.const(np.array([1], np.int64), 'ax1b')])  # [S, 1]
    causal = b.op('LessOrEqual', [kj, qi_col])                              # [S, T]
    pad = b.op('Cast', ['attention_mask'], to=TensorProto.BOOL)             # [B, T]
    pad = b.op('Unsqueeze', [pad, b.const(np.array([1, 2], np.int64), 'ax12')])  # [B, 1, 1, T]
    allow_full = b.op('And', [causal, pad])                                 # [B, 1, S, T]
    in_window = b.op('Greater', [kj, b.op('Sub', [qi_col, b.const(np.int64(window), 'win')])])  # j > i - W
    allow_slide = b.op('And', [b.op('And', [causal, in_window]), pad])
    zero_f = b.const(np.float32(0.0), 'zero_f')
    neg = b.const(np.float32(np.finfo(np.float32).min), 'neg')
    bias_full = b.op('Where', [allow_full, zero_f, neg], 'bias_full')
    bias_slide = b.op('Where', [allow_slide, zero_f, neg], 'bias_slide')

    # ---- RoPE tables (positions up to max_position_embeddings + 1: transformers.js counts from 1)
    if rope_in_graph:
        pos_f = b.op('Cast', ['position_ids'], to=TensorProto.FLOAT)
        pos_f = b.op('Unsqueeze', [pos_f, b.const(np.array([-1], np.int64), 'axm1')])  # [B, S, 1]
        rope = {
            'sliding': rope_tables(b, pos_f, D, cfg['rope_local_base_freq'], 1.0, 'local'),
            'full': rope_tables(b, pos_f, D, cfg['rope_theta'], global_scaling, 'global'),
        }
    else:
        max_pos = cfg['max_position_embeddings'] + 1
        rope = {
            'sliding': rope_from_tables(b, D, cfg['rope_local_base_freq'], 1.0, max_pos, 'local'),
            'full': rope_from_tables(b, D, cfg['rope_theta'], global_scaling, max_pos, 'global'),
        }

    shp_q = b.const(np.array([0, 0, nH, D], np.int64), 'shp_q')
    shp_kv = b.const(np.array([0, 0, nKV, D], np.int64), 'shp_kv')
    shp_grp = b.const(np.array([0, nKV, -1, D], np.int64), 'shp_grp')       # [B,H,S,D] -> [B,G,R*S,D]
    shp_sc_h = b.const(np.array([0, nH, -1, 0], np.int64), 'shp_sc_h')     # [B,G,R*S,T] -> [B,H,S,T]
    shp_sc_g = b.const(np.array([0, nKV, -1, 0], np.int64), 'shp_sc_g')    # [B,H,S,T] -> [B,G,R*S,T]
    shp_o_h = b.const(np.array([0, nH, -1, D], np.int64), 'shp_o_h')       # [B,G,R*S,D] -> [B,H,S,D]
    shp_flat = b.const(np.array([0, 0, nH * D], np.int64), 'shp_flat')
    qscale_c = b.const(np.float32(qscale), 'qscale')

    def lin(x, name):
        # HF stores [out, in]; MatMul wants [in, out]
        return b.op('MatMul', [x, b.const(np.ascontiguousarray(W[name].T), name.replace('.', '_'))])

    def norm_w(name):
        return b.const((np.float32(1.0) + W[name]).astype(np.float32), name.replace('.', '_') + '_p1')

    for l in range(L):
        p = f'model.layers.{l}.'
        kind = 'sliding' if types[l] == 'sliding_attention' else 'full'
        cos, sin = rope[kind]
        x = rms_norm(b, h, norm_w(p + 'input_layernorm.weight'), c['eps'])
        q = b.op('Transpose', [b.op('Reshape', [lin(x, p + 'self_attn.q_proj.weight'), shp_q])], perm=[0, 2, 1, 3])    # [B,H,S,D]
        k = b.op('Transpose', [b.op('Reshape', [lin(x, p + 'self_attn.k_proj.weight'), shp_kv])], perm=[0, 2, 1, 3])   # [B,G,S,D]
        v = b.op('Transpose', [b.op('Reshape', [lin(x, p + 'self_attn.v_proj.weight'), shp_kv])], perm=[0, 2, 1, 3])   # [B,G,S,D]
        q = rms_norm(b, q, norm_w(p + 'self_attn.q_norm.weight'), c['eps'])
        k = rms_norm(b, k, norm_w(p + 'self_attn.k_norm.weight'), c['eps'])
        q = apply_rope(b, q, cos, sin, D, c)
        k = apply_rope(b, k, cos, sin, D, c)
        k_all = b.op('Concat', [f'past_key_values.{l}.key', k], outputs=[f'present.{l}.key'], axis=2)      # [B,G,T,D]
        v_all = b.op('Concat', [f'past_key_values.{l}.value', v], outputs=[f'present.{l}.value'], axis=2)
        qg = b.op('Reshape', [q, shp_grp])                                                     # [B,G,R*S,D]
        sc = b.op('MatMul', [qg, b.op('Transpose', [k_all], perm=[0, 1, 3, 2])])               # [B,G,R*S,T]
        sc = b.op('Mul', [sc, qscale_c])
        sc = b.op('Add', [b.op('Reshape', [sc, shp_sc_h]), bias_slide if kind == 'sliding' else bias_full])  # [B,H,S,T]
        pr = b.op('Softmax', [sc], axis=-1)
        o = b.op('MatMul', [b.op('Reshape', [pr, shp_sc_g]), v_all])                           # [B,G,R*S,D]
        o = b.op('Reshape', [b.op('Transpose', [b.op('Reshape', [o, shp_o_h])], perm=[0, 2, 1, 3]), shp_flat])  # [B,S,H*D]
        a = lin(o, p + 'self_attn.o_proj.weight')
        a = rms_norm(b, a, norm_w(p + 'post_attention_layernorm.weight'), c['eps'])
        h = b.op('Add', [h, a])
        x = rms_norm(b, h, norm_w(p + 'pre_feedforward_layernorm.weight'), c['eps'])
        g = gelu_tanh(b, lin(x, p + 'mlp.gate_proj.weight'), c)
        m = lin(b.op('Mul', [g, lin(x, p + 'mlp.up_proj.weight')]), p + 'mlp.down_proj.weight')
        m = rms_norm(b, m, norm_w(p + 'post_feedforward_layernorm.weight'), c['eps'])
        h = b.op('Add', [h, m])

    h = rms_norm(b, h, norm_w('model.norm.weight'), c['eps'])
    b.op('MatMul', [h, b.const(np.ascontiguousarray(embed.T), 'lm_head')], outputs=['logits'])

    graph = helper.make_graph(b.nodes, 'gemma3_text', inputs, outputs, initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='gemma-ts bench/webgpu-compare/make-onnx.py')
    model.ir_version = 8
    return model



def build_fused(cfg, W):
    """The same model with onnxruntime's fused LLM operators (see the module docstring)."""
    H = cfg['hidden_size']
    nH = cfg['num_attention_heads']
    nKV = cfg['num_key_value_heads']
    D = cfg['head_dim']
    V = cfg['vocab_size']
    L = cfg['num_hidden_layers']
    eps = float(cfg['rms_norm_eps'])
    window = cfg['sliding_window']
    types = cfg['layer_types']
    max_pos = cfg['max_position_embeddings']
    qscale, global_scaling = attention_scales(cfg)
    MS = 'com.microsoft'

    b = Builder()
    inputs, outputs = graph_io(L, nKV, D, V, position_ids=False)

    def sln(x, w):   # RMSNorm(x) * w over the last axis
        return b.op('SimplifiedLayerNormalization', [x, w], axis=-1, epsilon=eps, stash_type=1)

    def skip_sln(x, skip, w):   # (RMSNorm(x + skip) * w, x + skip)
        o = [b.name('sln'), b.name('mean'), b.name('inv_std'), b.name('sum')]
        b.op('SkipSimplifiedLayerNormalization', [x, skip, w], outputs=o, domain=MS, epsilon=eps)
        return o[0], o[3]

    def norm_w(name):
        return b.const((np.float32(1.0) + W[name]).astype(np.float32), name.replace('.', '_') + '_p1')

    def lin(x, name):
        return b.op('MatMul', [x, b.const(np.ascontiguousarray(W[name].T), name.replace('.', '_'))])

    # GroupQueryAttention's sequence lengths: seqlens_k = (keys per row) - 1, total = T
    seqlens = b.op('Cast', [b.op('Sub', [b.op('ReduceSum', ['attention_mask', b.const(np.array([1], np.int64), 'ax1')], keepdims=0), b.const(np.int64(1), 'one_i')])], to=TensorProto.INT32)
    total = b.op('Cast', [b.op('Squeeze', [b.op('Shape', ['attention_mask'], start=1, end=2), b.const(np.array([0], np.int64), 'ax0')])], to=TensorProto.INT32)

    # cos/sin caches [max_pos, D/2]: angle(p, i) = p * theta^(-2i/D) / scaling, in f32 as HF
    def caches(theta, scaling, tag):
        inv = (1.0 / (np.float32(theta) ** (np.arange(0, D, 2, dtype=np.int64).astype(np.float32) / np.float32(D)))).astype(np.float32)
        inv = (inv / np.float32(scaling)).astype(np.float32)
        ang = (np.arange(max_pos, dtype=np.float32)[:, None] * inv[None, :]).astype(np.float32)
        return b.const(np.cos(ang).astype(np.float32), f'cos_{tag}'), b.const(np.sin(ang).astype(np.float32), f'sin_{tag}')
    rope = {'sliding': caches(cfg['rope_local_base_freq'], 1.0, 'local'), 'full': caches(cfg['rope_theta'], global_scaling, 'global')}

    shp_heads_q = b.const(np.array([0, 0, nH, D], np.int64), 'shp_hq')
    shp_heads_k = b.const(np.array([0, 0, nKV, D], np.int64), 'shp_hk')
    shp_flat_q = b.const(np.array([0, 0, nH * D], np.int64), 'shp_fq')
    shp_flat_k = b.const(np.array([0, 0, nKV * D], np.int64), 'shp_fk')

    embed = W['model.embed_tokens.weight']
    h = b.op('Mul', [b.op('Gather', [b.const(embed, 'embed'), 'input_ids'], axis=0), b.const(np.float32(math.sqrt(H)), 'sqrt_d')])
    x = sln(h, norm_w('model.layers.0.input_layernorm.weight'))
    for l in range(L):
        p = f'model.layers.{l}.'
        kind = 'sliding' if types[l] == 'sliding_attention' else 'full'
        q = b.op('Reshape', [sln(b.op('Reshape', [lin(x, p + 'self_attn.q_proj.weight'), shp_heads_q]), norm_w(p + 'self_attn.q_norm.weight')), shp_flat_q])
        k = b.op('Reshape', [sln(b.op('Reshape', [lin(x, p + 'self_attn.k_proj.weight'), shp_heads_k]), norm_w(p + 'self_attn.k_norm.weight')), shp_flat_k])
        v = lin(x, p + 'self_attn.v_proj.weight')
        cos, sin = rope[kind]
        att = b.name('attn')
        # Gemma's window W: query i sees keys i - W < j <= i (W keys). onnxruntime-node 1.30's
        # CPU GroupQueryAttention agrees with local_window_size = W (check.ts: W - 1 fails
        # from 32 tokens on with W = 32, W passes), though some ORT sources read as W + 1 keys
        b.op('GroupQueryAttention', [q, k, v, f'past_key_values.{l}.key', f'past_key_values.{l}.value', seqlens, total, cos, sin],
             outputs=[att, f'present.{l}.key', f'present.{l}.value'], domain=MS,
             num_heads=nH, kv_num_heads=nKV, scale=qscale, do_rotary=1, rotary_interleaved=0,
             local_window_size=window if kind == 'sliding' else -1)
        a = sln(lin(att, p + 'self_attn.o_proj.weight'), norm_w(p + 'post_attention_layernorm.weight'))
        x, h = skip_sln(a, h, norm_w(p + 'pre_feedforward_layernorm.weight'))
        g = b.op('FastGelu', [lin(x, p + 'mlp.gate_proj.weight')], domain=MS)
        m = sln(lin(b.op('Mul', [g, lin(x, p + 'mlp.up_proj.weight')]), p + 'mlp.down_proj.weight'), norm_w(p + 'post_feedforward_layernorm.weight'))
        nxt = f'model.layers.{l + 1}.input_layernorm.weight' if l + 1 < L else 'model.norm.weight'
        x, h = skip_sln(m, h, norm_w(nxt))
    b.op('MatMul', [x, b.const(np.ascontiguousarray(embed.T), 'lm_head')], outputs=['logits'])

    graph = helper.make_graph(b.nodes, 'gemma3_text_fused', inputs, outputs, initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET), helper.make_opsetid(MS, 1)], producer_name='gemma-ts bench/webgpu-compare/make-onnx.py --fused')
    model.ir_version = 8
    return model


def write_model(model, d, cfg):
    os.makedirs(os.path.join(d, 'onnx'), exist_ok=True)
    out = os.path.join(d, 'onnx', 'model.onnx')
    onnx.save(model, out)
    with open(os.path.join(d, 'generation_config.json'), 'w') as f:
        json.dump({'bos_token_id': cfg['bos_token_id'], 'eos_token_id': cfg['eos_token_id'], 'pad_token_id': cfg['pad_token_id'], 'do_sample': False}, f, indent=2)
    print(f'wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB, {len(model.graph.node)} nodes)')


def main():
    args = sys.argv[1:]
    rope_in_graph = '--rope-in-graph' in args
    if rope_in_graph:
        args.remove('--rope-in-graph')
    fused_out = None
    if '--fused' in args:
        i = args.index('--fused')
        if i + 1 >= len(args):
            sys.exit('--fused needs an output directory')
        fused_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit('usage: make-onnx.py MODEL_DIR [--rope-in-graph] [--fused OUT_DIR]')
    d = args[0]
    with open(os.path.join(d, 'config.json')) as f:
        cfg = json.load(f)
    if cfg.get('model_type') != 'gemma3_text':
        sys.exit(f'model_type {cfg.get("model_type")!r}: this builder does Gemma 3 text only')
    W = read_safetensors(os.path.join(d, 'model.safetensors'))
    if fused_out is None:
        model = build(cfg, W, rope_in_graph)
        onnx.checker.check_model(model)
        write_model(model, d, cfg)
        return
    # contrib operators: the ONNX checker does not know them, onnxruntime validates on load
    model = build_fused(cfg, W)
    os.makedirs(fused_out, exist_ok=True)
    for name in ('config.json', 'tokenizer.json', 'tokenizer_config.json'):
        if os.path.exists(os.path.join(d, name)):
            shutil.copyfile(os.path.join(d, name), os.path.join(fused_out, name))
    st = os.path.join(fused_out, 'model.safetensors')
    if not os.path.exists(st):
        os.link(os.path.join(d, 'model.safetensors'), st)
    write_model(model, fused_out, cfg)


if __name__ == '__main__':
    main()
