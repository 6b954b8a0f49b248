"""CUDA-graph replay of the block-causal cached engine: a whole block (fused first step + later steps) is one graph.

At batch 1 the eager engine is host-bound (~17 ms of Python per pass, 9 passes a block). `GraphedGenerator` wraps a
cached block-causal `StreamingGenerator` on a CUDA device and, in the steady state (one pending chunk and a filled
cache), runs `next_block` as: copy the pending chunk's input-add, the target's input-add and the noise into static
buffers, replay one captured `torch.cuda.CUDAGraph`, copy the result out, commit it. The block-causal cache lives in
static buffers that the graph reads and overwrites in place; the cross-attention K/V and the global vector too (a prompt
change copies the new ones into them, or recaptures when the token count changes). The weights are read in place:
load new weights with `copy_`, never by replacing parameters, or build a new GraphedGenerator. Everything else (bootstrap after `prime`/`reset`,
`append`, which leaves more than one chunk pending) takes the eager path, so the stream is the eager engine's stream.

noise="host" draws the noise from the stream's CPU generator exactly as the eager engine does (same stream for a seed,
on any device; it costs ~steps x B x 3072 normal draws on the CPU per block, which dominates at large batches);
noise="device" draws it inside the graph from the CUDA default generator (no host work; reproducible per device and
seed of `torch.cuda.manual_seed`, but not the eager engine's stream).

graph=False runs the captured work eagerly over the same static buffers instead of replaying a graph, on any device:
the CPU tests check the static-buffer bookkeeping with it (prompt changes, substitutions, appends), which the graph
then only replays. The generator is driven through its public block pieces (streaming.py), nothing private.

`lmdm bench model --cuda-graphs` runs this one-stream engine; the worker (`lmdm serve --device cuda`) runs the same
captured block per batch bucket over fixed per-session slots (slots.py), a stream alone being a bucket of one.
"""
from __future__ import annotations

import torch

from .dit import CrossKV
from .sampler import sample_pingpong
from .streaming import BlockInputs, StreamingGenerator

NOISE = ("host", "device")


def schedule_key(gen: StreamingGenerator) -> tuple:
    """What a captured block bakes in besides tensor shapes: a change (the `steps` parameter, guidance on/off, the
    cfg mode, the schedule) needs a new capture. The guidance scale itself is a buffer."""
    sm = gen.sampler
    return (sm.steps, gen.guidance, sm.cfg_mode if gen.guidance else None, sm.logsnr_min, sm.logsnr_max, gen.batch)


class _Static:
    """The graph's inputs and outputs: fixed addresses, written before each replay."""

    def __init__(self, gen: StreamingGenerator, noise: str) -> None:
        b, c, blk = gen.block_shape
        steps, dev = gen.sampler.steps, gen.device
        self.noise = torch.empty(steps, b, c, blk, device=dev, dtype=torch.float32) if noise == "host" else None
        n_add = sum(gen.model.cfg.input_adds.values())
        self.pending_add = torch.empty(b, n_add, blk, device=dev, dtype=gen.dtype)
        self.target_add = torch.empty(b, n_add, blk, device=dev, dtype=gen.dtype)
        self.kv = [(k.clone(), v.clone()) for k, v in gen.kv]
        c0 = gen.cross_kv()
        self.cross = CrossKV([(k.clone(), v.clone()) for k, v in c0.kv], c0.mask.clone(), c0.gate.clone())
        self.cross_version = gen.conditions_version   # the prompt whose cross K/V the buffers hold
        self.out = torch.empty(b, c, blk, device=dev, dtype=gen.dtype)
        g0 = gen.global_vec
        self.global_vec = None if g0 is None else g0.clone()
        # the guidance scale is read from here, not baked into the graph: turning `cfg` needs no recapture
        self.scale = torch.ones(b, 1, 1, device=dev, dtype=gen.dtype) if gen.guidance else None
        self.schedule = schedule_key(gen)     # what the graph baked in: steps and the sampler's schedule

    def fits(self, gen: StreamingGenerator, cross: CrossKV, global_vec: torch.Tensor | None) -> bool:
        if schedule_key(gen) != self.schedule or tuple(self.kv[0][0].shape) != tuple(gen.kv[0][0].shape):
            return False
        same_global = (global_vec is None) == (self.global_vec is None) and (
            global_vec is None or global_vec.shape == self.global_vec.shape)
        return (same_global and cross.kv[0][0].shape == self.cross.kv[0][0].shape
                and cross.mask.shape == self.cross.mask.shape)

    def load_cross(self, cross: CrossKV) -> None:
        for (sk, sv), (k, v) in zip(self.cross.kv, cross.kv):
            sk.copy_(k)
            sv.copy_(v)
        self.cross.mask.copy_(cross.mask)
        self.cross.gate.copy_(cross.gate)

    def load_kv(self, kv) -> None:
        for (sk, sv), (k, v) in zip(self.kv, kv):
            sk.copy_(k)
            sv.copy_(v)


