"""Number conditioning as stable-audio-tools computes it (SAOS's `seconds_total`): a value becomes one embedding that
is both an extra cross-attention token (after the text tokens) and the DiT's global vector.

Parameter names follow stable-audio-tools' `NumberConditioner` so an imported state dict loads after renaming
`conditioner.conditioners.` to `numbers.conditioners.`: `<name>.embedder.embedding.0.weights` (Fourier frequencies),
`<name>.embedder.embedding.1.{weight,bias}` (Linear(fourier_dim + 1 -> dim)).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .conditions import Conditions
from .config import NumberConfig


class LearnedFourier(nn.Module):
    """x [B] -> [B, dim + 1]: x itself, then sin and cos of x at learned frequencies."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"fourier_dim must be even, got {dim}")
        self.weights = nn.Parameter(torch.randn(dim // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = x[:, None] * self.weights[None, :] * 2 * math.pi
        return torch.cat([x[:, None], f.sin(), f.cos()], dim=-1)


class NumberEmbedder(nn.Module):
    def __init__(self, features: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Sequential(LearnedFourier(dim), nn.Linear(dim + 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x)


class NumberConditioner(nn.Module):
    def __init__(self, lo: float, hi: float, features: int, dim: int) -> None:
        super().__init__()
        if not hi > lo:
            raise ValueError(f"number range [{lo}, {hi}] is empty")
        self.lo, self.hi = float(lo), float(hi)
        self.embedder = NumberEmbedder(features, dim)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """values [B] -> embeddings [B, features]."""
        w = self.embedder.embedding[1].weight
        x = (values.to(w.device, torch.float32).clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo)
        return self.embedder(x.to(w.dtype))


class Numbers(nn.Module):
    """The number conditioners of a checkpoint and how their embeddings enter the DiT."""

    def __init__(self, cfg: NumberConfig) -> None:
        super().__init__()
        unknown = sorted((set(cfg.cross_attn) | set(cfg.global_cond) | set(cfg.values)) - set(cfg.ranges))
        if unknown:
            raise ValueError(f"numbers config names {unknown}, which have no range")
        self.cfg = cfg
        self.conditioners = nn.ModuleDict({name: NumberConditioner(lo, hi, cfg.dim, cfg.fourier_dim)
                                           for name, (lo, hi) in cfg.ranges.items()})

    def embed(self, values: dict[str, float], batch: int) -> dict[str, torch.Tensor]:
        """name -> [batch, dim]; a name missing from `values` takes the config's value, else its range minimum."""
        out = {}
        for name, m in self.conditioners.items():
            v = values.get(name, self.cfg.values.get(name, m.lo))
            out[name] = m(torch.full((batch,), float(v)))
        return out

    def condition(self, cond: Conditions, values: dict[str, float] | None = None) -> Conditions:
        """Text conditions -> the DiT's: number tokens appended (mask True) and the global vector set."""
        emb = self.embed(values or {}, cond.batch)
        tokens, mask, g = cond.tokens, cond.mask, None
        if self.cfg.cross_attn:
            extra = torch.stack([emb[n] for n in self.cfg.cross_attn], dim=1).to(tokens.device, tokens.dtype)
            tokens = torch.cat([tokens, extra], dim=1)
            mask = torch.cat([mask, mask.new_ones(cond.batch, len(self.cfg.cross_attn))], dim=1)
        if self.cfg.global_cond:
            g = torch.cat([emb[n] for n in self.cfg.global_cond], dim=-1).to(tokens.device, tokens.dtype)
        return Conditions(tokens, mask, g if g is not None else cond.global_vec)
