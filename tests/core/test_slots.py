"""Fixed slots (slots.py): each session's blocks equal its blocks alone, however sessions join, leave and change."""
from __future__ import annotations

import gc

import pytest
import torch

from lmdm_core.config import SamplerConfig
from lmdm_core.slots import SlotPool, buckets_for, slot_key
from lmdm_core.streaming import StreamingGenerator

from .conftest import make_model, random_conditions

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)")


@pytest.fixture(scope="module")
def model():
    return make_model(input_adds={"context": 65, "curves": 3})


def _gen(model, stream, seed, cfg=2.0, device="cpu"):
    g = StreamingGenerator(model, stream, SamplerConfig(steps=3, cfg=cfg), mode="block_causal", batch=1, seed=seed)
    g.set_conditions(random_conditions(model, 1, seed=seed + 100))
    return g


def _extras(stream, i, k, device="cpu"):
    return {"curves": torch.full((1, 3, stream.block), 0.05 * i - 0.1 * k, device=device)}


def _steady(gens, stream):
    """Two eager blocks: the bootstrap fills the cache, after it one chunk is pending."""
    for i in range(2):
        for k, g in enumerate(gens):
            g.next_block(_extras(stream, i, k, g.device))


def test_buckets_cover_the_batch():
    assert buckets_for(1, 8) == [1]
    assert buckets_for(3, 8) == [4]
    assert buckets_for(8, 8) == [8]
    assert buckets_for(11, 8) == [8, 4]
    assert buckets_for(17, 8) == [8, 8, 1]


def _drive(model, stream, pool_of, device="cpu", tol=1e-5):
    """Sessions with their own seeds, prompts and guidance scales; 2 joins at block 2, 3 leaves after block 3,
    0 changes its prompt at block 3, 1 is substituted at block 3 and reset at block 5 (eager bootstrap, then back in
    its slot), 4 is stepped eagerly alone at block 4 (its cache leaves the slot and comes back). Every pooled block
    equals the block alone; no graph is captured after the first round of each bucket."""
    cfgs = [2.0, 3.5, 2.0, 1.5, 2.5]
    live = {k: _gen(model, stream, k + 1, c) for k, c in enumerate(cfgs)}
    alone = {k: _gen(model, stream, k + 1, c) for k, c in enumerate(cfgs)}
    _steady(list(live.values()), stream)
    _steady(list(alone.values()), stream)
    pool = pool_of(live[0])
    joined, sizes = {0, 1, 3, 4}, []
    for i in range(2, 8):
        if i == 2:
            joined.add(2)
        if i == 4:
            joined.discard(3)
            del live[3], alone[3]
            gc.collect()
        if i == 3:
            for d in (live, alone):
                d[0].set_conditions(random_conditions(model, 1, seed=777))
        eager_now = {4} if i == 4 else set()
        if i == 6:
            for d in (live, alone):
                d[1].reset()
        ks = sorted(joined)
        pooled = [k for k in ks if live[k].steady and k not in eager_now]
        outs = dict(zip(pooled, pool.step([live[k] for k in pooled], [_extras(stream, i, k) for k in pooled])))
        for k in ks:
            if k not in outs:
                outs[k] = live[k].next_block(_extras(stream, i, k))
        sizes.append(pool.last_batch)
        for k in ks:
            ref = alone[k].next_block(_extras(stream, i, k))
            assert (outs[k] - ref).abs().max().item() <= tol, (i, k)
            if i == 3 and k == 1:
                live[k].substitute(torch.full_like(ref, 0.25))
                alone[k].substitute(torch.full_like(ref, 0.25))
    assert pool.sessions == 4           # 3 left: its slot was freed when its generator went
    return pool, sizes


def test_pooled_blocks_equal_each_alone_on_cpu(model, stream):
    pool, sizes = _drive(model, stream, lambda g: SlotPool(g, capacity=2, noise="host", graph=False))
    assert sizes == [5, 5, 3, 4, 3, 4]
    assert pool.capacity >= 5           # grown from 2 while sessions joined, contents kept
    assert pool.gpu_ms() is None        # nothing replayed: no device time to report


def test_pool_refuses_what_it_cannot_hold(model, stream):
    g = _gen(model, stream, 1)
    with pytest.raises(ValueError, match="steady"):
        SlotPool(g, graph=False)
    _steady([g], stream)
    with pytest.raises(ValueError, match="CUDA"):
        SlotPool(g, graph=True)
    pool = SlotPool(g, graph=False)
    other = _gen(model, stream, 2, cfg=1.0)        # guidance off: another key
    _steady([other], stream)
    assert slot_key(other) != pool.key
    with pytest.raises(ValueError, match="key"):
        pool.step([other])
    with pytest.raises(ValueError, match="twice"):
        pool.step([g, g])


def test_stale_cross_rows_would_show(model, stream):
    """The cross reload matters: a slot pretending to hold the new prompt's cross K/V gives another block."""
    a, ref = _gen(model, stream, 1), _gen(model, stream, 1)
    _steady([a], stream)
    _steady([ref], stream)
    pool = SlotPool(a, graph=False)
    assert (pool.step([a])[0] - ref.next_block()).abs().max().item() <= 1e-5
    for g in (a, ref):
        g.set_conditions(random_conditions(model, 1, seed=9))
    pool._slot(a).cross = (id(a), a.conditions_version)
    assert (pool.step([a])[0] - ref.next_block()).abs().max().item() > 1e-3


@cuda
def test_graphed_pool_equals_eager_alone_on_cuda(stream):
    """Batched rows may take other kernels than one row alone (cuBLAS/cuDNN pick by shape): equal to 1e-3 here."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = make_model(input_adds={"context": 65, "curves": 3}).cuda()
    pool, sizes = _drive(model, stream, lambda g: SlotPool(g, capacity=2, noise="host", graph=True), tol=1e-3)
    assert sizes == [5, 5, 3, 4, 3, 4]
    # one capture per bucket and per growth of the pool (buffers move); joining or leaving captures nothing
    assert pool.replays >= 6 and pool.captures <= 2 * len(pool.buckets) + 2
    assert pool.gpu_ms() > 0 and pool.gpu_ms() is None   # the replays' device time, taken once


@cuda
def test_device_noise_pool_is_finite_and_reproducible_on_cuda(stream):
    model = make_model(input_adds={"context": 65, "curves": 3}).cuda()

    def run():
        gens = [_gen(model, stream, k) for k in range(3)]
        _steady(gens, stream)
        pool = SlotPool(gens[0], noise="device", graph=True)
        torch.cuda.manual_seed(0)
        return torch.cat([torch.cat(pool.step(gens)) for _ in range(3)])

    a, b = run(), run()
    assert torch.isfinite(a).all() and (a - b).abs().max().item() <= 1e-4
