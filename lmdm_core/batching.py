"""Cross-stream batching: the next blocks of several generators computed as one model batch.

    blocks = next_blocks([gen_a, gen_b, gen_c], [extras_a, extras_b, extras_c])   # == [g.next_block(e) for ...]

Each generator keeps its own state (history, KV cache, prompts, noise generator), so a stream joining or leaving a
batch costs the others nothing. Generators whose next block has the same shapes and schedule (`batch_key`: model,
geometry, steps, guidance on/off, pending chunks, cache filled, prompt token count) are stacked member after member
(streaming.Rows): their K/V, cross-attention K/V, global vectors, input-adds and noise (each drawn from its own
generator, exactly as alone) are concatenated, one sampler run computes them all, and the result and the new K/V are
split back. Anything else (an uncached or enc-dec generator, a group of one) runs alone. Each stream's output equals
its output alone up to float rounding (the batched matmuls may sum in another order).

The stacking copies each member's cache once per block: fine on the CPU and for moderate batches; the GPU's fixed
slot buffers per batch bucket (issue 17, CUDA graphs) build on the same pieces.
"""
from __future__ import annotations

from collections import defaultdict

import torch

from .dit import CrossKV
from .sampler import sample_pingpong
from .streaming import BlockInputs, Rows, StreamingGenerator


def batch_key(gen: StreamingGenerator) -> tuple | None:
    """Generators with equal keys can share a model batch; None: this one always runs alone."""
    if not (gen.cached and gen.mode == "block_causal"):
        return None
    s, sm = gen.stream, gen.sampler
    cross = gen.cross_kv()
    return (id(gen.model), s.context, s.block, s.window_chunks, s.window, gen.batch, sm.steps, sm.logsnr_min,
            sm.logsnr_max, gen.guidance, sm.cfg_mode, gen.pending, gen.kv is None, tuple(cross.mask.shape[1:]),
            gen.global_vec is None, gen.device, gen.dtype)


def groups(gens: list[StreamingGenerator]) -> list[list[int]]:
    """Indices of `gens` grouped by `batch_key` (first-come order kept; unbatchable ones alone)."""
    by_key: dict[tuple, list[int]] = defaultdict(list)
    out: list[list[int]] = []
    for i, g in enumerate(gens):
        key = batch_key(g)
        if key is None:
            out.append([i])
        else:
            if key not in by_key:
                out.append(by_key[key])
            by_key[key].append(i)
    return out


def checked_extras(gens: list[StreamingGenerator], extras: list[dict[str, torch.Tensor] | None] | None
                   ) -> list[dict[str, torch.Tensor] | None]:
    """The extras of a batched call (None: none for each), refusing a count mismatch or a generator given twice."""
    extras = extras if extras is not None else [None] * len(gens)
    if len(extras) != len(gens):
        raise ValueError(f"{len(gens)} generators but {len(extras)} extras")
    if len({id(g) for g in gens}) != len(gens):
        raise ValueError("a generator appears twice: one block each per call")
    return extras


def next_blocks(gens: list[StreamingGenerator], extras: list[dict[str, torch.Tensor] | None] | None = None
                ) -> list[torch.Tensor]:
    """`[g.next_block(e) for g, e in zip(gens, extras)]`, computed in as few model batches as the states allow."""
    extras = checked_extras(gens, extras)
    out: list[torch.Tensor | None] = [None] * len(gens)
    for idx in groups(gens):
        members = [gens[i] for i in idx]
        blocks = [members[0].next_block(extras[idx[0]])] if len(idx) == 1 else \
            _stacked(members, [extras[i] for i in idx])
        for i, b in zip(idx, blocks):
            out[i] = b
    return out


def _cat_kv(kvs: list) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-layer (K, V) lists of several members stacked on the batch, layer by layer."""
    return [(torch.cat([kv[i][0] for kv in kvs]), torch.cat([kv[i][1] for kv in kvs])) for i in range(len(kvs[0]))]


def _cat_cross(crosses: list[CrossKV]) -> CrossKV:
    return CrossKV(_cat_kv([c.kv for c in crosses]), torch.cat([c.mask for c in crosses]),
                   torch.cat([c.gate for c in crosses]))


@torch.inference_mode()
def _stacked(gens: list[StreamingGenerator], extras: list[dict[str, torch.Tensor] | None]) -> list[torch.Tensor]:
    """One sampler run over members with equal batch keys; each member's block, K/V and history as if alone."""
    lead, n = gens[0], len(gens)
    begun = [g.begin_block(e) for g, e in zip(gens, extras)]
    ins = [g.block_inputs(target) for g, (_, target) in zip(gens, begun)]
    inputs = BlockInputs(torch.cat([i.target_add for i in ins]),
                         None if ins[0].pending_add is None else torch.cat([i.pending_add for i in ins]),
                         _cat_cross([i.cross for i in ins]),
                         None if ins[0].global_vec is None else torch.cat([i.global_vec for i in ins]),
                         Rows(n, lead.batch, lead.guidance))
    cache = lead.batch_cache()
    if lead.kv is not None:
        cache.kv = _cat_kv([g.kv for g in gens])
    noise = torch.cat([g.draw_noise() for g in gens], dim=1).to(lead.device)
    b, c, blk = lead.block_shape
    scale = None                  # each member guides with its own scale (rows of one member share it)
    if lead.guidance:
        scale = torch.tensor([g.sampler.cfg for g in gens for _ in range(b)], device=lead.device,
                             dtype=lead.dtype).view(-1, 1, 1)
    x0 = sample_pingpong(lead.velocity(inputs, cache), (n * b, c, blk), lead.sampler.steps, None, lead.device,
                         lead.dtype, lead.sampler, noise=noise, scale=scale)
    rows = b * (2 if lead.guidance else 1)
    kv = [(k.split(rows), v.split(rows)) for k, v in cache.kv]
    blocks = list(x0.split(b))
    for j, (g, (ex, _)) in enumerate(zip(gens, begun)):
        g.kv = [(k[j], v[j]) for k, v in kv]
        g.end_block(blocks[j], ex)
    return blocks
