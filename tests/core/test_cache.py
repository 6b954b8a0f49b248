"""The KV-cached engine computes exactly the stream that full masked forward passes compute without any cache."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.config import SamplerConfig, StreamConfig
from lmdm_core.streaming import StreamingGenerator

from .conftest import make_model, random_conditions

BLOCKS = 8      # tiny geometry: 3 context chunks, window 3 chunks -> the window slides past its size by block 2


def run_stream(model, stream, mode, cached, cfg=1.0, prime=None, change_at=3, extras=None, substitute_at=None):
    gen = StreamingGenerator(model, stream, SamplerConfig(steps=4, cfg=cfg), mode=mode, cached=cached, batch=2,
                             seed=7)
    gen.set_conditions(random_conditions(model, 2, seed=1))
    if prime is not None:
        gen.prime(prime)
    out = []
    for i in range(BLOCKS):
        if i == change_at:
            gen.set_conditions(random_conditions(model, 2, seed=2))
        out.append(gen.next_block(extras(i) if extras else None))
        if substitute_at == i:
            gen.substitute(torch.full_like(out[-1], 0.5))
    return torch.cat(out, dim=2)


@pytest.mark.parametrize("mode", ["encdec", "block_causal"])
@pytest.mark.parametrize("cfg", [1.0, 2.5])
def test_cached_equals_uncached(tiny, stream, mode, cfg):
    prime = torch.randn(2, 64, 20, generator=torch.Generator().manual_seed(3))
    a = run_stream(tiny, stream, mode, True, cfg, prime)
    b = run_stream(tiny, stream, mode, False, cfg, prime)
    assert a.shape == (2, 64, BLOCKS * stream.block)
    assert torch.isfinite(a).all()
    assert (a - b).abs().max().item() <= 1e-4
    # the prompt change really changes the stream (the comparison above is not vacuous)
    c = run_stream(tiny, stream, mode, True, cfg, prime, change_at=None)
    assert (a[..., 3 * stream.block:] - c[..., 3 * stream.block:]).abs().max().item() > 1e-2


def test_substitute_and_deeper_model(stream):
    model = make_model(depth=3)
    a = run_stream(model, stream, "block_causal", True, substitute_at=2)
    b = run_stream(model, stream, "block_causal", False, substitute_at=2)
    assert (a - b).abs().max().item() <= 1e-4
    c = run_stream(model, stream, "block_causal", True)
    assert (a[..., 3 * stream.block:] - c[..., 3 * stream.block:]).abs().max().item() > 1e-2


def test_paper_ratio_geometry_wider_window(tiny):
    """A context longer than the chunk window (as in the paper: 4 context chunks, window 4)."""
    stream = StreamConfig(context=32, block=8, window_chunks=3)
    a = run_stream(tiny, stream, "block_causal", True)
    b = run_stream(tiny, stream, "block_causal", False)
    assert (a - b).abs().max().item() <= 1e-4


def test_extra_input_add_groups(stream):
    """More input-add groups work just by adding them to the config, cached and uncached alike."""
    model = make_model(input_adds={"context": 65, "stem": 65, "curves": 3})
    assert model.to_input_add_embed.in_features == 133

    def extras(i):
        g = torch.Generator().manual_seed(100 + i)
        return {"stem": torch.randn(2, 65, stream.block, generator=g), "curves": torch.rand(2, 3, stream.block, generator=g)}

    a = run_stream(model, stream, "block_causal", True, extras=extras)
    b = run_stream(model, stream, "block_causal", False, extras=extras)
    assert (a - b).abs().max().item() <= 1e-4
    c = run_stream(model, stream, "block_causal", True)
    assert (a - c).abs().max().item() > 1e-2      # the extra groups reach the output


def test_broken_rerotation_is_caught(tiny, stream, monkeypatch):
    """Sanity check of the comparison itself: without re-rotating keys after a slide the streams differ."""
    from lmdm_core import cache
    monkeypatch.setattr(cache.BlockCausalCache, "slid", lambda self, n: self.kv)
    a = run_stream(tiny, stream, "block_causal", True)
    b = run_stream(tiny, stream, "block_causal", False)
    assert (a - b).abs().max().item() > 1e-3


@pytest.mark.parametrize("mode", ["encdec", "block_causal"])
def test_short_blocks_of_the_same_context_are_exact_too(tiny, stream, mode):
    """Blocks of a quarter chunk over the same context (StreamConfig.with_block, as `--blocks short` streams the
    paper's 192 + 12): cached == uncached, and the stream differs from the long-block one (the geometry is used)."""
    short = stream.with_block(stream.block // 4 or 1)
    assert short.context == stream.context and short.block * short.window_chunks >= stream.block * 2
    prime = torch.randn(2, 64, 20, generator=torch.Generator().manual_seed(3))
    a = run_stream(tiny, short, mode, True, prime=prime)
    b = run_stream(tiny, short, mode, False, prime=prime)
    assert a.shape == (2, 64, BLOCKS * short.block)
    assert (a - b).abs().max().item() <= 1e-4
    long = run_stream(tiny, stream, mode, True, prime=prime)[..., :BLOCKS * short.block]
    assert (a - long).abs().max().item() > 1e-2


def test_with_block_keeps_the_window_span_in_whole_chunks():
    assert StreamConfig().with_block(12) == StreamConfig(context=192, block=12, window_chunks=16)
    assert StreamConfig().with_block(48) == StreamConfig()
    with pytest.raises(ValueError, match="divide"):
        StreamConfig().with_block(50)


def test_cached_equals_uncached_with_cfg_plus_plus(tiny, stream):
    """The LMDM notebook's guidance (cfg 0.95, CFG++) on the block-causal cache, across a prompt change."""
    def run(cached: bool, mode: str) -> torch.Tensor:
        gen = StreamingGenerator(tiny, stream, SamplerConfig(steps=4, cfg=0.95, cfg_mode=mode), mode="block_causal",
                                 cached=cached, batch=2, seed=7)
        gen.set_conditions(random_conditions(tiny, 2, seed=1))
        out = []
        for i in range(4):
            if i == 2:
                gen.set_conditions(random_conditions(tiny, 2, seed=2))
            out.append(gen.next_block())
        return torch.cat(out, dim=2)

    a = run(True, "plus_plus")
    assert (a - run(False, "plus_plus")).abs().max().item() <= 1e-4
    assert (a - run(True, "plain")).abs().max().item() > 1e-3
