"""StreamingGenerator: block-by-block latent generation with a block-wise KV cache (or without, as the reference).

Typical use (one generator per stream; generators share nothing but the model):

    gen = StreamingGenerator(dit, stream_cfg, sampler_cfg, mode="block_causal", batch=1, seed=0)
    gen.set_conditions(Conditions(tokens, mask))         # prompt; may change between any two blocks
    gen.prime(latents)                                   # optional: audio-primed start from clean latents [B, C, n]
    y = gen.next_block()                                 # [B, C, block] clean latents, committed as context
    gen.substitute(live_latents)                         # optional: replace that block by external clean latents
    y = gen.next_block(extras={"stem": stem_latents})    # extra input-add groups for the target block

The finished block becomes context for the next one. In block-causal mode it is encoded into the cache lazily, by the
fused first step of the NEXT block, so it can still be substituted until `next_block` is called again.

`cached=False` computes the same stream with full masked forward passes: for "bidirectional" (naive outpainting) and
"encdec" over the window [context | target]; for "block_causal" over the whole receptive field of past chunks (each
encoded under the prompt that was active when it entered the cache), which is what the cache reproduces exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .cache import KV, BlockCausalCache, EncDecCache, check_geometry
from .conditions import Conditions, cat
from .config import SamplerConfig, StreamConfig
from .dit import CrossKV, DiT, pack_input_add
from .masks import MODES
from .sampler import Velocity, draw_noise, sample_pingpong


class Rows:
    """The model batch of `members` stacked generators of `batch` rows each. With guidance each member's rows are
    [cond; uncond], member after member, so a member's K/V, cross K/V and global vector stay one contiguous slice
    (batching.py stacks members by concatenation and splits them back the same way)."""

    def __init__(self, members: int, batch: int, guided: bool) -> None:
        self.members, self.batch = members, batch
        self.guided = guided                       # with guidance each row runs twice (cond, uncond)

    def model_batch(self, t: torch.Tensor) -> torch.Tensor:
        """[members*batch, ...] -> the model batch (each member's rows twice with guidance)."""
        if not self.guided:
            return t
        t = t.unflatten(0, (self.members, 1, self.batch))
        return torch.cat([t, t], 1).flatten(0, 2)

    def output(self, v: torch.Tensor) -> torch.Tensor:
        """Model-batch velocities -> the sampler's layout: with guidance [cond of every member; uncond of every
        member] (sampler.step guides, plain or CFG++, with the members' shared SamplerConfig)."""
        if not self.guided:
            return v
        return v.unflatten(0, (self.members, 2, self.batch)).transpose(0, 1).flatten(0, 2)


@dataclass
class BlockInputs:
    """What one block's cached passes read besides the caches, for one generator (`StreamingGenerator.block_inputs`)
    or several stacked (batching.py). The graphed engine (graphs.py) passes its static buffers in the same fields."""

    target_add: torch.Tensor            # [N*B, ΣC, block] the target's input-add (generator rows)
    pending_add: torch.Tensor | None    # block-causal: the pending clean chunks' input-add [N*B, ΣC, n*block]
    cross: CrossKV                      # the current prompt's cross-attention K/V (model-batch rows)
    global_vec: torch.Tensor | None     # the current prompt's global vector (model-batch rows)
    rows: Rows


@dataclass
class _Chunk:
    input_add: torch.Tensor     # [B, ΣC, block]: inpaint mask + masked clean latents + extra groups
    latents: torch.Tensor       # [B, C, block]
    extras: dict[str, torch.Tensor]
    cond: int | None = None     # id of the conditions it was encoded under (set by the next block)


class StreamingGenerator:
    """Owns one stream's state: history of clean chunks, KV caches, conditions and noise generator."""

    def __init__(self, model: DiT, stream: StreamConfig, sampler: SamplerConfig | None = None,
                 mode: str | None = None, cached: bool = True, batch: int = 1, seed: int = 0) -> None:
        self.model, self.stream = model, stream
        self.sampler = sampler or SamplerConfig()
        self.mode = mode or stream.attention
        if self.mode not in MODES:
            raise ValueError(f"unknown attention mode {self.mode!r}; choose from {MODES}")
        if cached and self.mode == "bidirectional":
            raise ValueError("bidirectional attention (naive outpainting) cannot be cached; use cached=False")
        check_geometry(stream)
        cfg = model.cfg
        if cfg.input_adds.get("context") != cfg.io_channels + 1:
            raise ValueError(f"streaming needs an input-add group 'context' of {cfg.io_channels + 1} channels")
        self.cached, self.batch = cached, batch
        p = next(model.parameters())
        self.device, self.dtype = p.device, p.dtype
        self.n_ctx = stream.context // stream.block
        # past chunks that can still influence the target (each layer reaches window_chunks-1 chunks back)
        self.capacity = max(self.n_ctx, cfg.depth * (stream.window_chunks - 1))
        self.guidance = self.sampler.cfg != 1.0
        self._conds: dict[int, Conditions] = {}
        self._cond_id = -1
        self._cross: CrossKV | None = None
        self._bc = BlockCausalCache(model, stream)
        self._ed = EncDecCache(model, stream)
        self.set_conditions(Conditions.empty(batch, cfg, self.device, self.dtype))
        self.reset(seed)

    # ----- public API -----

    def reset(self, seed: int | None = None) -> None:
        """Forget history and caches (an empty context), restart the noise from `seed` (default: the last seed).
        The conditions are kept."""
        if seed is not None:
            self.seed = seed
        self._noise = torch.Generator().manual_seed(self.seed)
        self.prime(torch.zeros(self.batch, self.model.cfg.io_channels, 0))

    def set_conditions(self, cond: Conditions) -> None:
        """New prompt from the next block on; invalidates the cached cross-attention K/V."""
        cond.check(self.model.cfg, self.batch)
        cond = cond.to(self.device, self.dtype)
        self._cond_id += 1
        self._conds[self._cond_id] = cat(cond, cond.null()) if self.guidance else cond
        self._cross = None
        self._drop_unused_conditions()

    def prime(self, latents: torch.Tensor) -> None:
        """Start from clean context latents [B, C, n] (the newest last); missing context is empty (mask 0)."""
        b, c, n = latents.shape
        if b != self.batch or c != self.model.cfg.io_channels:
            raise ValueError(f"prime latents must be [{self.batch}, {self.model.cfg.io_channels}, n], "
                             f"got {tuple(latents.shape)}")
        if not torch.isfinite(latents).all():
            raise ValueError("prime latents contain NaN or inf")
        blk = self.stream.block
        n_chunks = max(self.n_ctx, -(-n // blk))
        lat = torch.zeros(b, c, n_chunks * blk, device=self.device, dtype=self.dtype)
        flag = torch.zeros(b, 1, n_chunks * blk, device=self.device, dtype=self.dtype)
        if n:
            lat[..., -n:] = latents.to(self.device, self.dtype)
            flag[..., -n:] = 1
        self._history = [self._chunk(lat[..., i * blk:(i + 1) * blk], flag[..., i * blk:(i + 1) * blk], {})
                         for i in range(n_chunks)][-self.capacity:]
        self._pending = len(self._history)
        self._bc.clear()
        self._ed.clear()

    @torch.inference_mode()
    def next_block(self, extras: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Generate the next block [B, C, block] under the current conditions and commit it as context.

        extras: per-frame input-add groups for the target block, name -> [B, channels, block] (e.g. "stem",
        "curves" when the model config has them); missing groups are zeros.
        """
        extras, target_add = self.begin_block(extras)
        velocity = self.velocity(self.block_inputs(target_add)) if self.cached else self._full_velocity(target_add)
        x0 = sample_pingpong(velocity, self.block_shape, self.sampler.steps, self._noise, self.device,
                             self.dtype, self.sampler)
        self.end_block(x0, extras)
        return x0

    def substitute(self, latents: torch.Tensor) -> None:
        """Replace the newest chunk of context (the block just generated) by external clean latents [B, C, block],
        e.g. the musician's own playing for the generative delay. Call it before the next `next_block`: that call
        is the one that encodes the chunk (in every mode the newest chunk is still pending until then)."""
        last = self._history[-1]
        self._history[-1] = self._chunk(self._checked(latents), torch.ones_like(last.input_add[:, :1]), last.extras)
        self._history[-1].cond = last.cond

    def append(self, latents: torch.Tensor, extras: dict[str, torch.Tensor] | None = None) -> None:
        """Add an external clean chunk [B, C, block] to the context without generating (the stream moves on)."""
        self._commit(self._checked(latents), self._check_extras(extras or {}))

    @property
    def context(self) -> torch.Tensor:
        """The current context latents [B, C, context] (zeros where empty)."""
        return torch.cat([ch.latents for ch in self._history[-self.n_ctx:]], dim=2)

    @property
    def block_shape(self) -> tuple[int, int, int]:
        return (self.batch, self.model.cfg.io_channels, self.stream.block)

    # ----- one block in pieces: what the graphed engine (graphs.py) and batching (batching.py) drive -----
    # next_block = begin_block -> velocity(block_inputs(...)) sampled with draw_noise() -> end_block

    @property
    def pending(self) -> int:
        """Chunks of context not yet encoded into the cache (the next block's fused first step encodes them)."""
        return self._pending

    @property
    def steady(self) -> bool:
        """One pending chunk and a filled block-causal cache: every block from here on has the same tensor shapes."""
        return self.cached and self.mode == "block_causal" and self._pending == 1 and self._bc.kv is not None

    @property
    def kv(self) -> KV | None:
        """The block-causal cache's K/V per layer ([model batch, H, (window_chunks-1)*block, D]), None when empty.
        Settable: the graphed engine keeps it in static buffers, batching in slices of the stacked batch."""
        return self._bc.kv

    @kv.setter
    def kv(self, value: KV | None) -> None:
        self._bc.kv = value

    @property
    def conditions_version(self) -> int:
        """Changes with every `set_conditions`: a cross K/V copied for an older version is stale."""
        return self._cond_id

    @property
    def global_vec(self) -> torch.Tensor | None:
        """The current prompt's global vector in model-batch rows (None for a model without one)."""
        return self._conds[self._cond_id].global_vec

    @property
    def rows(self) -> Rows:
        """This generator's model batch (its rows, twice with guidance)."""
        return Rows(1, self.batch, self.guidance)

    def cross_kv(self) -> CrossKV:
        """The current prompt's cross-attention K/V (model-batch rows), computed once per prompt."""
        if self._cross is None:
            self._cross = self.model.cross_cache(self._conds[self._cond_id])
        return self._cross

    def draw_noise(self) -> torch.Tensor:
        """The next block's noise [steps, B, C, block] (float32, CPU) from the stream's generator: exactly the draws
        `next_block` would make, so a block sampled with it continues this stream."""
        return draw_noise(self.block_shape, self.sampler.steps, self._noise)

    def pending_input_add(self) -> torch.Tensor:
        """The pending chunks' input-add [B, ΣC, pending*block] (what the fused first step encodes)."""
        return torch.cat([ch.input_add for ch in self._history[len(self._history) - self._pending:]], 2)

    def begin_block(self, extras: dict[str, torch.Tensor] | None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Checked extras and the target's input-add [B, ΣC, block]; the pending chunks are tagged with the current
        prompt (they are encoded under it)."""
        extras = self._check_extras(extras or {})
        for ch in self._history:
            if ch.cond is None:
                ch.cond = self._cond_id
        b, c, blk = self.block_shape
        zeros = torch.zeros(b, 1, blk, device=self.device, dtype=self.dtype)
        return extras, pack_input_add(self.model.cfg, zeros, zeros.expand(-1, c, -1), extras)

    def block_inputs(self, target_add: torch.Tensor) -> BlockInputs:
        """This generator's inputs for a cached block (after `begin_block`)."""
        pending = self.pending_input_add() if self.mode == "block_causal" and self._pending else None
        return BlockInputs(target_add, pending, self.cross_kv(), self.global_vec, self.rows)

    def velocity(self, inputs: BlockInputs, cache: BlockCausalCache | None = None) -> Velocity:
        """velocity(x, t, step) of the cached engine over `inputs`; `cache` (default this generator's) holds the
        block-causal K/V the passes read and update (batching.py passes one holding the stacked members' K/V)."""
        blk, model, rows, cross = self.stream.block, self.model, inputs.rows, inputs.cross
        bc = self._bc if cache is None else cache

        def velocity(x: torch.Tensor, t: float, step: int) -> torch.Tensor:
            xb = rows.model_batch(x)
            tt = torch.full((xb.shape[0],), t, device=self.device, dtype=self.dtype)
            h_t = torch.cat([model.embed(xb, rows.model_batch(inputs.target_add)),
                             model.global_token(tt, inputs.global_vec)], dim=1)
            if self.mode == "block_causal" and step == 0:
                add = rows.model_batch(inputs.pending_add)
                h_p = model.embed(torch.zeros_like(add[:, :model.cfg.io_channels]), add)
                h = bc.fused_step(h_p, add.shape[2] // blk, h_t, cross)
            elif self.mode == "block_causal":
                h = bc.step(h_t, cross)
            else:
                if step == 0:
                    add = rows.model_batch(torch.cat([ch.input_add for ch in self._history[-self.n_ctx:]], dim=2))
                    self._ed.encode(model.embed(torch.zeros_like(add[:, :model.cfg.io_channels]), add), cross)
                h = self._ed.step(h_t, cross)
            return rows.output(model.head(h[:, :blk]))

        return velocity

    def batch_cache(self) -> BlockCausalCache:
        """An empty block-causal cache of this geometry sharing this one's layouts and masks: batching.py holds the
        stacked members' K/V in it and passes it to `velocity`."""
        return self._bc.sibling()

    def end_block(self, x0: torch.Tensor, extras: dict[str, torch.Tensor]) -> None:
        """Commit the finished block [B, C, block] as the newest (pending) context chunk."""
        self._pending = 0
        self._commit(x0, extras)

    # ----- internals -----

    def _checked(self, latents: torch.Tensor) -> torch.Tensor:
        want = (self.batch, self.model.cfg.io_channels, self.stream.block)
        if tuple(latents.shape) != want:
            raise ValueError(f"latents must be {list(want)}, got {list(latents.shape)}")
        if not torch.isfinite(latents).all():
            raise ValueError("latents contain NaN or inf")
        return latents.to(self.device, self.dtype)

    def _check_extras(self, extras: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        groups = self.model.cfg.input_adds
        out = {}
        for name, value in extras.items():
            if name == "context" or name not in groups:
                raise ValueError(f"unknown input-add group {name!r}; the model has {sorted(set(groups) - {'context'})}")
            want = (self.batch, groups[name], self.stream.block)
            if tuple(value.shape) != want:
                raise ValueError(f"input-add group {name!r} must be {list(want)}, got {list(value.shape)}")
            out[name] = value.to(self.device, self.dtype)
        return out

    def _chunk(self, latents: torch.Tensor, flag: torch.Tensor, extras: dict[str, torch.Tensor]) -> _Chunk:
        return _Chunk(pack_input_add(self.model.cfg, flag, latents, extras), latents, extras)

    def _commit(self, latents: torch.Tensor, extras: dict[str, torch.Tensor]) -> None:
        self._history.append(self._chunk(latents, torch.ones_like(latents[:, :1]), extras))
        self._history = self._history[-self.capacity:]
        self._pending = min(self._pending + 1, len(self._history))
        self._drop_unused_conditions()

    def _drop_unused_conditions(self) -> None:
        used = {ch.cond for ch in getattr(self, "_history", [])} | {self._cond_id}
        for k in [k for k in self._conds if k not in used]:
            del self._conds[k]

    def _full_velocity(self, target_add: torch.Tensor):
        s, model = self.stream, self.model
        chunks = self._history if self.mode == "block_causal" else self._history[-self.n_ctx:]
        rows = self.rows
        add = rows.model_batch(torch.cat([ch.input_add for ch in chunks] + [target_add], dim=2))
        n_hist = len(chunks) * s.block
        cond = self._conds[self._cond_id]
        # per-chunk prompts: a chunk is encoded under the prompt active when it entered the context
        ids = [ch.cond for ch in chunks] if self.mode == "block_causal" else [self._cond_id] * len(chunks)
        segments: list[tuple[int | None, int]] = []        # (tokens, condition id); None = the rest
        for cid in ids:
            if segments and segments[-1][1] == cid:
                segments[-1] = (segments[-1][0] + s.block, cid)
            else:
                segments.append((s.block, cid))
        if segments and segments[-1][1] == self._cond_id:
            segments[-1] = (None, self._cond_id)
        else:
            segments.append((None, self._cond_id))
        cross = [(n, model.cross_cache(self._conds[cid])) for n, cid in segments]

        def velocity(x: torch.Tensor, t: float, step: int) -> torch.Tensor:
            xb = rows.model_batch(x)
            x_full = torch.cat([xb.new_zeros(xb.shape[0], xb.shape[1], n_hist), xb], dim=2)
            tt = torch.full((cond.batch,), t, device=self.device, dtype=self.dtype)
            v = model(x_full, tt, cond, add, mode=self.mode, block=s.block, window_chunks=s.window_chunks,
                      window=s.window, cross=cross)
            return rows.output(v[:, :, -s.block:])

        return velocity
