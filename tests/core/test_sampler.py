"""Ping-pong rectified-flow sampler."""
from __future__ import annotations

import math

import pytest
import torch

from lmdm_core.config import SamplerConfig
from lmdm_core.sampler import guided, sample_pingpong, schedule, step


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


def test_one_guided_step_by_hand():
    """x = 2, v_cond = 3, v_uncond = 1, t = 0.8 -> t' = 0.25, eps = 0.5, scale 0.95: v = 1 + 0.95 * 2 = 2.9,
    x0 = 2 - 0.8 * 2.9 = -0.32, x0_uncond = 2 - 0.8 = 1.2;
    plain: 0.75 * -0.32 + 0.25 * 0.5 = -0.115; CFG++: -0.32 + 0.25 * (0.5 - 1.2) = -0.495."""
    x, v, e = torch.tensor([[2.0]]), torch.tensor([[3.0], [1.0]]), torch.tensor([[0.5]])
    for mode, want in [("plain", -0.115), ("plus_plus", -0.495)]:
        x0, nxt = step(x, v, 0.8, 0.25, e, SamplerConfig(cfg=0.95, cfg_mode=mode))
        assert x0.item() == pytest.approx(-0.32, abs=1e-6) and nxt.item() == pytest.approx(want, abs=1e-6), mode
        x0, last = step(x, v, 0.8, 0.0, None, SamplerConfig(cfg=0.95, cfg_mode=mode))
        assert torch.equal(last, x0)                                  # the last step returns x0
    x0, nxt = step(x, v[:1], 0.8, 0.25, e, SamplerConfig(cfg=1.0, cfg_mode="plus_plus"))   # cfg 1: no guidance
    assert nxt.item() == pytest.approx(0.75 * (2 - 0.8 * 3) + 0.125, abs=1e-6)
    with pytest.raises(ValueError, match="cond; uncond"):
        step(x, v[:1], 0.8, 0.25, e, SamplerConfig(cfg=2.0))
    with pytest.raises(ValueError, match="cfg_mode"):
        step(x, v, 0.8, 0.25, e, SamplerConfig(cfg=2.0, cfg_mode="cfgpp"))


def _fork_pingpong_plus_plus(model, x, ts, noise, cfg_scale):
    """The LMDM fork's sample_flow_pingpong with plus_plus=True (inference/sampling.py), its loop transcribed; the
    model returns (cond_v, uncond_v) as its DiffusionTransformer.forward does under plus_plus."""
    for i in range(len(ts) - 1):
        cond_v, uncond_v = model(x, ts[i])
        cfg_v = uncond_v + cfg_scale * (cond_v - uncond_v)
        denoised = x - ts[i] * cfg_v
        denoised_uncond = x - ts[i] * uncond_v
        x = denoised + ts[i + 1] * (noise[i] - denoised_uncond)
    return x


@pytest.mark.parametrize("scale", [0.95, 3.0])
def test_plus_plus_sampling_equals_the_forks_loop(scale):
    shape, steps = (2, 4, 6), 6
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(shape, generator=g), torch.randn(shape, generator=g)

    def model(x, t):        # some velocities that depend on x and t, different for the two branches
        return 0.7 * x + t * a, -0.3 * x + (1 - t) * b

    noise = torch.randn(steps, *shape, generator=g)
    cfg = SamplerConfig(steps=steps, cfg=scale, cfg_mode="plus_plus")
    ours = sample_pingpong(lambda x, t, i: torch.cat(model(x, t)), shape, steps, None, cfg=cfg, noise=noise)
    ref = _fork_pingpong_plus_plus(model, noise[0], schedule(steps, cfg), list(noise[1:]) + [noise[0]], scale)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    plain = sample_pingpong(lambda x, t, i: torch.cat(model(x, t)), shape, steps, None,
                            cfg=SamplerConfig(steps=steps, cfg=scale), noise=noise)
    assert (plain - ours).abs().max() > 1e-3                          # the two modes differ
