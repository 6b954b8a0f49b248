"""Shared fixtures for the ARC tests: the tiny DiT, the tiny stream geometry, toy real windows with random prompts."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.conditions import Conditions
from lmdm_core.config import ARCConfig, dit_preset, stream_preset
from lmdm_core.dit import DiT
from lmdm_core.objective import toy_latents
from tests.core.conftest import one_thread  # noqa: F401  (autouse: one torch thread, the CPU is shared)


def tiny_model(seed: int = 0) -> DiT:
    torch.manual_seed(seed)
    return DiT(dit_preset("tiny"))


def tiny_arc(**changes) -> ARCConfig:
    """Small enough for the CPU: 2 chunks of 8 after 24 latents of context, 4-step schedule, 16-channel head."""
    cfg = ARCConfig(blocks=2, steps=4, grad_step_max=3, head_channels=16, batch=2, train_steps=10, log_every=1,
                    save_every=1, sample_every=1, lr=1e-3)
    for k, v in changes.items():
        setattr(cfg, k, v)
    return cfg


def toy_batches(model: DiT, length: int):
    """(n, generator) -> toy latents [n, C, length] and random prompts (distinct per row, for the contrastive roll)."""
    def draw(n: int, gen: torch.Generator):
        x = toy_latents(n, model.cfg.io_channels, length, gen)
        tokens = torch.randn(n, 2, model.cfg.cond_token_dim, generator=gen)
        return x, Conditions(tokens, torch.ones(n, 2, dtype=torch.bool))
    return draw


@pytest.fixture
def stream():
    return stream_preset("tiny")
