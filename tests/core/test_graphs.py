"""The CUDA-graph engine (graphs.py) computes the eager cached engine's stream; its pre-drawn noise is the sampler's."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.config import SamplerConfig
from lmdm_core.graphs import GraphedGenerator
from lmdm_core.sampler import draw_noise, sample_pingpong
from lmdm_core.streaming import StreamingGenerator

from .conftest import make_model, random_conditions

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)")


def test_predrawn_noise_is_the_generators_stream():
    shape, steps = (2, 4, 6), 5
    seen = []

    def velocity(x, t, step):
        seen.append(x.clone())
        return torch.sin(x * (step + 1))

    a = sample_pingpong(velocity, shape, steps, torch.Generator().manual_seed(4))
    noise = draw_noise(shape, steps, torch.Generator().manual_seed(4))
    b = sample_pingpong(velocity, shape, steps, torch.Generator().manual_seed(99), noise=noise)
    assert torch.equal(a, b)
    assert torch.equal(seen[0], noise[0])
    assert all(torch.equal(x, y) for x, y in zip(seen[:steps], seen[steps:]))
    with pytest.raises(ValueError, match="noise must be"):
        sample_pingpong(velocity, shape, steps, None, noise=noise[1:])


def test_refuses_what_it_cannot_graph(tiny, stream):
    with pytest.raises(ValueError, match="CUDA device"):
        GraphedGenerator(StreamingGenerator(tiny, stream, mode="block_causal"))
    with pytest.raises(ValueError, match="block-causal"):
        GraphedGenerator(StreamingGenerator(tiny, stream, mode="encdec"))


def _stream(gen, model, stream, blocks=9):
    gen.set_conditions(random_conditions(model, 2, seed=1))
    out = []
    for i in range(blocks):
        if i == 3:
            gen.set_conditions(random_conditions(model, 2, seed=2))
        if i == 8:      # another token count: new static buffers (a recapture on CUDA)
            gen.set_conditions(random_conditions(model, 2, seed=3, n=5))
        if i == 5:
            gen.substitute(torch.full_like(out[-1], 0.5))
        extras = {"curves": torch.full((2, 3, stream.block), 0.1 * i, device=out[-1].device)} if i else None
        out.append(gen.next_block(extras))
        if i == 6:
            gen.append(torch.full_like(out[-1], -0.5))
    return torch.cat(out, dim=2)


@pytest.mark.parametrize("cfg", [1.0, 2.5])
def test_static_buffer_path_equals_eager_on_cpu(stream, cfg):
    """graph=False runs the captured work eagerly over the static buffers: the bookkeeping a graph replays (prompt
    changes, a new token count, substitute, append) gives the eager stream exactly, on the CPU."""
    model = make_model(input_adds={"context": 65, "curves": 3})

    def gen():
        return StreamingGenerator(model, stream, SamplerConfig(steps=4, cfg=cfg), mode="block_causal", batch=2,
                                  seed=7)

    eager = _stream(gen(), model, stream)
    static = GraphedGenerator(gen(), noise="host", graph=False)
    out = _stream(static, model, stream)
    assert static.replays >= 5 and static.graph is None
    assert (out - eager).abs().max().item() <= 1e-5
    wrong = GraphedGenerator(gen(), noise="host", graph=False)
    wrong.gen.set_conditions(random_conditions(model, 2, seed=1))
    wrong.next_block()
    wrong.next_block()
    wrong.gen.set_conditions(random_conditions(model, 2, seed=2))
    wrong._st.cross_version = wrong.gen.conditions_version  # pretend the buffers already hold the new prompt
    ref = gen()
    ref.set_conditions(random_conditions(model, 2, seed=1))
    ref.next_block()
    ref.next_block()
    ref.set_conditions(random_conditions(model, 2, seed=2))
    assert (wrong.next_block() - ref.next_block()).abs().max().item() > 1e-3  # stale cross K/V would show


@cuda
@pytest.mark.parametrize("noise", ["host", "device"])
@pytest.mark.parametrize("cfg", [1.0, 2.5])
@pytest.mark.parametrize("short", [False, True])
def test_graphed_equals_eager_on_cuda(stream, noise, cfg, short):
    """Also at short blocks (a quarter chunk of the same context, StreamConfig.with_block): one graph per geometry."""
    stream = stream.with_block(stream.block // 4) if short else stream
    model = make_model(input_adds={"context": 65, "curves": 3}).cuda()
    torch.backends.cuda.matmul.allow_tf32 = False

    def gen():
        return StreamingGenerator(model, stream, SamplerConfig(steps=4, cfg=cfg), mode="block_causal", batch=2,
                                  seed=7)

    eager = _stream(gen(), model, stream)
    graphed = GraphedGenerator(gen(), noise=noise)
    torch.cuda.manual_seed(0)
    out = _stream(graphed, model, stream)
    assert graphed.replays >= 4
    if noise == "host":
        assert (out - eager).abs().max().item() <= 1e-4
    else:       # another noise stream: different values, same model and cache path (finite, same scale)
        assert torch.isfinite(out).all() and (out - eager).abs().max().item() > 1e-2
        torch.cuda.manual_seed(0)
        again = _stream(GraphedGenerator(gen(), noise=noise), model, stream)
        assert (again - out).abs().max().item() <= 1e-4


def test_static_buffers_stay_coherent_when_the_worker_changes_the_stream(stream):
    """What the worker does between blocks: the guidance scale and `steps` turned (the sampler is shared and changed
    in place), a restart (`reset`), the stream stepped by someone else (batching.py sets `.kv` to its own slices).
    The static buffers follow the generator's cache each time: graph=False equals the eager stream throughout."""
    from lmdm_core.batching import next_blocks

    model = make_model(input_adds={"context": 65, "curves": 3})

    def gen():
        g = StreamingGenerator(model, stream, SamplerConfig(steps=4, cfg=2.0), mode="block_causal", batch=1, seed=3)
        g.set_conditions(random_conditions(model, 1, seed=1))
        return g

    eager, static = gen(), GraphedGenerator(gen(), noise="host", graph=False)
    other = [gen(), gen()]         # two more streams to batch the wrapped generator with
    for i in range(10):
        for g in (eager, static):
            if i == 3:
                g.sampler.cfg = 3.5
            if i == 5:
                g.sampler.steps = 2
            if i == 7:
                g.reset()
        if i == 4:   # the inner generator stepped elsewhere: its cache is batching's slices now
            got = next_blocks([static.gen] + other[:1])[0]
            other[1].next_block()
        else:
            got = static.next_block()
            for o in other:
                o.next_block()
        assert (got - eager.next_block()).abs().max().item() <= 1e-5, i
    assert static.replays >= 4
    assert static._st.scale is not None and static._st.schedule[0] == 2   # recaptured for the new step count
