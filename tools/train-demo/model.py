"""The Gemma 3 text architecture in plain PyTorch, written from the published model
description (no transformers library). Used for training and, separately, as the
independent float32/float64 reference for gemma-ts's engine.

Shapes: B batch, T tokens, E hidden size, H query heads, K key/value heads, D head dim,
F feed-forward (intermediate) size, V vocabulary.

One decoder layer ("sandwich" norms: every sub-block is normed before and after):

    h = x + post_attention_norm(attention(input_norm(x)))
    y = h + post_feedforward_norm(mlp(pre_feedforward_norm(h)))

Layer i is global (full causal attention, RoPE base 1e6) when (i + 1) % 6 == 0, else
local (sliding window W, RoPE base 1e4). Parameter names are the Hugging Face ones, so a
state_dict exports straight to model.safetensors.
"""
import math
from dataclasses import dataclass, field, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GemmaConfig:
    vocab_size: int = 4096
    hidden_size: int = 256           # E
    intermediate_size: int = 768     # F
    num_hidden_layers: int = 6
    num_attention_heads: int = 4     # H
    num_key_value_heads: int = 1     # K (GQA: H / K query heads share one K/V head)
    head_dim: int = 64               # D
    sliding_window: int = 64         # W
    sliding_window_pattern: int = 6  # every 6th layer is global
    rope_theta: float = 1_000_000.0  # global layers
    rope_local_base_freq: float = 10_000.0  # local layers
    query_pre_attn_scalar: float = 64.0  # queries are scaled by query_pre_attn_scalar ** -0.5
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 2048

    def is_global(self, layer: int) -> bool:
        return (layer + 1) % self.sliding_window_pattern == 0

    def layer_types(self):
        return ['full_attention' if self.is_global(i) else 'sliding_attention'
                for i in range(self.num_hidden_layers)]

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x^2) + eps) * (1 + w), computed in float32, returned in x's dtype.
    w is stored as an offset from 1 and initialised to 0 (Gemma convention)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))  # [dim]

    def forward(self, x):
        xf = x.float() if x.dtype != torch.float64 else x
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        y = y * (1.0 + self.weight.to(y.dtype))
        return y.to(x.dtype)


def rope_cos_sin(positions, head_dim: int, base: float, dtype):
    """cos, sin: [T, D]. Frequency k (k < D/2) is base^(-2k/D); the table repeats the
    D/2 angles twice because the rotation pairs dimension k with k + D/2 (half split)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # [T, D/2]
    emb = torch.cat([angles, angles], dim=-1)                          # [T, D]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, cos, sin):
    """x: [B, heads, T, D]. Pair (i, i + D/2) is rotated by angle_i:
    x_i' = x_i cos - x_{i+D/2} sin ;  x_{i+D/2}' = x_{i+D/2} cos + x_i sin."""
    return x * cos + rotate_half(x) * sin


def attention_mask(T: int, window, device):
    """Boolean [T, T], True where query i may attend key j: j <= i and, for a sliding
    window W, i - W < j (the query sees itself and the W - 1 keys before it)."""
    i = torch.arange(T, device=device)[:, None]
    j = torch.arange(T, device=device)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)
    return allowed


class Attention(nn.Module):
    def __init__(self, cfg: GemmaConfig, layer: int):
        super().__init__()
        self.cfg = cfg
        self.is_global = cfg.is_global(layer)
        E, H, K, D = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(E, H * D, bias=False)  # weight [H*D, E]
        self.k_proj = nn.Linear(E, K * D, bias=False)  # weight [K*D, E]
        self.v_proj = nn.Linear(E, K * D, bias=False)  # weight [K*D, E]
        self.o_proj = nn.Linear(H * D, E, bias=False)  # weight [E, H*D]
        self.q_norm = RMSNorm(D, cfg.rms_norm_eps)     # QK-norm, per head over D
        self.k_norm = RMSNorm(D, cfg.rms_norm_eps)

    def forward(self, x, positions):
        cfg = self.cfg
        B, T, _ = x.shape
        H, K, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        q = self.q_proj(x).view(B, T, H, D)
        k = self.k_proj(x).view(B, T, K, D)
        v = self.v_proj(x).view(B, T, K, D)
        q, k = self.q_norm(q), self.k_norm(k)           # norm before RoPE
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, heads, T, D]
        base = cfg.rope_theta if self.is_global else cfg.rope_local_base_freq
        cos, sin = rope_cos_sin(positions, D, base, x.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # GQA: query head h reads K/V head h // (H / K).
        k = k.repeat_interleave(H // K, dim=1)
        v = v.repeat_interleave(H // K, dim=1)
        scores = (q * cfg.query_pre_attn_scalar ** -0.5) @ k.transpose(-1, -2)  # [B, H, T, T]
        mask = attention_mask(T, None if self.is_global else cfg.sliding_window, x.device)
        scores = scores.masked_fill(~mask, float('-inf'))
        probs = torch.softmax(scores.float() if x.dtype != torch.float64 else scores, dim=-1).to(x.dtype)
        out = (probs @ v).transpose(1, 2).reshape(B, T, H * D)
        return self.o_proj(out)


def gelu_tanh(x):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    torch's fused kernel computes exactly this formula (approximate='tanh'); it is
    several times faster than spelling it out, which matters for CPU training."""
    return F.gelu(x, approximate='tanh')


