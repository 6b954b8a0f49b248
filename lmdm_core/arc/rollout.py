"""Training rollouts of the streaming model: real context, then `blocks` chunks generated one after another, each
from fresh noise with the ping-pong schedule, each chunk's gradient flowing through ONE denoising step only.

Per chunk a step k ~ U{1..grad_step_max} is drawn: steps 1..k-1 run without gradient, step k with gradient, and its
x0 estimate becomes the chunk (the later steps of the schedule are skipped, as in Self-Forcing / ARC). The chunk then
enters the next chunk's context DETACHED, so no gradient crosses chunks.

Why a masked full forward and not the KV cache: the streaming engine (streaming.py, cache.py) runs under
inference_mode and writes its caches in place, which autograd cannot go through. Each step here is one DiT forward
over the sliding window [last `context` latents | target] with the stream's attention mask (block-causal: the target
chunk sees the window_chunks-1 chunks before it). That is exactly the input the stage-1 loss trains on
(train.rf_loss), and the block-causal target sees the same keys as in the cached engine; only the window's oldest
context chunks see a shorter past than in an endless stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lmdm_core.conditions import Conditions
from lmdm_core.config import SamplerConfig, StreamConfig
from lmdm_core.dit import DiT, pack_input_add
from lmdm_core.sampler import noise_like, schedule


@dataclass
class Rollout:
    latents: torch.Tensor     # [B, C, context + blocks*block]: the real context, then the generated chunks
    chosen: list[int]         # per chunk, the 1-based step whose x0 became the chunk (the one step with gradient)
    context: int              # latents of real context at the start of `latents`


def draw_steps(blocks: int, steps: int, grad_step_max: int, generator: torch.Generator) -> list[int]:
    """Per chunk the step that carries the gradient, uniform in 1..min(grad_step_max, steps)."""
    top = max(1, min(grad_step_max, steps))
    return [int(v) for v in torch.randint(1, top + 1, (blocks,), generator=generator)]


def window_inputs(model: DiT, history: torch.Tensor, stream: StreamConfig,
                  extras: dict[str, torch.Tensor] | None, start: int) -> torch.Tensor:
    """Input-add channels [B, ΣC, window] of the window whose target starts at latent `start` of the sequence:
    the last `context` latents of `history` as clean context (mask 1; missing frames before the sequence start get
    mask 0), the target frames mask 0. extras: full-length groups [B, n, L], sliced to the window."""
    b, c, _ = history.shape
    ctx = history[..., max(0, start - stream.context):start]
    pad = stream.context - ctx.shape[-1]
    lat = history.new_zeros(b, c, stream.window)
    flag = history.new_zeros(b, 1, stream.window)
    lat[..., pad:stream.context] = ctx
    flag[..., pad:stream.context] = 1
    win = None
    if extras:
        win = {}
        for name, full in extras.items():
            part = full[..., max(0, start - stream.context):start + stream.block]
            win[name] = torch.nn.functional.pad(part, (stream.window - part.shape[-1], 0))
    return pack_input_add(model.cfg, flag, lat, win)


def denoise_chunk(model: DiT, input_add: torch.Tensor, cond: Conditions, stream: StreamConfig, steps: int, k: int,
                  generator: torch.Generator, grad: bool, sampler: SamplerConfig | None = None) -> torch.Tensor:
    """Run steps 1..k of the ping-pong schedule on one chunk; only step k (when grad) records a graph. Returns that
    step's x0 estimate [B, C, block]."""
    ts = schedule(steps, sampler)
    b, dev, dtype = input_add.shape[0], input_add.device, input_add.dtype
    shape = (b, model.cfg.io_channels, stream.block)
    x = noise_like(shape, generator, dev, dtype)
    zeros = x.new_zeros(b, model.cfg.io_channels, stream.context)
    x0 = x
    for i in range(k):
        with torch.set_grad_enabled(grad and i == k - 1):
            t = torch.full((b,), ts[i], device=dev, dtype=dtype)
            v = model(torch.cat([zeros, x], dim=-1), t, cond, input_add, mode=stream.attention, block=stream.block,
                      window_chunks=stream.window_chunks, window=stream.window)[..., -stream.block:]
            x0 = x - ts[i] * v
        if i + 1 < k:
            x = (1 - ts[i + 1]) * x0.detach() + ts[i + 1] * noise_like(shape, generator, dev, dtype)
    return x0


def rollout(model: DiT, context: torch.Tensor, cond: Conditions, stream: StreamConfig, blocks: int, steps: int,
            grad_step_max: int, generator: torch.Generator, grad: bool = True,
            extras: dict[str, torch.Tensor] | None = None, sampler: SamplerConfig | None = None) -> Rollout:
    """Generate `blocks` chunks after the real `context` [B, C, n] (n may be 0 for text-only rollouts)."""
    ks = draw_steps(blocks, steps, grad_step_max, generator)
    history = context.detach()
    chunks = []
    for j, k in enumerate(ks):
        start = context.shape[-1] + j * stream.block
        inputs = window_inputs(model, history, stream, extras, start)
        x0 = denoise_chunk(model, inputs, cond, stream, steps, k, generator, grad, sampler)
        chunks.append(x0)
        history = torch.cat([history, x0.detach()], dim=-1)
    return Rollout(torch.cat([context.detach()] + chunks, dim=-1), ks, int(context.shape[-1]))
