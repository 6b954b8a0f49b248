"""Time ARC training steps (generator + discriminator update) on random weights and toy windows; `lmdm bench arc`
(arc/cli.py) is the command, `python -m` runs the same one:

    PYTHONPATH=. python3 -m lmdm_core.arc.bench --dit-preset embedded --stream-preset paper --batch 2 --threads 1
"""
from __future__ import annotations

import time

import torch

from lmdm_core.arc.discriminator import Discriminator
from lmdm_core.arc.trainer import make_optimizer, train_step
from lmdm_core.conditions import Conditions
from lmdm_core.config import ARCConfig, dit_preset, stream_preset
from lmdm_core.dit import DiT, count_parameters
from lmdm_core.objective import toy_latents


def bench(dit: str, stream: str, batch: int, steps: int, device: str, arc: ARCConfig | None = None) -> dict:
    torch.manual_seed(0)
    arc, s, dev = arc or ARCConfig(), stream_preset(stream), torch.device(device)
    gen = DiT(dit_preset(dit)).to(dev)
    disc = Discriminator(gen, arc).to(dev)
    opt, rng = make_optimizer(gen, disc, arc), torch.Generator().manual_seed(0)
    cfg, times = gen.cfg, []
    for _ in range(steps):
        real = toy_latents(batch, cfg.io_channels, s.context + arc.blocks * s.block, rng).to(dev)
        cond = Conditions(torch.randn(batch, 4, cfg.cond_token_dim, generator=rng),
                          torch.ones(batch, 4, dtype=torch.bool)).to(dev, real.dtype)
        t = time.perf_counter()
        train_step(gen, disc, real, cond, s, arc, opt, rng)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    out = {"dit": dit, "stream": stream, "batch": batch, "device": str(dev), "blocks": arc.blocks,
           "sampler_steps": arc.steps, "gen_params": count_parameters(gen), "disc_params": count_parameters(disc),
           "disc_layer": disc.layer, "step_s": [round(x, 3) for x in times]}
    if dev.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
    return out


if __name__ == "__main__":
    from lmdm_core.arc.cli import bench_command
    bench_command(prog_name="python -m lmdm_core.arc.bench")