class MLP(nn.Module):
    """GeGLU: down(gelu_tanh(gate(x)) * up(x))."""

    def __init__(self, cfg: GemmaConfig):
        super().__init__()
        E, F_ = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(E, F_, bias=False)  # weight [F, E]
        self.up_proj = nn.Linear(E, F_, bias=False)    # weight [F, E]
        self.down_proj = nn.Linear(F_, E, bias=False)  # weight [E, F]

    def forward(self, x):
        return self.down_proj(gelu_tanh(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: GemmaConfig, layer: int):
        super().__init__()
        E, eps = cfg.hidden_size, cfg.rms_norm_eps
        self.input_layernorm = RMSNorm(E, eps)
        self.self_attn = Attention(cfg, layer)
        self.post_attention_layernorm = RMSNorm(E, eps)
        self.pre_feedforward_layernorm = RMSNorm(E, eps)
        self.mlp = MLP(cfg)
        self.post_feedforward_layernorm = RMSNorm(E, eps)

    def forward(self, x, positions):
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x), positions))
        x = x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))
        return x


class GemmaModel(nn.Module):
    def __init__(self, cfg: GemmaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)  # [V, E]
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Gemma3ForCausalLM(nn.Module):
    """Holds `model.*` so that state_dict keys match HF: model.embed_tokens.weight, ...
    The LM head is tied: logits = h @ embed_tokens.weight^T; no final soft-capping."""

    def __init__(self, cfg: GemmaConfig):
        super().__init__()
        self.cfg = cfg
        self.model = GemmaModel(cfg)

    def init_weights(self, generator):
        for name, p in self.named_parameters():
            if p.dim() == 2:
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
            else:
                nn.init.zeros_(p)

    def forward(self, ids, positions=None):
        """ids: [B, T] int64 -> logits [B, T, V] in the parameters' dtype."""
        T = ids.shape[1]
        if positions is None:
            positions = torch.arange(T, device=ids.device)
        m = self.model
        x = m.embed_tokens(ids)  # [B, T, E]
        # The sqrt(E) normalizer is cast to the compute dtype before the multiply (HF does
        # the same, which matters in bf16; sqrt(256) = 16 is exact in any dtype).
        x = x * torch.tensor(self.cfg.hidden_size ** 0.5, dtype=x.dtype)
        for layer in m.layers:
            x = layer(x, positions)
        x = m.norm(x)
        return x @ m.embed_tokens.weight.t()
