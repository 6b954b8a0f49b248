"""The stage-1 objective: the masked rectified-flow loss with context and condition dropout, and a toy run (tests).

The loss follows LMDM's stage 1: a window [context | target]; the context enters as clean latents through the
"context" input-add group; only the target block is noised and scored. Context dropout teaches the model to start
from nothing (p_uncond: all context dropped) and from a short past (p_partial: a random number of the OLDEST chunks
dropped); condition dropout (p_cond) trains the unconditional branch used by classifier-free guidance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .conditions import Conditions
from .config import SamplerConfig, StreamConfig, dit_preset, stream_preset
from .dit import DiT, pack_input_add


@dataclass
class TrainConfig:
    lr: float = 5e-5
    batch: int = 40
    p_uncond: float = 0.2        # drop all context
    p_partial: float = 0.3       # drop a random number of the oldest context chunks
    p_cond: float = 0.1          # drop the text conditioning (CFG)
    weight_decay: float = 0.0


def context_flags(batch: int, stream: StreamConfig, p_uncond: float, p_partial: float,
                  generator: torch.Generator) -> torch.Tensor:
    """[B, 1, window] inpaint mask: 1 on kept context frames, 0 on dropped context and on the target."""
    n_ctx = stream.context // stream.block
    flag = torch.zeros(batch, 1, stream.window)
    flag[..., :stream.context] = 1
    u = torch.rand(batch, generator=generator)
    for b in range(batch):
        if u[b] < p_uncond:
            flag[b, :, :stream.context] = 0
        elif u[b] < p_uncond + p_partial and n_ctx > 1:
            k = int(torch.randint(1, n_ctx, (1,), generator=generator))
            flag[b, :, :k * stream.block] = 0
    return flag


def drop_conditions(cond: Conditions, p: float, generator: torch.Generator) -> Conditions:
    """Replace each batch row's tokens by the unconditional (null) tokens with probability p."""
    drop = (torch.rand(cond.batch, generator=generator) < p).to(cond.tokens.device)
    null = cond.null()
    tokens = torch.where(drop[:, None, None], null.tokens, cond.tokens)
    mask = torch.where(drop[:, None], null.mask, cond.mask)
    return Conditions(tokens, mask, cond.global_vec)


def sample_t(batch: int, sampler: SamplerConfig, generator: torch.Generator) -> torch.Tensor:
    """Noise levels with logSNR ~ U[logsnr_min, logsnr_max], t = sigmoid(-logsnr)."""
    lo, hi = sampler.logsnr_min, sampler.logsnr_max
    return torch.sigmoid(-(lo + (hi - lo) * torch.rand(batch, generator=generator)))


def rf_loss(model: DiT, x0: torch.Tensor, cond: Conditions, stream: StreamConfig, generator: torch.Generator,
            mode: str | None = None, train: TrainConfig | None = None,
            extras: dict[str, torch.Tensor] | None = None, sampler: SamplerConfig | None = None) -> torch.Tensor:
    """Masked rectified-flow loss on the target block of windows x0 [B, C, window]: x_t = (1-t) x0 + t eps,
    target v = eps - x0, MSE over the last `block` frames only."""
    train, sampler = train or TrainConfig(), sampler or SamplerConfig()
    b, _, n = x0.shape
    if n != stream.window:
        raise ValueError(f"training windows must be {stream.window} latents long, got {n}")
    dev = x0.device
    flag = context_flags(b, stream, train.p_uncond, train.p_partial, generator).to(dev, x0.dtype)
    cond = drop_conditions(cond, train.p_cond, generator)
    t = sample_t(b, sampler, generator).to(dev, x0.dtype)
    eps = torch.randn(x0.shape, generator=generator).to(dev, x0.dtype)
    target = torch.zeros_like(flag)
    target[..., stream.context:] = 1
    x_t = ((1 - t[:, None, None]) * x0 + t[:, None, None] * eps) * target
    v = model(x_t, t, cond, pack_input_add(model.cfg, flag, x0, extras), mode=mode or stream.attention,
              block=stream.block, window_chunks=stream.window_chunks, window=stream.window)
    return F.mse_loss(v[..., stream.context:], (eps - x0)[..., stream.context:])


def toy_latents(batch: int, channels: int, frames: int, generator: torch.Generator) -> torch.Tensor:
    """A learnable toy signal: each channel a sinusoid with a channel-dependent period and a random phase."""
    period = 4 + torch.arange(channels, dtype=torch.float32) % 7
    phase = 2 * math.pi * torch.rand(batch, 1, 1, generator=generator)
    t = torch.arange(frames, dtype=torch.float32)
    return torch.sin(2 * math.pi * t / period[None, :, None] + phase)


def toy_run(steps: int = 300, preset: str = "tiny", stream: str = "tiny", batch: int = 16, lr: float = 2e-3,
            seed: int = 0, progress: bool = False) -> list[float]:
    """Train a fresh model on the toy signal; returns the loss of every step."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = DiT(dit_preset(preset)).train()
    scfg = stream_preset(stream)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    cond = Conditions.empty(batch, model.cfg)
    losses = []
    it = range(steps)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="toy training")
    for _ in it:
        x0 = toy_latents(batch, model.cfg.io_channels, scfg.window, gen)
        loss = rf_loss(model, x0, cond, scfg, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
