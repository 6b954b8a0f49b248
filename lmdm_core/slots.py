"""Fixed slots for cross-session batching on the GPU: one CUDA graph per batch bucket, sessions join and leave freely.

    pool = SlotPool(example_gen, capacity=64, noise="host", graph=True)   # example: any steady generator of the key
    pool.capture((1, 2, 4, 8))                 # optional: capture these buckets now instead of on first use
    blocks = pool.step([gen_a, gen_b, gen_c], [extras_a, extras_b, extras_c])   # == [g.next_block(e) for ...]

Every generator stepped here gets a slot: fixed rows of static buffers holding its block-causal K/V, its prompt's
cross-attention K/V, mask, gate and global vector. The generator's `.kv` is set to views of its rows, so its cache
*is* those rows (the graph updates them in place); a generator whose `.kv` is anything else (it was stepped eagerly,
batched by batching.py, primed or reset) has its rows loaded from its `.kv` first. A prompt change
(`conditions_version`) reloads the cross rows. A slot is freed when its generator is garbage-collected.

A batch of n members runs in the smallest bucket b >= n (1, 2, 4, ... up to `largest`; more members run as several
buckets, which bounds the graphs' memory: a SAOS-size bucket of 1024 holds ~30 GB of activations): the bucket's graph gathers the K/V and cross
rows of the slots named in its index buffer, runs the whole block (fused first step + later steps, the stream's
sampler) and scatters the new K/V back. Positions past n point at a scratch slot. Joining or leaving changes only the
index buffer's contents, so no graph is captured again; only growing the pool past its capacity recaptures (the
buffers move). Each member's noise is drawn from its own generator (noise="host", exactly the eager draws) or inside
the graph (noise="device"); each guides with its own scale (a per-row scale buffer).

graph=False runs the same work eagerly over the same buffers, on any device: the CPU tests check the slot bookkeeping
with it (slot == eager alone), which the GPU then only replays.
"""
from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass

import torch

from .batching import checked_extras
from .dit import CrossKV
from .sampler import sample_pingpong
from .streaming import BlockInputs, Rows, StreamingGenerator

NOISE = ("host", "device")


def slot_key(gen: StreamingGenerator) -> tuple | None:
    """Generators with equal keys can share a pool (same tensor shapes and schedule); None: never pooled."""
    if not (gen.cached and gen.mode == "block_causal"):
        return None
    s, sm = gen.stream, gen.sampler
    cross, gv = gen.cross_kv(), gen.global_vec
    return (id(gen.model), s.context, s.block, s.window_chunks, s.window, gen.batch, sm.steps, sm.logsnr_min,
            sm.logsnr_max, gen.guidance, sm.cfg_mode if gen.guidance else None, tuple(cross.mask.shape[1:]),
            tuple(cross.kv[0][0].shape[1:]), None if gv is None else tuple(gv.shape[1:]), gen.device, gen.dtype)


def buckets_for(n: int, largest: int) -> list[int]:
    """Bucket sizes that cover n members: powers of two up to `largest`, the last one the smallest that fits."""
    out = []
    while n > 0:
        b = 1
        while b < min(n, largest):
            b *= 2
        b = min(b, largest)
        out.append(b)
        n -= min(n, b)
    return out


@dataclass
class _Slot:
    index: int
    ref: weakref.ref
    views: list            # the generator's .kv while its cache lives in this slot
    cross: tuple = ()      # (generator id, conditions_version) whose cross K/V the rows hold


class _Bucket:
    """One batch size's static inputs and outputs (fixed addresses, written before each replay) and its graph."""

    def __init__(self, pool: "SlotPool", size: int) -> None:
        t, dev = pool.template, pool.device
        b, c, blk = t.block_shape
        n_add = sum(t.model.cfg.input_adds.values())
        self.size = size
        self.idx = torch.zeros(size * pool.rpm, dtype=torch.long, device=dev)
        self.target_add = torch.zeros(size * b, n_add, blk, device=dev, dtype=t.dtype)
        self.pending_add = torch.zeros(size * b, n_add, blk, device=dev, dtype=t.dtype)
        self.noise = (torch.zeros(t.sampler.steps, size * b, c, blk, device=dev, dtype=torch.float32)
                      if pool.noise == "host" else None)
        self.scale = torch.ones(size * b, 1, 1, device=dev, dtype=t.dtype) if t.guidance else None
        self.out = torch.zeros(size * b, c, blk, device=dev, dtype=t.dtype)
        self.graph: torch.cuda.CUDAGraph | None = None


