"""Shared fixtures for the core model tests: a tiny DiT with random (non-zero) weights and the tiny geometry."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.conditions import Conditions
from lmdm_core.config import dit_preset, stream_preset
from lmdm_core.dit import DiT


def make_model(**changes) -> DiT:
    cfg = dit_preset("tiny")
    for k, v in changes.items():
        setattr(cfg, k, v)
    torch.manual_seed(0)
    return DiT(cfg).eval()


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads; one thread keeps the shared CPU free for others."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny() -> DiT:
    return make_model()


@pytest.fixture
def stream():
    return stream_preset("tiny")


def random_conditions(model: DiT, batch: int, seed: int, n: int = 3) -> Conditions:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, n, dtype=torch.bool)
    mask[0, -1] = False
    return Conditions(torch.randn(batch, n, model.cfg.cond_token_dim, generator=g), mask,
                      torch.randn(batch, model.cfg.global_cond_dim, generator=g))
