"""Token layouts and the boolean self-attention masks of the three attention modes.

A layout gives every token of a sequence three numbers: its chunk id (the target chunk is 0, context chunks are
negative, counted back from the target), its role (context / target / postpend) and its RoPE position (window
coordinates: the window's first latent is 1, the postpend token 0). One rule per mode turns a query layout and a key
layout into a mask; the full forward and the cached engine both use it, which is what makes them agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CONTEXT, TARGET, POSTPEND = 0, 1, 2
MODES = ("bidirectional", "encdec", "block_causal")


@dataclass
class Layout:
    chunk: torch.Tensor     # [N] long
    role: torch.Tensor      # [N] long
    pos: torch.Tensor       # [N] float (RoPE positions)

    def __len__(self) -> int:
        return int(self.chunk.shape[0])

    def cat(self, other: "Layout") -> "Layout":
        return Layout(torch.cat([self.chunk, other.chunk]), torch.cat([self.role, other.role]),
                      torch.cat([self.pos, other.pos]))

    def to(self, device: torch.device | str) -> "Layout":
        return Layout(self.chunk.to(device), self.role.to(device), self.pos.to(device))


def chunk_layout(first_chunk: int, n_chunks: int, block: int, window: int, role: int = CONTEXT) -> Layout:
    """Latents of chunks first_chunk .. first_chunk+n_chunks-1 (chunk 0 is the target), `block` latents each.

    A latent at offset i inside chunk c sits at window position window - block + 1 + c*block + i: the target fills
    the window's last `block` positions; older chunks may fall before position 1 (the cache keeps them relative).
    """
    n = n_chunks * block
    idx = torch.arange(n)
    chunk = first_chunk + torch.div(idx, block, rounding_mode="floor")
    pos = (window - block + 1 + first_chunk * block + idx).to(torch.float32)
    return Layout(chunk.long(), torch.full((n,), role, dtype=torch.long), pos)


def postpend_layout() -> Layout:
    return Layout(torch.zeros(1, dtype=torch.long), torch.full((1,), POSTPEND, dtype=torch.long), torch.zeros(1))


def sequence_layout(n_latents: int, block: int, window: int | None = None) -> Layout:
    """Layout of a full forward over n_latents latents whose last `block` are the target, plus the postpend token.

    Context latents are grouped into chunks counted back from the target (the oldest may be partial).
    """
    window = n_latents if window is None else window
    idx = torch.arange(n_latents)
    n_ctx = n_latents - block
    chunk = torch.div(idx - n_ctx, block, rounding_mode="floor")
    role = torch.where(idx >= n_ctx, TARGET, CONTEXT)
    pos = (idx + 1 - (n_latents - window)).to(torch.float32)
    return Layout(chunk.long(), role.long(), pos).cat(postpend_layout())


def attention_mask(q: Layout, k: Layout, mode: str, window_chunks: int) -> torch.Tensor:
    """[Nq, Nk] bool, True where query may attend to key.

    bidirectional: everything. encdec: context queries see only context keys; target and postpend see all.
    block_causal: query chunk j sees key chunks j-window_chunks+1 .. j (the postpend token is in the target chunk).
    """
    if mode == "bidirectional":
        return torch.ones(len(q), len(k), dtype=torch.bool, device=q.chunk.device)
    if mode == "encdec":
        return (q.role[:, None] != CONTEXT) | (k.role[None, :] == CONTEXT)
    if mode == "block_causal":
        d = q.chunk[:, None] - k.chunk[None, :]
        return (d >= 0) & (d < window_chunks)
    raise ValueError(f"unknown attention mode {mode!r}; choose from {MODES}")
