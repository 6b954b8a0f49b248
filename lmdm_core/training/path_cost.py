"""CPU cost of the whole streaming path for candidate DiT shapes: what sizes the embedded DiT v2.

Each candidate is a DiT (random weights: the cost does not depend on them) over the v2 autoencoder, run through
`pipeline.AudioStream.process` exactly as the worker runs it: in text mode the DiT block + the streaming decoder, in
delay mode also the streaming encoder. Figures are the minimum over the timed blocks after warm-up (the machine is
shared; the minimum is the least disturbed block) and the median; RTF = block duration / block compute.

    lmdm train dit-cost --threads 2 --repeats 6                  # every candidate, long blocks, 8 steps
    lmdm train dit-cost --only "d320x8,d384x8" --blocks 48,12
"""
from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass

import numpy as np

from lmdm_core.config import DiTConfig, SamplerConfig, StreamConfig, TextConfig, autoencoder_preset
from lmdm_core.text import DEFAULT_VOCAB

# name -> (embed_dim, depth, heads): the shapes weighed for the DiT v2 (v1, `embedded`, is d256x6)
CANDIDATES: dict[str, tuple[int, int, int]] = {
    "d256x6": (256, 6, 4), "d256x8": (256, 8, 4), "d288x8": (288, 8, 4), "d320x8": (320, 8, 5), "d384x6": (384, 6, 6),
    "d384x8": (384, 8, 6), "d384x10": (384, 10, 6), "d448x8": (448, 8, 7), "d512x8": (512, 8, 8),
}


def dit_config(embed_dim: int, depth: int, heads: int, io_channels: int = 64) -> DiTConfig:
    """The embedded DiT's layout (stem + curves inputs, words prompt, no global condition) at another size."""
    return DiTConfig(io_channels=io_channels, embed_dim=embed_dim, depth=depth, num_heads=heads, rope_dims=32,
                     cond_token_dim=128, max_cond_tokens=32, global_cond_dim=0, timestep_features=64,
                     input_adds={"context": io_channels + 1, "stem": io_channels, "curves": 3})


@dataclass
class Cost:
    name: str
    params_m: float
    block: int                 # latents per block
    mode: str
    steps: int
    min_ms: float
    median_ms: float
    block_ms: float            # the audio one block holds

    @property
    def rtf(self) -> float:
        return self.block_ms / self.min_ms


def measure(name: str, dit: DiTConfig, ae_preset: str = "embedded-v2", block: int = 48, mode: str = "text",
            steps: int = 8, repeats: int = 6, warmup: int = 2) -> Cost:
    """Time `repeats` blocks of the full path after `warmup` blocks, for one candidate, block size and mode."""
    import torch

    from lmdm_core.pipeline import AudioStream, build_model

    stream = StreamConfig().with_block(block)
    text = TextConfig(dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, vocab=list(DEFAULT_VOCAB))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = build_model({"dit": dit, "autoencoder": autoencoder_preset(ae_preset), "text": text, "stream": stream,
                         "sampler": SamplerConfig(steps=steps)}, name)
    for mod in (m.dit, m.autoencoder, m.text):
        mod.eval().requires_grad_(False)
    s = AudioStream(m, seed=0, mode=mode)
    s.set_param("prompt", "warm analog pad")
    x = (0.05 * np.random.default_rng(0).standard_normal((s.channels, s.block_samples))).astype(np.float32)
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        s.process(x)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    params = sum(p.numel() for p in m.dit.parameters()) / 1e6
    return Cost(name, round(params, 2), block, mode, steps, round(min(times), 1), round(statistics.median(times), 1),
                round(1e3 * s.block_samples / s.sample_rate, 1))


def table(costs: list[Cost]) -> str:
    rows = ["| candidate | DiT params | block | mode | min ms (RTF) | median ms |", "|---|---|---|---|---|---|"]
    for c in costs:
        rows.append(f"| {c.name} | {c.params_m:.1f} M | {c.block} | {c.mode} | {c.min_ms:.0f} ({c.rtf:.2f}) | "
                    f"{c.median_ms:.0f} |")
    return "\n".join(rows)


def candidate(name: str) -> DiTConfig:
    if name not in CANDIDATES:
        raise KeyError(f"unknown candidate {name!r}; choose from {', '.join(CANDIDATES)}")
    return dit_config(*CANDIDATES[name])


def as_dicts(costs: list[Cost]) -> list[dict]:
    return [dict(dataclasses.asdict(c), rtf=round(c.rtf, 3)) for c in costs]
