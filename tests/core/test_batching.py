"""Cross-stream batching (batching.py): each stream's blocks equal its blocks alone, however streams join and leave."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.batching import groups, next_blocks
from lmdm_core.config import SamplerConfig
from lmdm_core.streaming import StreamingGenerator

from .conftest import make_model, random_conditions

TOL = 1e-5


@pytest.fixture(scope="module")
def model():
    return make_model(input_adds={"context": 65, "curves": 3})


def _gen(model, stream, seed, cfg=1.0, mode="block_causal", prompt=None):
    g = StreamingGenerator(model, stream, SamplerConfig(steps=3, cfg=cfg), mode=mode, batch=1, seed=seed)
    g.set_conditions(random_conditions(model, 1, seed=prompt if prompt is not None else seed + 100))
    return g


def _extras(stream, i, k):
    return {"curves": torch.full((1, 3, stream.block), 0.05 * i - 0.1 * k)}


class Script:
    """The same per-stream events applied to a batched and an alone copy of a stream: prompt change, substitute."""

    def __init__(self, k: int):
        self.k = k

    def before(self, gen, model, i):
        if i == 2 + self.k:
            gen.set_conditions(random_conditions(model, 1, seed=500 + self.k))

    def after(self, gen, out, i):
        if i == 3 and self.k == 1:
            gen.substitute(torch.full_like(out, 0.25))


def test_batched_streams_equal_each_alone_while_joining_and_leaving(model, stream):
    """Four streams with their own seeds, prompts, guidance scales and extras; stream 2 joins at block 2, stream 3
    leaves after block 3. Blocks are batched whenever states match (asserted), and every block equals the alone one."""
    specs = [dict(seed=1, cfg=2.0), dict(seed=2, cfg=3.5), dict(seed=3, cfg=2.0), dict(seed=4, cfg=1.5)]
    live = {k: _gen(model, stream, **s) for k, s in enumerate(specs)}
    alone = {k: _gen(model, stream, **s) for k, s in enumerate(specs)}
    scripts = {k: Script(k) for k in live}
    joined, shared = {0, 1, 3}, []
    for i in range(6):
        if i == 2:
            joined.add(2)
        if i == 4:
            joined.discard(3)
        ks = sorted(joined)
        for k in ks:
            scripts[k].before(live[k], model, i)
            scripts[k].before(alone[k], model, i)
        gens = [live[k] for k in ks]
        shared.append(max(len(g) for g in groups(gens)))
        if i == 2:
            assert sorted(map(len, groups(gens))) == [1, 3]
        outs = next_blocks(gens, [_extras(stream, i, k) for k in ks])
        for k, out in zip(ks, outs):
            ref = alone[k].next_block(_extras(stream, i, k))
            assert out.shape == ref.shape
            assert (out - ref).abs().max().item() <= TOL, (i, k)
            scripts[k].after(live[k], out, i)
            scripts[k].after(alone[k], ref, i)
    # block 0: three in their first block; block 2: stream 2 bootstraps alone beside the other three
    assert shared == [3, 3, 3, 4, 3, 3]
    assert (live[0].context - alone[0].context).abs().max() <= TOL


def test_unmatched_states_split_into_groups(model, stream):
    """Guidance on and off, an enc-dec generator, and a stream one block behind are never stacked together."""
    gens = [_gen(model, stream, 1), _gen(model, stream, 2), _gen(model, stream, 3, cfg=2.0),
            _gen(model, stream, 4, mode="encdec"), _gen(model, stream, 5)]
    gens[4].next_block()          # steady state; the others are still in their first block
    assert sorted(map(sorted, groups(gens))) == [[0, 1], [2], [3], [4]]
    ref = [_gen(model, stream, 1), _gen(model, stream, 2), _gen(model, stream, 3, cfg=2.0),
           _gen(model, stream, 4, mode="encdec"), _gen(model, stream, 5)]
    ref[4].next_block()
    for out, r in zip(next_blocks(gens), ref):
        assert (out - r.next_block()).abs().max().item() <= TOL


def test_batching_is_not_a_no_op(model, stream):
    """Stacked members really read their own state: swapping two streams' caches changes both outputs."""
    a, b = _gen(model, stream, 1), _gen(model, stream, 2, prompt=7)
    next_blocks([a, b])
    ra, rb = _gen(model, stream, 1), _gen(model, stream, 2, prompt=7)
    ra.next_block(), rb.next_block()
    a.kv, b.kv = b.kv, a.kv
    out = next_blocks([a, b])
    assert (out[0] - ra.next_block()).abs().max().item() > 1e-3
    assert (out[1] - rb.next_block()).abs().max().item() > 1e-3


def test_bad_calls_are_refused(model, stream):
    g = _gen(model, stream, 1)
    with pytest.raises(ValueError, match="twice"):
        next_blocks([g, g])
    with pytest.raises(ValueError, match="extras"):
        next_blocks([g], [None, None])