class SlotPool:
    """Static per-slot state of up to `capacity` steady generators of one `slot_key`, and the bucket graphs."""

    def __init__(self, example: StreamingGenerator, capacity: int = 8, noise: str = "host", graph: bool = True,
                 largest: int = 256) -> None:
        if not example.steady:
            raise ValueError("a slot pool is built from a steady generator (cached block-causal, cache filled)")
        if graph and example.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, the model is on {example.device}")
        if noise not in NOISE:
            raise ValueError(f"noise must be one of {NOISE}, got {noise!r}")
        self.key = slot_key(example)
        self.noise, self.use_graph, self.largest = noise, graph, largest
        self.device, self.dtype = example.device, example.dtype
        # the template computes nothing of its own: its velocity() runs the captured work over the gathered rows
        self.template = StreamingGenerator(example.model, example.stream, copy.copy(example.sampler),
                                           mode=example.mode, batch=example.batch)
        self.rpm = example.batch * (2 if example.guidance else 1)     # model-batch rows per member
        self._shapes = ([k.shape[1:] for k, _ in example.kv], example.cross_kv(), example.global_vec)
        self._slots: dict[int, _Slot] = {}
        self._free: list[int] = []
        self.buckets: dict[int, _Bucket] = {}
        self.mempool = None
        self.captures = 0      # graphs captured so far (joining/leaving must not add any)
        self.replays = 0
        self.last_batch = 0    # members of the last step
        self._events: list = []   # (start, end) CUDA events around each replay since the last `gpu_ms()`
        self.capacity = 0
        self._grow(max(1, capacity))

    # ----- buffers -----

    def _rows(self, slots: int) -> int:
        return (slots + 1) * self.rpm        # + the scratch slot that padding positions point at

    def _grow(self, capacity: int) -> None:
        """(Re)allocate the slot buffers for `capacity` slots, keeping the slots' contents; graphs go (addresses)."""
        kv_shapes, cross, gv = self._shapes
        n, dev, dt = self._rows(capacity), self.device, self.dtype
        kv = [(torch.zeros(n, *s, device=dev, dtype=dt), torch.zeros(n, *s, device=dev, dtype=dt)) for s in kv_shapes]
        new_cross = CrossKV([(torch.zeros(n, *k.shape[1:], device=dev, dtype=k.dtype),
                              torch.zeros(n, *v.shape[1:], device=dev, dtype=v.dtype)) for k, v in cross.kv],
                            torch.zeros(n, *cross.mask.shape[1:], device=dev, dtype=cross.mask.dtype),
                            torch.zeros(n, *cross.gate.shape[1:], device=dev, dtype=cross.gate.dtype))
        new_gv = None if gv is None else torch.zeros(n, *gv.shape[1:], device=dev, dtype=gv.dtype)
        if self.capacity:
            keep = self.capacity * self.rpm        # every real slot's rows (the scratch slot is junk)
            for (nk, nv), (ok, ov) in zip(kv, self.kv):
                nk[:keep].copy_(ok[:keep])
                nv[:keep].copy_(ov[:keep])
            for (nk, nv), (ok, ov) in zip(new_cross.kv, self.cross.kv):
                nk[:keep].copy_(ok[:keep])
                nv[:keep].copy_(ov[:keep])
            new_cross.mask[:keep].copy_(self.cross.mask[:keep])
            new_cross.gate[:keep].copy_(self.cross.gate[:keep])
            if new_gv is not None:
                new_gv[:keep].copy_(self.global_vec[:keep])
        old = self.kv if self.capacity else None
        self.kv, self.cross, self.global_vec = kv, new_cross, new_gv
        self._free += list(range(capacity - 1, self.capacity - 1, -1))
        self.capacity = capacity
        self.buckets = {}
        for sl in self._slots.values():
            gen, was = sl.ref(), sl.views
            sl.views = self._views(sl.index)
            if gen is not None and old is not None and gen.kv is was:
                gen.kv = sl.views

    def _views(self, index: int) -> list:
        r = slice(index * self.rpm, (index + 1) * self.rpm)
        return [(k[r], v[r]) for k, v in self.kv]

    def _row_index(self, index: int) -> torch.Tensor:
        return torch.arange(index * self.rpm, (index + 1) * self.rpm)

    # ----- slots -----

    @property
    def sessions(self) -> int:
        return len(self._slots)

    def _release(self, gid: int) -> None:
        sl = self._slots.pop(gid, None)
        if sl is not None:
            self._free.append(sl.index)

    def _slot(self, gen: StreamingGenerator) -> _Slot:
        sl = self._slots.get(id(gen))
        if sl is not None and sl.ref() is gen:
            return sl
        if not self._free:
            self._grow(2 * self.capacity)
        gid = id(gen)
        index = self._free.pop()
        sl = _Slot(index, weakref.ref(gen, lambda _, gid=gid: self._release(gid)), self._views(index))
        self._slots[gid] = sl
        return sl

    def _load(self, gen: StreamingGenerator, sl: _Slot) -> None:
        """Bring the slot's rows up to date with the generator: its cache, and its prompt's cross K/V."""
        if gen.kv is not sl.views:
            for (sk, sv), (k, v) in zip(sl.views, gen.kv):
                sk.copy_(k)
                sv.copy_(v)
            gen.kv = sl.views
        version = (id(gen), gen.conditions_version)
        if sl.cross != version:
            r = slice(sl.index * self.rpm, (sl.index + 1) * self.rpm)
            c = gen.cross_kv()
            for (sk, sv), (k, v) in zip(self.cross.kv, c.kv):
                sk[r].copy_(k)
                sv[r].copy_(v)
            self.cross.mask[r].copy_(c.mask)
            self.cross.gate[r].copy_(c.gate)
            if self.global_vec is not None:
                self.global_vec[r].copy_(gen.global_vec)
            sl.cross = version

    def gpu_ms(self) -> float | None:
        """GPU time of the graph replays since the last call (synchronises on them; None when nothing was replayed):
        the device's own time for the blocks, without the host's bookkeeping around them."""
        events, self._events = self._events, []
        if not events:
            return None
        events[-1][1].synchronize()
        return sum(a.elapsed_time(b) for a, b in events)

    # ----- the block -----

    def _bucket(self, size: int) -> _Bucket:
        if size not in self.buckets:
            self.buckets[size] = _Bucket(self, size)
        return self.buckets[size]

    def _run(self, bk: _Bucket) -> None:
        """The captured work: gather the named slots' rows, one block for all, scatter the new K/V back."""
        t, idx = self.template, bk.idx
        b, c, blk = t.block_shape
        cache = t.batch_cache()
        cache.kv = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in self.kv]
        cross = CrossKV([(k.index_select(0, idx), v.index_select(0, idx)) for k, v in self.cross.kv],
                        self.cross.mask.index_select(0, idx), self.cross.gate.index_select(0, idx))
        gv = None if self.global_vec is None else self.global_vec.index_select(0, idx)
        inputs = BlockInputs(bk.target_add, bk.pending_add, cross, gv, Rows(bk.size, b, t.guidance))
        noise = bk.noise
        if noise is None:
            noise = torch.randn(t.sampler.steps, bk.size * b, c, blk, device=self.device, dtype=torch.float32)
        x0 = sample_pingpong(t.velocity(inputs, cache), (bk.size * b, c, blk), t.sampler.steps, None, self.device,
                             self.dtype, t.sampler, noise=noise, scale=bk.scale)
        for (k, v), (nk, nv) in zip(self.kv, cache.kv):
            k.index_copy_(0, idx, nk)
            v.index_copy_(0, idx, nv)
        bk.out.copy_(x0)

    def _scratch(self, bk: _Bucket, start: int) -> None:
        """Point positions start.. at the scratch slot (their work is done and thrown away)."""
        n = bk.size - start
        if n > 0:
            bk.idx[start * self.rpm:].copy_(self._row_index(self.capacity).repeat(n))

    def capture(self, sizes: tuple[int, ...] | list[int] = ()) -> None:
        """Capture the graphs of these buckets now (graph=True; otherwise only their buffers are made). Every
        position points at the scratch slot meanwhile, so the warm-up runs touch no session's rows. The largest first:
        the smaller graphs then reuse its memory in the shared pool."""
        for size in sorted(sizes, reverse=True):
            bk = self._bucket(size)
            if not self.use_graph or bk.graph is not None:
                continue
            self._scratch(bk, 0)
            dev = self.device
            side = torch.cuda.Stream(dev)
            side.wait_stream(torch.cuda.current_stream(dev))
            with torch.inference_mode(), torch.cuda.stream(side):
                for _ in range(2):                 # lazy library init, layouts built, allocator warmed
                    self._run(bk)
            torch.cuda.current_stream(dev).wait_stream(side)
            if self.mempool is None:
                self.mempool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            with torch.inference_mode(), torch.cuda.graph(graph, pool=self.mempool):
                self._run(bk)
            bk.graph = graph
            self.captures += 1

    @torch.inference_mode()
    def step(self, gens: list[StreamingGenerator], extras: list[dict[str, torch.Tensor] | None] | None = None,
             keys: list[tuple | None] | None = None) -> list[torch.Tensor]:
        """The next block of each generator (all steady, all of this pool's key), as alone. `keys`: the generators'
        `slot_key`s where the caller has just computed them (a key costs a few microseconds a stream)."""
        extras = checked_extras(gens, extras)
        if keys is None:
            keys = [slot_key(g) for g in gens]
        if len(keys) != len(gens):
            raise ValueError(f"{len(gens)} generators but {len(keys)} keys")
        for g, key in zip(gens, keys):
            if not g.steady or key != self.key:
                raise ValueError("every generator must be steady and of this pool's key (slot_key)")
        slots = [self._slot(g) for g in gens]       # may grow the pool: before any bucket is filled
        out: list[torch.Tensor] = []
        start = 0
        for size in buckets_for(len(gens), self.largest):
            n = min(size, len(gens) - start)
            out += self._step_bucket(gens[start:start + n], slots[start:start + n], extras[start:start + n], size)
            start += n
        self.last_batch = len(gens)
        return out

    def _step_bucket(self, gens: list[StreamingGenerator], slots: list[_Slot], extras: list, size: int
                     ) -> list[torch.Tensor]:
        bk = self._bucket(size)
        b = self.template.batch
        for g, sl in zip(gens, slots):
            self._load(g, sl)
        begun = [g.begin_block(e) for g, e in zip(gens, extras)]
        n = len(gens)
        # every member's model-batch rows at once (not one arange per member), copied to the device once
        rows = (torch.tensor([sl.index for sl in slots])[:, None] * self.rpm + torch.arange(self.rpm)).flatten()
        bk.idx[:n * self.rpm].copy_(rows)
        self._scratch(bk, n)
        torch.cat([t for _, t in begun], out=bk.target_add[:n * b])      # straight into the static rows
        torch.cat([g.pending_input_add() for g in gens], out=bk.pending_add[:n * b])
        if bk.noise is not None:
            bk.noise[:, :n * b].copy_(torch.cat([g.draw_noise() for g in gens], dim=1))
        if bk.scale is not None:
            bk.scale[:n * b].copy_(torch.tensor([g.sampler.cfg for g in gens for _ in range(b)]).view(-1, 1, 1))
        if self.use_graph:
            if bk.graph is None:
                self.capture((size,))
                bk.idx[:n * self.rpm].copy_(rows)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            bk.graph.replay()
            end.record()
            self._events.append((start, end))
        else:
            self._run(bk)
        self.replays += 1
        x0 = bk.out[:n * b].clone()
        blocks = list(x0.split(b))
        for g, blk, (ex, _) in zip(gens, blocks, begun):
            g.end_block(blk, ex)
        return blocks
