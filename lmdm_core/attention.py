"""Self- and cross-attention on torch SDPA with boolean masks (True = may attend), SAOS parameter names.

Self-attention returns the keys/values of its own tokens (after qk-norm and RoPE) so the cache can keep them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .rope import apply_rope


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """SDPA over [B, H, N, D]; mask [Nq, Nk] or [B, 1, Nq, Nk] bool (True = visible) or None (all visible).

    Every row of a mask must see at least one key (self-attention rows always see their own token; cross-attention
    masks are made safe by `safe_key_mask`).
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def safe_key_mask(key_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, N] key mask -> (mask for SDPA [B, 1, 1, N], gate [B, 1, 1, 1]).

    A batch row with no valid token (an unconditional branch) attends to all tokens and has its output gated to 0,
    i.e. no cross-attention contribution, without a NaN and without a host sync at run time.
    """
    has = key_mask.any(dim=-1)
    safe = key_mask | ~has[:, None]
    return safe[:, None, None, :], has[:, None, None, None]


class _Heads(nn.Module):
    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__()
        self.num_heads = dim // head_dim
        self.head_dim = head_dim
        self.q_norm = nn.LayerNorm(head_dim, eps=1e-6)
        self.k_norm = nn.LayerNorm(head_dim, eps=1e-6)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def merge(self, t: torch.Tensor) -> torch.Tensor:
        b, h, n, d = t.shape
        return self.to_out(t.transpose(1, 2).reshape(b, n, h * d))


class SelfAttention(_Heads):
    """Fused `to_qkv`, LayerNorm qk-norm per head, partial RoPE, `to_out`."""

    def __init__(self, dim: int, head_dim: int) -> None:
        super().__init__(dim, head_dim)
        self.to_qkv = nn.Linear(dim, 3 * dim, bias=False)

    def forward(self, x: torch.Tensor, rot: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None,
                past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x [B, N, dim]; keys = past keys followed by this call's keys; returns (out, this call's (k, v))."""
        q, k, v = (self.split(t) for t in self.to_qkv(x).chunk(3, dim=-1))
        # q and k rotated as one tensor: half the kernel launches of the RoPE (the batch-1 engine is launch-bound)
        q, k = apply_rope(torch.stack([self.q_norm(q), self.k_norm(k)]), rot).unbind(0)
        kk, vv = (k, v) if past is None else (torch.cat([past[0], k], 2), torch.cat([past[1], v], 2))
        return self.merge(attend(q, kk, vv, mask)), (k, v)


class CrossAttention(_Heads):
    """`to_q` on the stream, `to_kv` on the (projected) conditioning tokens, qk-norm, no RoPE."""

    def __init__(self, dim: int, head_dim: int, dim_context: int) -> None:
        super().__init__(dim, head_dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim_context, 2 * dim, bias=False)

    def kv(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys/values of the conditioning tokens: what the cross-attention cache holds."""
        k, v = (self.split(t) for t in self.to_kv(context).chunk(2, dim=-1))
        return self.k_norm(k), v

    def forward(self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor,
                gate: torch.Tensor) -> torch.Tensor:
        """mask and gate from `safe_key_mask`."""
        q = self.q_norm(self.split(self.to_q(x)))
        return self.merge(attend(q, kv[0], kv[1], mask) * gate.to(q.dtype))
