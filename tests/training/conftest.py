"""Small synthetic data and tiny configs for the training tests (CPU, seconds)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lmdm_core.config import AutoencoderConfig, DiTConfig, StreamConfig
from lmdm_core.data.manifest import Entry
from lmdm_core.training.audio import Clip
from lmdm_core.training.latents import LatentSet

TINY_AE = dict(sample_rate=8000, channels=4, c_mults=[1, 2], strides=[2, 4], latent_dim=4, use_snake=False)


def tiny_ae() -> AutoencoderConfig:
    return AutoencoderConfig(**TINY_AE)


def tiny_dit() -> DiTConfig:
    return DiTConfig(io_channels=4, embed_dim=32, depth=2, num_heads=2, rope_dims=8, cond_token_dim=16,
                     max_cond_tokens=8, global_cond_dim=0, timestep_features=8,
                     input_adds={"context": 5, "stem": 4, "curves": 3})


def tiny_stream() -> StreamConfig:
    return StreamConfig(context=8, block=4, window_chunks=3)


def tone(seconds: float, sr: int, freq: float, seed: int) -> torch.Tensor:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * freq * t)[None] * np.array([[1.0], [0.8]]) + 0.01 * rng.standard_normal((2, len(t)))
    return torch.from_numpy(np.round(x * 32767).astype(np.int16))


@pytest.fixture
def clips() -> list[Clip]:
    out = []
    for i in range(3):
        mix = tone(1.0, 8000, 220.0 * (i + 1), i)
        stem = (mix.to(torch.int32) // 2).to(torch.int16)
        entry = Entry(id=f"w{i}-r0", work=f"w{i}", collection="test", split="train", caption=f"piano tune {i}",
                      instruments=["piano"], sample_rate=8000, hop=8)
        out.append(Clip(entry, mix, stem, 0, np.zeros((3, 1000), np.float32)))
    return out


@pytest.fixture
def latents() -> LatentSet:
    g = torch.Generator().manual_seed(0)
    s = LatentSet()
    for i in range(3):
        n = 40
        s.ids.append(f"w{i}")
        s.captions.append(["warm piano chorale", "bright brass chorale", "piano"][i])
        s.instruments.append(["piano"])
        s.voice.append(0 if i < 2 else -1)
        s.mix.append(torch.randn(4, n, generator=g).half())
        s.stem.append(torch.randn(4, n, generator=g).half() if i < 2 else None)
        s.acc.append(torch.randn(4, n, generator=g).half() if i < 2 else None)
        s.curves.append(torch.stack([torch.full((n,), 60.0), torch.full((n,), -20.0), torch.full((n,), 1500.0)]))
    return s
