"""Ping-pong rectified-flow sampler (stable-audio-tools' `sample_flow_pingpong`) with classifier-free guidance.

Each step predicts x0 from the current x and re-noises it to the next, lower t with FRESH noise, so every step sees a
properly noised input. The model is called through a `velocity(x, t, step)` callback so the streaming engine can
decide per step what to run (the cached engine fuses the previous block into step 0).

Guidance (SamplerConfig.cfg != 1): the callback returns the conditional and unconditional velocities stacked on the
batch, [cond; uncond], and the step combines them, v = v_u + cfg (v_c - v_u), x0 = x - t v, as the LMDM fork's
`sample_flow_pingpong` does:
- "plain":     x <- (1 - t') x0 + t' eps
- "plus_plus": x <- x0 + t' (eps - x0_u), x0_u = x - t v_u  (CFG++: the noise part is re-added around the
               unconditional x0; it takes scales near 1 - the LMDM notebook runs 0.95)
"""
from __future__ import annotations

from typing import Callable

import torch

from .config import CFG_MODES, SamplerConfig

Velocity = Callable[[torch.Tensor, float, int], torch.Tensor]


def schedule(steps: int, cfg: SamplerConfig | None = None) -> list[float]:
    """steps+1 noise levels: t = sigmoid(-logsnr), logsnr = linspace(min, max, steps+1), t[0]=1, t[-1]=0."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    cfg = cfg or SamplerConfig()
    t = torch.sigmoid(-torch.linspace(cfg.logsnr_min, cfg.logsnr_max, steps + 1, dtype=torch.float64))
    t[0], t[-1] = 1.0, 0.0
    return [float(v) for v in t]


def noise_like(shape: tuple[int, ...], generator: torch.Generator, device: torch.device | str,
               dtype: torch.dtype) -> torch.Tensor:
    """Gaussian noise drawn on the generator's device (CPU) so a seed gives the same stream on any device."""
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device, dtype)


def sample_pingpong(velocity: Velocity, shape: tuple[int, ...], steps: int, generator: torch.Generator,
                    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                    cfg: SamplerConfig | None = None, noise: torch.Tensor | None = None,
                    scale: torch.Tensor | None = None) -> torch.Tensor:
    """Sample x0 of `shape`: x = eps; for each step: x0_hat = x - t_i v; x = (1 - t_{i+1}) x0_hat + t_{i+1} eps'
    (with guidance: `step`).

    noise: pre-drawn [steps, *shape] (the initial eps, then one per re-noising) instead of drawing from `generator`;
    `draw_noise` gives exactly the draws the generator would make, so both ways sample the same stream. The CUDA-graph
    engine (graphs.py) passes its static buffer here so no host work happens inside a step.
    scale: a guidance scale per row ([B, 1, 1]) instead of cfg.cfg, for streams with their own scales stacked in one
    batch (batching.py).
    """
    cfg = cfg or SamplerConfig()
    ts = schedule(steps, cfg)
    if noise is not None and tuple(noise.shape) != (steps, *shape):
        raise ValueError(f"noise must be {[steps, *shape]}, got {list(noise.shape)}")

    def eps(i: int) -> torch.Tensor:
        return noise_like(shape, generator, device, dtype) if noise is None else noise[i].to(dtype)

    x = eps(0)
    x0 = x
    for i in range(steps):
        x0, x = step(x, velocity(x, ts[i], i), ts[i], ts[i + 1], eps(i + 1) if i + 1 < steps else None, cfg, scale)
    return x0


def step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float, eps: torch.Tensor | None,
         cfg: SamplerConfig, scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One ping-pong step from the model output v ([cond; uncond] when cfg.cfg != 1) -> (x0_hat, next x; x0_hat
    itself when eps is None, the last step)."""
    if cfg.cfg == 1.0:
        x0 = x - t * v
        return x0, x0 if eps is None else (1 - t_next) * x0 + t_next * eps
    if cfg.cfg_mode not in CFG_MODES:
        raise ValueError(f"cfg_mode must be one of {', '.join(CFG_MODES)}, got {cfg.cfg_mode!r}")
    if v.shape[0] != 2 * x.shape[0]:
        raise ValueError(f"guidance needs [cond; uncond] velocities (batch {2 * x.shape[0]}), got batch {v.shape[0]}")
    x0 = x - t * guided(v, cfg.cfg if scale is None else scale)
    if eps is None:
        return x0, x0
    if cfg.cfg_mode == "plain":
        return x0, (1 - t_next) * x0 + t_next * eps
    x0_uncond = x - t * v.chunk(2, dim=0)[1]
    return x0, x0 + t_next * (eps - x0_uncond)


def draw_noise(shape: tuple[int, ...], steps: int, generator: torch.Generator) -> torch.Tensor:
    """The `steps` float32 CPU draws `sample_pingpong` makes from `generator`, stacked: [steps, *shape]."""
    return torch.stack([torch.randn(shape, generator=generator, dtype=torch.float32) for _ in range(steps)])


def guided(v_both: torch.Tensor, scale: float | torch.Tensor) -> torch.Tensor:
    """Combine a batch [cond; uncond] of velocities with guidance scale (1 = cond only)."""
    v_cond, v_uncond = v_both.chunk(2, dim=0)
    return v_uncond + scale * (v_cond - v_uncond)
