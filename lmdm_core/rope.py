"""Partial rotary position embedding (GPT-J / SAOS layout: halves rotated on the first `rope_dims` of each head).

SAOS places the main tokens at positions 1..N and the postpend (global) token at position 0; callers pass explicit
positions so the streaming cache can use the same coordinates as a full forward over the window.
Dims i and i + rope_dims/2 of a head form one rotating pair at frequency inv_freq[i] (SAOS's `rotate_half`).
"""
from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Holds `inv_freq` (a buffer named as in stable-audio-tools) and turns positions into rotations."""

    def __init__(self, rope_dims: int, base: float = 10000.0) -> None:
        super().__init__()
        if rope_dims % 2:
            raise ValueError(f"rope_dims must be even, got {rope_dims}")
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, rope_dims, 2).float() / rope_dims)))

    def rotation(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[N] positions (any real values, negative allowed) -> (cos, sin), each [N, rope_dims/2], float32.

        Computed once per pass and shared by all layers."""
        f = positions.to(torch.float32)[:, None] * self.inv_freq.to(torch.float32)[None, :]
        return f.cos(), f.sin()


def apply_rope(t: torch.Tensor, rotation: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate the first rope_dims dims of t [..., N, head_dim] by rotation = (cos, sin) [N or 1, rope_dims/2].

    Computed in float32 (positions up to a few hundred need it in half precision), returned in t's dtype."""
    cos, sin = rotation
    half = cos.shape[-1]
    x1, x2 = t[..., :half].to(torch.float32), t[..., half:2 * half].to(torch.float32)
    parts = [torch.addcmul(x1 * cos, x2, sin, value=-1).to(t.dtype), torch.addcmul(x2 * cos, x1, sin).to(t.dtype)]
    if t.shape[-1] > 2 * half:
        parts.append(t[..., 2 * half:])
    return torch.cat(parts, dim=-1)
