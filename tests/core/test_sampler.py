"""Ping-pong rectified-flow sampler."""
from __future__ import annotations

import math

import pytest
import torch

from lmdm_core.sampler import guided, sample_pingpong, schedule


def test_schedule_endpoints_and_order():
    ts = schedule(8)
    assert len(ts) == 9 and ts[0] == 1.0 and ts[-1] == 0.0
    assert all(a > b for a, b in zip(ts, ts[1:]))
    assert ts[1] == pytest.approx(1 / (1 + math.exp(-5.0)))   # sigmoid(-logsnr) at logsnr = -6 + 8/8 = -5
    with pytest.raises(ValueError):
        schedule(0)


@pytest.mark.parametrize("steps", [1, 4, 8])
def test_oracle_velocity_returns_x0(steps):
    x0 = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(5))
    calls = []

    def oracle(x, t, step):
        calls.append((step, t))
        # x = (1 - t) x0 + t eps  =>  v = eps - x0 = (x - x0) / t
        return (x - x0) / t

    out = sample_pingpong(oracle, x0.shape, steps, torch.Generator().manual_seed(1))
    assert len(calls) == steps and [c[0] for c in calls] == list(range(steps))
    assert torch.allclose(out, x0, atol=1e-5)


def test_wrong_velocity_does_not_return_x0():
    x0 = torch.randn(2, 8, 16)
    out = sample_pingpong(lambda x, t, s: torch.zeros_like(x), x0.shape, 4, torch.Generator().manual_seed(1))
    assert (out - x0).abs().max() > 0.1


def test_same_seed_same_sample_fresh_noise_each_step():
    seen = []

    def v(x, t, step):
        seen.append(x.clone())
        return torch.zeros_like(x)

    a = sample_pingpong(v, (1, 4, 4), 3, torch.Generator().manual_seed(9))
    b = sample_pingpong(lambda x, t, s: torch.zeros_like(x), (1, 4, 4), 3, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    assert not torch.allclose(seen[1] / schedule(3)[1], seen[0])   # re-noised with fresh noise


def test_guidance():
    c, u = torch.full((1, 2), 3.0), torch.full((1, 2), 1.0)
    assert torch.equal(guided(torch.cat([c, u]), 1.0), c)
    assert torch.equal(guided(torch.cat([c, u]), 2.0), torch.full((1, 2), 5.0))
