"""Shared by the tests/model tests (models, checkpoints, text encoders, the SAOS conversion)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on a shared 2-core machine spinning OpenMP workers cost 10-20x the CPU time."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