class GraphedGenerator:
    """A cached block-causal StreamingGenerator whose steady-state blocks replay one CUDA graph.

    Same public API as the generator (attributes and methods not defined here are the wrapped generator's).
    """

    def __init__(self, gen: StreamingGenerator, noise: str = "host", graph: bool = True) -> None:
        if not (gen.cached and gen.mode == "block_causal"):
            raise ValueError("CUDA graphs need a cached block-causal generator")
        if graph and gen.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, the model is on {gen.device}")
        if noise not in NOISE:
            raise ValueError(f"noise must be one of {NOISE}, got {noise!r}")
        self.gen, self.noise, self.use_graph = gen, noise, graph
        self.graph: torch.cuda.CUDAGraph | None = None
        self._st: _Static | None = None
        self.replays = 0

    def __getattr__(self, name: str):
        return getattr(self.gen, name)

    def _block(self) -> None:
        """The captured work: one block from the static inputs; the cache and the output land in static buffers."""
        g, st = self.gen, self._st
        g.kv = st.kv
        inputs = BlockInputs(st.target_add, st.pending_add, st.cross, st.global_vec, g.rows)
        noise = st.noise
        if noise is None:
            noise = torch.randn(g.sampler.steps, *g.block_shape, device=g.device, dtype=torch.float32)
        x0 = sample_pingpong(g.velocity(inputs), g.block_shape, g.sampler.steps, None, g.device, g.dtype,
                             g.sampler, noise=noise, scale=st.scale)
        st.load_kv(g.kv)
        g.kv = st.kv
        st.out.copy_(x0)

    def capture(self) -> None:
        """Capture the steady-state block (the generator must be in it). Runs it twice eagerly on a side stream first
        (lazy library init, allocator warm-up) and restores the cache, so the stream is not advanced."""
        g = self.gen
        self.graph, self._st = None, _Static(g, self.noise)
        st = self._st
        if not self.use_graph:
            return
        st.pending_add.copy_(g.pending_input_add())
        st.target_add.copy_(g.begin_block(None)[1])
        if st.noise is not None:
            st.noise.normal_()
        saved = [(k.clone(), v.clone()) for k, v in st.kv]
        side = torch.cuda.Stream(g.device)
        side.wait_stream(torch.cuda.current_stream(g.device))
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(2):
                self._block()
        torch.cuda.current_stream(g.device).wait_stream(side)
        st.load_kv(saved)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            self._block()
        st.load_kv(saved)
        g.kv = st.kv
        self.graph = graph

    def next_block(self, extras: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        g = self.gen
        if not g.steady:
            return g.next_block(extras)
        cross, global_vec = g.cross_kv(), g.global_vec
        if self._st is None or (self.use_graph and self.graph is None) or not self._st.fits(g, cross, global_vec):
            self.capture()
        st = self._st
        if st.scale is not None:
            st.scale.fill_(g.sampler.cfg)
        if global_vec is not None:
            st.global_vec.copy_(global_vec)
        if st.cross_version != g.conditions_version:
            st.load_cross(cross)
            st.cross_version = g.conditions_version
        if g.kv is not st.kv:
            st.load_kv(g.kv)
            g.kv = st.kv
        extras, target_add = g.begin_block(extras)
        st.target_add.copy_(target_add)
        st.pending_add.copy_(g.pending_input_add())
        if st.noise is not None:
            st.noise.copy_(g.draw_noise(), non_blocking=False)
        if self.use_graph:
            self.graph.replay()
        else:
            with torch.inference_mode():
                self._block()
        self.replays += 1
        x0 = st.out.clone()
        g.end_block(x0, extras)
        return x0
