"""Block-wise KV caches: the cached engine's per-step passes for the enc-dec and block-causal attention modes.

Keys are stored after qk-norm and RoPE at window positions (masks.py): the target block always fills the window's
last `block` positions and the postpend token sits at 0. Both caches keep constant tensor shapes from block to block.

Block-causal (`BlockCausalCache`): the cache holds the `window_chunks - 1` clean chunks before the target. The first
denoising step of a block is fused: it runs [pending clean chunk(s) | target | postpend] against the cache, where the
cache was first slid by the number of pending chunks. Sliding re-rotates the cached keys by -n*block positions (RoPE
rotations compose, so this equals keys computed at their new positions) instead of re-encoding them; afterwards the
cache keeps the newest `window_chunks - 1` chunks. Later steps run only [target | postpend] (block + 1 tokens), and every
cached key is visible to them, so they need no mask.

Enc-dec (`EncDecCache`): context queries see only context keys, so the context K/V do not depend on t; they are
computed once per block from the current window and reused by every step.
"""
from __future__ import annotations

import torch

from .config import StreamConfig
from .dit import DiT, CrossKV
from .masks import CONTEXT, TARGET, Layout, attention_mask, chunk_layout, postpend_layout
from .rope import apply_rope

KV = list[tuple[torch.Tensor, torch.Tensor]]


def target_layout(stream: StreamConfig) -> Layout:
    """[target block | postpend token]."""
    return chunk_layout(0, 1, stream.block, stream.window, TARGET).cat(postpend_layout())


class _Layouts:
    """Layouts and masks built once on the CPU and kept on the device (no host work or copies per step)."""

    def __init__(self) -> None:
        self._memo: dict = {}

    def get(self, key: tuple, device: torch.device, build):
        if (key, device) not in self._memo:
            self._memo[(key, device)] = build()
        return self._memo[(key, device)]


class BlockCausalCache:
    """Self-attention K/V of the last window_chunks-1 clean chunks, per layer ([B, H, (w-1)*block, D])."""

    def __init__(self, dit: DiT, stream: StreamConfig) -> None:
        self.dit, self.stream = dit, stream
        self.keep = stream.window_chunks - 1
        self.kv: KV | None = None
        self._layouts = _Layouts()

    def clear(self) -> None:
        self.kv = None

    def sibling(self) -> "BlockCausalCache":
        """An empty cache of the same geometry sharing the layouts and masks built so far (batching.py)."""
        other = BlockCausalCache(self.dit, self.stream)
        other._layouts = self._layouts
        return other

    def slid(self, n_chunks: int) -> KV:
        """The cache as seen from a target n_chunks later: keys re-rotated by -n_chunks*block positions."""
        device = self.kv[0][0].device
        rot = self._layouts.get(("slide", n_chunks), device, lambda: self.dit.transformer.rotary_pos_emb.rotation(
            torch.tensor([-float(n_chunks * self.stream.block)], device=device)))
        return [(apply_rope(k, rot), v) for k, v in self.kv]

    def fused_step(self, h_pending: torch.Tensor, n_pending: int, h_target: torch.Tensor,
                   cross: CrossKV) -> torch.Tensor:
        """First step of a block: encode n_pending new clean chunks and denoise the target in one pass; slide."""
        s = self.stream
        past = None if self.kv is None else self.slid(n_pending)

        def build() -> tuple[Layout, torch.Tensor]:
            q = chunk_layout(-n_pending, n_pending, s.block, s.window, CONTEXT).cat(target_layout(s))
            k = q if past is None else chunk_layout(-self.keep - n_pending, self.keep, s.block, s.window).cat(q)
            return q.to(h_target.device), attention_mask(q, k, "block_causal", s.window_chunks).to(h_target.device)

        q, mask = self._layouts.get((n_pending, past is None), h_target.device, build)
        h, kvs = self.dit.trunk(torch.cat([h_pending, h_target], dim=1), q, mask, cross, past)
        n_new = n_pending * s.block
        tail = self.keep * s.block
        if past is None:
            past = [(kk[:, :, :0], vv[:, :, :0]) for kk, vv in kvs]
        self.kv = [(torch.cat([pk, kk[:, :, :n_new]], 2)[:, :, -tail:], torch.cat([pv, vv[:, :, :n_new]], 2)[:, :, -tail:])
                   for (pk, pv), (kk, vv) in zip(past, kvs)]
        return h[:, n_new:]

    def step(self, h_target: torch.Tensor, cross: CrossKV) -> torch.Tensor:
        """A later step: [target | postpend] against the cache; all cached keys are inside the target's window."""
        q = self._layouts.get("target", h_target.device, lambda: target_layout(self.stream).to(h_target.device))
        h, _ = self.dit.trunk(h_target, q, None, cross, self.kv)
        return h


class EncDecCache:
    """Self-attention K/V of the current window's context, per layer ([B, H, context, D])."""

    def __init__(self, dit: DiT, stream: StreamConfig) -> None:
        self.dit, self.stream = dit, stream
        self.kv: KV | None = None
        self._layouts = _Layouts()

    def clear(self) -> None:
        self.kv = None

    def encode(self, h_context: torch.Tensor, cross: CrossKV) -> None:
        """Once per block: context tokens attend only to context tokens (mask all True among them)."""
        s = self.stream
        n = s.context // s.block
        q = self._layouts.get("context", h_context.device,
                              lambda: chunk_layout(-n, n, s.block, s.window, CONTEXT).to(h_context.device))
        _, self.kv = self.dit.trunk(h_context, q, None, cross)

    def step(self, h_target: torch.Tensor, cross: CrossKV) -> torch.Tensor:
        q = self._layouts.get("target", h_target.device, lambda: target_layout(self.stream).to(h_target.device))
        h, _ = self.dit.trunk(h_target, q, None, cross, self.kv)
        return h


def check_geometry(stream: StreamConfig) -> None:
    """The cached engine works in whole chunks of `block` latents and needs the window to cover the chunk window."""
    if stream.block < 1 or stream.context % stream.block:
        raise ValueError(f"context ({stream.context}) must be a positive multiple of block ({stream.block})")
    if stream.window_chunks < 1 or stream.context // stream.block < stream.window_chunks - 1:
        raise ValueError(f"context holds {stream.context // stream.block} chunks; block-causal attention with "
                         f"window_chunks={stream.window_chunks} needs at least {stream.window_chunks - 1}")
