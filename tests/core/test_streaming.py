"""StreamingGenerator: determinism, independence of generators, reset, priming, errors."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.config import SamplerConfig, StreamConfig
from lmdm_core.streaming import StreamingGenerator

from .conftest import random_conditions


def gen(model, stream, seed=0, **kw):
    return StreamingGenerator(model, stream, SamplerConfig(steps=3), batch=1, seed=seed, **kw)


def blocks(g, n):
    return torch.cat([g.next_block() for _ in range(n)], dim=2)


def test_same_seed_same_stream_other_seed_differs(tiny, stream):
    a, b, c = blocks(gen(tiny, stream, 1), 4), blocks(gen(tiny, stream, 1), 4), blocks(gen(tiny, stream, 2), 4)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-2


def test_interleaved_generators_equal_each_alone(tiny, stream):
    alone_a = blocks(gen(tiny, stream, 1, mode="block_causal"), 4)
    alone_b = blocks(gen(tiny, stream, 2, mode="encdec"), 4)
    ga, gb = gen(tiny, stream, 1, mode="block_causal"), gen(tiny, stream, 2, mode="encdec")
    out_a, out_b = [], []
    for _ in range(4):
        out_a.append(ga.next_block())
        out_b.append(gb.next_block())
    assert torch.equal(torch.cat(out_a, 2), alone_a)
    assert torch.equal(torch.cat(out_b, 2), alone_b)


def test_reset_restarts_the_stream(tiny, stream):
    g = gen(tiny, stream, 3)
    g.set_conditions(random_conditions(tiny, 1, seed=4))
    first = blocks(g, 3)
    g.reset()
    assert torch.equal(blocks(g, 3), first)
    g.reset(seed=5)
    other = blocks(g, 3)
    assert (other - first).abs().max() > 1e-2
    g.reset(seed=3)
    assert torch.equal(blocks(g, 3), first)


def test_prime_and_context(tiny, stream):
    lat = torch.randn(1, 64, stream.context)
    g = gen(tiny, stream, 1)
    g.prime(lat)
    assert torch.equal(g.context, lat)
    primed = g.next_block()
    assert torch.equal(g.context[..., -stream.block:], primed)
    plain = gen(tiny, stream, 1).next_block()
    assert (primed - plain).abs().max() > 1e-3


def test_naive_mode_runs_uncached_only(tiny, stream):
    with pytest.raises(ValueError, match="cannot be cached"):
        gen(tiny, stream, mode="bidirectional")
    y = gen(tiny, stream, mode="bidirectional", cached=False).next_block()
    assert y.shape == (1, 64, stream.block) and torch.isfinite(y).all()


def test_bad_input_is_refused(tiny, stream):
    g = gen(tiny, stream)
    with pytest.raises(ValueError):
        g.next_block({"stem": torch.zeros(1, 65, stream.block)})       # the tiny model has no stem group
    with pytest.raises(ValueError):
        g.prime(torch.zeros(2, 64, 8))
    with pytest.raises(ValueError):
        g.prime(torch.full((1, 64, 8), float("inf")))
    g.next_block()
    with pytest.raises(ValueError):
        g.substitute(torch.full((1, 64, stream.block), float("nan")))
    with pytest.raises(ValueError):
        g.set_conditions(random_conditions(tiny, 2, seed=0))
    with pytest.raises(ValueError):
        StreamingGenerator(tiny, StreamConfig(context=20, block=8), batch=1)
    with pytest.raises(ValueError):
        StreamingGenerator(tiny, StreamConfig(context=8, block=8, window_chunks=3), batch=1)
