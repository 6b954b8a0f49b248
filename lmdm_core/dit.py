"""The diffusion transformer, shaped and named like Stable Audio Open Small's `DiffusionTransformer`.

Parameter names mirror stable-audio-tools so a SAOS state dict loads after stripping `model.model.`:
`timestep_features`, `to_timestep_embed`, `to_cond_embed`, `to_global_embed`, `to_input_add_embed`,
`preprocess_conv`, `postprocess_conv`, `transformer.{project_in, project_out, rotary_pos_emb, layers.{i}...}`.

The model is split into pieces (`embed`, `global_token`, `trunk`, `head`, `cross_cache`) so that the full forward
(training, the uncached reference, naive outpainting) and the cached engine (cache.py) share every line of math.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import CrossAttention, SelfAttention, safe_key_mask
from .conditions import Conditions
from .config import DiTConfig
from .masks import Layout, attention_mask, sequence_layout
from .rope import RotaryEmbedding


class LayerNorm(nn.Module):
    """Bias-free LayerNorm as in SAOS: learnable `gamma`, a zero `beta` buffer."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))
        self.register_buffer("beta", torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], weight=self.gamma, bias=self.beta)


class FourierFeatures(nn.Module):
    def __init__(self, in_features: int, out_features: int, std: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features // 2, in_features) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = 2 * math.pi * x @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


class GLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, 2 * dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.silu(gate)


class FeedForward(nn.Module):
    """SwiGLU; `ff.0.proj` and `ff.2` as in SAOS (`ff.1` is the identity SAOS keeps for conv variants)."""

    def __init__(self, dim: int, mult: int) -> None:
        super().__init__()
        self.ff = nn.Sequential(GLU(dim, mult * dim), nn.Identity(), nn.Linear(mult * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(x)


@dataclass
class CrossKV:
    """Per-layer cross-attention keys/values of one condition batch, with its safe key mask and gate."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]
    mask: torch.Tensor
    gate: torch.Tensor


# (token count or None for "the rest", (this layer's cross K/V, safe key mask, gate))
CrossSegment = tuple[int | None, tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor, torch.Tensor]]


class TransformerBlock(nn.Module):
    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.pre_norm = LayerNorm(d)
        self.self_attn = SelfAttention(d, cfg.head_dim)
        self.cross_attend_norm = LayerNorm(d)
        self.cross_attn = CrossAttention(d, cfg.head_dim, d)
        self.ff_norm = LayerNorm(d)
        self.ff = FeedForward(d, cfg.ff_mult)

    def forward(self, h: torch.Tensor, rot: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None,
                cross: list[CrossSegment],
                past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.self_attn(self.pre_norm(h), rot, mask, past)
        h = h + a
        x, parts, start = self.cross_attend_norm(h), [], 0
        for n, (kvc, m, g) in cross:     # segments of tokens conditioned on different prompts (the reference path)
            stop = h.shape[1] if n is None else start + n
            parts.append(self.cross_attn(x[:, start:stop], kvc, m, g))
            start = stop
        h = h + (parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))
        return h + self.ff(self.ff_norm(h)), kv


class ContinuousTransformer(nn.Module):
    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        if cfg.rope_dims > cfg.head_dim:
            raise ValueError(f"rope_dims {cfg.rope_dims} exceeds head dim {cfg.head_dim}")
        self.project_in = nn.Linear(cfg.io_channels, cfg.embed_dim, bias=False)
        self.project_out = nn.Linear(cfg.embed_dim, cfg.io_channels, bias=False)
        self.rotary_pos_emb = RotaryEmbedding(cfg.rope_dims, cfg.rope_base)
        self.layers = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg.depth))


class DiT(nn.Module):
    """Rectified-flow DiT: predicts v = eps - x0 from x_t = (1 - t) x0 + t eps.

    Global conditioning (timestep features + optional global vector) is one token appended at the END of the
    sequence (LMDM's postpend) at RoPE position 0; latents sit at positions 1..T.
    """

    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.timestep_features = FourierFeatures(1, cfg.timestep_features)
        self.to_timestep_embed = nn.Sequential(nn.Linear(cfg.timestep_features, d), nn.SiLU(), nn.Linear(d, d))
        self.to_cond_embed = nn.Sequential(nn.Linear(cfg.cond_token_dim, d, bias=False), nn.SiLU(),
                                           nn.Linear(d, d, bias=False))
        if cfg.global_cond_dim > 0:
            self.to_global_embed = nn.Sequential(nn.Linear(cfg.global_cond_dim, d, bias=False), nn.SiLU(),
                                                 nn.Linear(d, d, bias=False))
        self.input_add_channels = sum(cfg.input_adds.values())
        if self.input_add_channels:
            self.to_input_add_embed = nn.Linear(self.input_add_channels, d, bias=False)
        self._router = self._router_channel(cfg.input_adds)
        self.preprocess_conv = nn.Conv1d(cfg.io_channels, cfg.io_channels, 1, bias=False)
        self.postprocess_conv = nn.Conv1d(cfg.io_channels, cfg.io_channels, 1, bias=False)
        self.transformer = ContinuousTransformer(cfg)

    @staticmethod
    def _router_channel(groups: dict[str, int]) -> int | None:
        """Channel of the inpaint mask (first channel of the "context" group) in the concatenated input-adds."""
        offset = 0
        for name, n in groups.items():
            if name == "context":
                return offset
            offset += n
        return None

    # ----- pieces shared by the full forward and the cached engine -----

    def cross_cache(self, cond: Conditions) -> CrossKV:
        """Cross-attention K/V for every layer; valid until the conditions change."""
        ctx = self.to_cond_embed(cond.tokens)
        mask, gate = safe_key_mask(cond.mask if self.cfg.cross_attn_mask else torch.ones_like(cond.mask))
        return CrossKV([layer.cross_attn.kv(ctx) for layer in self.transformer.layers], mask, gate)

    def embed(self, x: torch.Tensor, input_add: torch.Tensor | None) -> torch.Tensor:
        """x [B, C, T] noisy latents, input_add [B, ΣC, T] -> tokens [B, T, D].

        The context router zeroes the noisy input where the inpaint mask is 1, so context carries clean latents only.
        """
        x = self.preprocess_conv(x) + x
        if self.input_add_channels:
            if input_add is None:
                input_add = x.new_zeros(x.shape[0], self.input_add_channels, x.shape[2])
            if input_add.shape[1] != self.input_add_channels or input_add.shape[2] != x.shape[2]:
                raise ValueError(f"input_add must be [B, {self.input_add_channels}, {x.shape[2]}], "
                                 f"got {tuple(input_add.shape)}")
            if self._router is not None:
                x = x * (1 - input_add[:, self._router:self._router + 1])
        h = self.transformer.project_in(x.transpose(1, 2))
        if self.input_add_channels:
            h = h + self.to_input_add_embed(input_add.transpose(1, 2))
        return h

    def global_token(self, t: torch.Tensor, global_vec: torch.Tensor | None) -> torch.Tensor:
        """t [B] -> the postpend token [B, 1, D]."""
        g = self.to_timestep_embed(self.timestep_features(t[:, None].to(self.timestep_features.weight.dtype)))
        if global_vec is not None and hasattr(self, "to_global_embed"):
            g = g + self.to_global_embed(global_vec)
        return g[:, None, :]

    def trunk(self, h: torch.Tensor, q: Layout, mask: torch.Tensor | None, cross: CrossKV | list[tuple[int, CrossKV]],
              past: list[tuple[torch.Tensor, torch.Tensor]] | None = None, n_layers: int | None = None
              ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Run the layers (the first n_layers, default all) on tokens h [B, N, D] laid out as q; keys are past keys
        (per layer) then h's own.

        cross: one CrossKV for all tokens, or consecutive (n_tokens, CrossKV) segments covering h (tokens that were
        encoded under different prompts). Returns the final hidden states and, per layer, the keys/values of h's
        tokens (after qk-norm and RoPE).
        """
        segments = [(None, cross)] if isinstance(cross, CrossKV) else list(cross)
        rot = self.transformer.rotary_pos_emb.rotation(q.pos)
        kvs = []
        for i, layer in enumerate(self.transformer.layers[:n_layers]):
            layer_cross = [(n, (c.kv[i], c.mask, c.gate)) for n, c in segments]
            h, kv = layer(h, rot, mask, layer_cross, None if past is None else past[i])
            kvs.append(kv)
        return h, kvs

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """Latent tokens [B, T, D] -> velocity [B, C, T]."""
        out = self.transformer.project_out(h).transpose(1, 2)
        return self.postprocess_conv(out) + out

    # ----- full forward -----

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Conditions, input_add: torch.Tensor | None = None,
                *, mode: str = "bidirectional", block: int | None = None, window_chunks: int = 1,
                window: int | None = None, cross: CrossKV | list[tuple[int, CrossKV]] | None = None,
                exit_layer: int | None = None) -> torch.Tensor:
        """Full masked forward over x [B, C, T] whose last `block` latents are the target (default: all of x).

        mode: "bidirectional" | "encdec" | "block_causal" (see masks.py). window: RoPE window in latents (default T;
        larger sequences, e.g. a stream's history, put older latents at positions below 1). cross: precomputed
        cross-attention K/V (see `trunk`), default computed from cond. Returns v [B, C, T], or with exit_layer=k
        the hidden states [B, T, D] after layer k (0-based; e.g. an ARC discriminator trunk reads layer 12).
        """
        n = x.shape[2]
        layout = sequence_layout(n, n if block is None else block, window)
        mask = attention_mask(layout, layout, mode, window_chunks)            # built on the CPU: no device sync
        mask = None if bool(mask.all()) else mask.to(x.device)
        layout = layout.to(x.device)
        h = torch.cat([self.embed(x, input_add), self.global_token(t, cond.global_vec)], dim=1)
        n_layers = None if exit_layer is None else exit_layer + 1
        h, _ = self.trunk(h, layout, mask, self.cross_cache(cond) if cross is None else cross, n_layers=n_layers)
        return h[:, :n] if exit_layer is not None else self.head(h[:, :n])


def pack_input_add(cfg: DiTConfig, flag: torch.Tensor, latents: torch.Tensor,
                   extras: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Per-frame input-add channels [B, ΣC, T] in config order: "context" = [inpaint mask, latents * mask]
    (flag [B, 1, T] is 1 on clean context frames), other groups from `extras` (zeros where missing)."""
    parts, extras = [], extras or {}
    for name, n in cfg.input_adds.items():
        if name == "context":
            parts += [flag, latents * flag]
        else:
            parts.append(extras.get(name, flag.new_zeros(flag.shape[0], n, flag.shape[2])))
    return torch.cat(parts, dim=1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
