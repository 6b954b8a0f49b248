"""Partial rotary position embedding (GPT-J / SAOS layout: halves rotated on the first `rope_dims` of each head).

SAOS places the main tokens at positions 1..N and the postpend (global) token at position 0; callers pass explicit
positions so the streaming cache can use the same coordinates as a full forward over the window.
"""
from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Holds `inv_freq` (a buffer named as in stable-audio-tools) and turns positions into rotation angles."""

    def __init__(self, rope_dims: int, base: float = 10000.0) -> None:
        super().__init__()
        if rope_dims % 2:
            raise ValueError(f"rope_dims must be even, got {rope_dims}")
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, rope_dims, 2).float() / rope_dims)))

    def angles(self, positions: torch.Tensor) -> torch.Tensor:
        """[N] positions (any real values, negative allowed) -> [N, rope_dims] angles, float32."""
        f = positions.to(torch.float32)[:, None] * self.inv_freq.to(torch.float32)[None, :]
        return torch.cat((f, f), dim=-1)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(t: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate the first angles.shape[-1] dims of t [..., N, head_dim] by angles [N or 1, rope_dims] (in float32)."""
    rd = angles.shape[-1]
    rot, rest = t[..., :rd].to(torch.float32), t[..., rd:]
    rot = rot * angles.cos() + _rotate_half(rot) * angles.sin()
    return torch.cat((rot.to(t.dtype), rest), dim=-1)
