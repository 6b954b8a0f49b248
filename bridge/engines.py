"""Engines: what turns a stream's input into its wet output, at the client's rate.

An engine opens one `EngineStream` per session. A stream takes input with `feed` and hands back output with `step`;
output sample k is aligned with input sample k (the session places it `latency` samples later). `step` computes at most
one block, so the session can compute lazily (never beyond what was requested).

- `LoopbackEngine`: output = input, rate-agnostic, `block` frames at the client's rate, latency = block exactly.
- `ModelEngine`: an lmdm_core `AudioStream` at the model's rate in blocks of `block_samples`, with soxr streams
  between the client's rate and the model's; latency = one block + resampler lookahead + a compute margin.
  `step_together` computes the next block of several of its streams at once: their generators share model batches
  (lmdm_core/batching.py), and each stream's next `step` hands its block out. On CUDA (`Speed`, `lmdm serve
  --graphs`, the default there) every steady block runs in fixed slots replaying one CUDA graph per batch bucket
  (lmdm_core/slots.py), a block alone included (bucket 1); bootstrap blocks after a start or reset run eagerly.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from bridge import margin
from lmdm_core.modes import MODES

if TYPE_CHECKING:  # torch loads with the first model engine, not with the loopback worker
    from lmdm_core.pipeline import AudioStream

log = logging.getLogger("lmdm.engine")


def map_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """(n, c) -> (n, channels): equal counts pass, down-mixing averages, up-mixing repeats channels in turn."""
    have = x.shape[1]
    if have == channels:
        return x
    if channels == 1:
        return x.mean(axis=1, keepdims=True, dtype=np.float32)
    return x[:, [i % have for i in range(channels)]]


class EngineStream(Protocol):
    """One session's engine state. Positions and counts are client samples at the client's rate."""

    block: int           # frames one step computes
    latency: int         # from an input sample to its output sample
    compute_ms: float    # the last step's compute time
    batch: int           # streams that shared the last step's model batch (1: computed alone)

    @property
    def recoveries(self) -> int:
        """Times the stream's state went bad and was started afresh."""

    def feed(self, x: np.ndarray) -> None:
        """Input (frames, channels), contiguous with what was fed before."""

    def step(self) -> np.ndarray | None:
        """At most one block of output (frames, out_channels) aligned with the input; None until enough input."""

    def needs_input(self, mode: str) -> bool:
        """False for modes that generate from the prompt alone: the session then feeds silence on request."""

    def set_param(self, name: str, value: Any) -> tuple[Any, list[str] | None]:
        """Apply a validated parameter; returns (applied value, prompt words understood or None); ParamError when
        the engine cannot do it."""

    def restart(self) -> None:
        """Drop buffered input and output (a discontinuity); model state is kept."""

    def reset(self) -> None:
        """restart(), and the model state forgotten too."""


class Engine(Protocol):
    name: str
    kind: str                   # "loopback" | "model"
    modes: tuple[str, ...]      # the stream modes it runs
    block_sizes: tuple[str, ...]  # the block sizes it streams: "long", and "short" where the model was trained for it

    def info(self, rate: int) -> dict[str, Any]:
        """The `model` field of `welcome` (docs/protocol.md)."""

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0,
             block_size: str = "long") -> EngineStream:
        """A new stream at the client's rate and channel counts, in blocks of that size."""


class LoopbackStream:
    """Output = input, one block later; every parameter is stored and acknowledged (EngineStream)."""

    recoveries = 0
    batch = 1

    def __init__(self, block: int, out_channels: int):
        self.block = self.latency = block
        self.compute_ms = 0.0
        self.out_channels = out_channels
        self.pending: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        self.pending.append(x)

    def step(self) -> np.ndarray | None:
        if not self.pending:
            return None
        t0 = time.perf_counter()
        x = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        self.pending = []
        y = map_channels(x, self.out_channels)
        self.compute_ms = (time.perf_counter() - t0) * 1e3
        return y

    def needs_input(self, mode: str) -> bool:
        return True  # the loopback is a one-block delay in every mode

    def set_param(self, name: str, value: Any) -> tuple[Any, list[str] | None]:
        return value, ([] if name in ("prompt", "prompt_b") else None)

    def restart(self) -> None:
        self.pending = []

    def reset(self) -> None:
        self.restart()


class LoopbackEngine:
    """Input back, delayed by exactly one block: for checking routing, and for tests (Engine)."""

    name = "loopback"
    kind = "loopback"
    modes = tuple(MODES)
    block_sizes = ("long", "short")   # short: a quarter of the block, for checking a short-block patch's routing

    def __init__(self, block: int = 4096):
        if not 1 <= block <= 65536:
            raise ValueError("loopback block must be 1..65536 frames")
        self.block = block

    def info(self, rate: int) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sample_rate": rate, "channels": 0,
                "block_sizes": list(self.block_sizes)}

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0,
             block_size: str = "long") -> LoopbackStream:
        return LoopbackStream(self.block if block_size == "long" else max(1, self.block // 4), out_channels)


class ModelStream:
    """An AudioStream behind two soxr streams (EngineStream): rates, channel counts and the decoder's alignment
    here; everything a mode does to the audio, and the model state's health, in the AudioStream."""

    def __init__(self, audio: AudioStream, rate: int, channels: int, out_channels: int, margin_ms: float,
                 together: Callable[[list["ModelStream"]], None] | None = None):
        import soxr

        self._together = together   # the graphed engine: a block alone is a batch of one (its bucket-1 graph)
        self._soxr = soxr
        self.audio = audio
        self.rate, self.in_channels, self.out_channels = rate, channels, out_channels
        self.sr, self.mch, self.bm = audio.sample_rate, audio.channels, audio.block_samples
        self.resampling = rate != self.sr
        # The decoder's lookahead delays the model's output; dropping that many samples at the start aligns the wet
        # output with the input again (y[k] belongs to x[k]), at the price of computing that much further ahead.
        self.dec_latency = audio.decoder_latency
        lookahead = 1024 if self.resampling else 0  # soxr HQ filter delay, both directions, with room to spare
        self.block = math.ceil((self.bm + self.dec_latency) * rate / self.sr) + lookahead
        self.latency = self.block + int(round(margin_ms * rate / 1000.0))
        self.compute_ms = 0.0
        self.batch = 1
        self.resampler_recoveries = 0  # the input resampler was fed a wild sample and started afresh
        self.restart()

    @property
    def recoveries(self) -> int:
        return self.resampler_recoveries + self.audio.recoveries

    def restart(self) -> None:
        if self.resampling:
            self.rs_in = self._soxr.ResampleStream(self.rate, self.sr, self.mch, dtype="float32", quality="HQ")
            self.rs_out = self._soxr.ResampleStream(self.sr, self.rate, self.mch, dtype="float32", quality="HQ")
        self.buf = np.zeros((0, self.mch), np.float32)  # model-rate input not yet processed
        self.done: np.ndarray | None = None             # a block step_together computed, for the next step
        self.skip = self.dec_latency
        self.audio.forget_feedback()

    def reset(self) -> None:
        self.audio.reset()
        self.restart()

    def needs_input(self, mode: str) -> bool:
        return MODES[mode].needs_input

    def feed(self, x: np.ndarray) -> None:
        x = map_channels(x, self.mch)
        if self.resampling:
            x = self.rs_in.resample_chunk(np.ascontiguousarray(x, dtype=np.float32))
            if not np.isfinite(x).all():  # a resampler fed a wild sample keeps it in its state: start it afresh
                self.resampler_recoveries += 1
                self.rs_in = self._soxr.ResampleStream(self.rate, self.sr, self.mch, dtype="float32", quality="HQ")
                x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if len(x):
            self.buf = np.concatenate([self.buf, x.astype(np.float32, copy=False)])

    def block_ready(self) -> bool:
        """A step would compute a block now (a whole block of input is here and none waits computed)."""
        return self.done is None and len(self.buf) >= self.bm

    def take_block(self) -> np.ndarray:
        """The next model-rate input block (channels, block_samples), removed from the buffer."""
        block, self.buf = self.buf[:self.bm], self.buf[self.bm:]
        return np.ascontiguousarray(block.T)

    def step(self) -> np.ndarray | None:
        if self.done is not None:
            out, self.done = self.done, None
            return out
        if len(self.buf) < self.bm:
            return None
        if self._together is not None:
            self._together([self])
            out, self.done = self.done, None
            return out
        t0 = time.perf_counter()
        wet = self.audio.process(self.take_block())
        self.compute_ms, self.batch = (time.perf_counter() - t0) * 1e3, 1
        return self.finish(wet)

    def finish(self, wet: np.ndarray) -> np.ndarray:
        """A model-rate wet block (channels, samples) -> client-rate output frames, aligned with the input."""
        wet = wet.T
        if self.skip:
            cut = min(self.skip, len(wet))
            wet, self.skip = wet[cut:], self.skip - cut
        if self.resampling:
            wet = self.rs_out.resample_chunk(np.ascontiguousarray(wet))
        return map_channels(wet, self.out_channels)

    def set_param(self, name: str, value: Any) -> tuple[Any, list[str] | None]:
        applied = self.audio.apply(name, value)
        return applied, (self.audio.understood if name in ("prompt", "prompt_b") else None)


@dataclass
class Speed:
    """How a model engine computes (`lmdm serve --graphs/--no-graphs --dtype --noise --slots`).

    graphs: the graphed engine (lmdm_core/slots.py: fixed slots, one CUDA graph per batch bucket) for every steady
    block; None = on for CUDA devices, off elsewhere. graph=False with `pooled` runs the same slot bookkeeping eagerly
    (any device; the tests use it). noise: "host" draws each stream's noise from its own seeded generator (the eager
    engine's stream exactly), "device" inside the graph (no host work, not the eager stream). slots: sessions the
    slot buffers hold before they grow (growing moves them and recaptures the graphs once)."""

    graphs: bool | None = None
    dtype: str = "fp32"
    noise: str = "host"
    slots: int = 64
    pooled: bool = False
    batch_decoder: bool | None = None   # decode every stream of a step in one batch (lmdm_core/decoding.py's
                                        # BatchDecoder); None = with the graphed engine

    def check(self, device: str) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.noise not in ("host", "device"):
            raise ValueError(f"noise must be host or device, got {self.noise!r}")
        if self.graphs and not str(device).startswith("cuda"):
            raise ValueError(f"CUDA graphs need a CUDA device, not {device!r} (use --no-graphs)")
        if self.noise == "device" and not self.graphed(device):
            raise ValueError("noise from the device needs the graphed engine (CUDA)")

    def graphed(self, device: str) -> bool:
        return self.graphs if self.graphs is not None else str(device).startswith("cuda")

    def tag(self, device: str) -> str:
        """Part of the compute-margin cache key (margin.py) when not the plain eager fp32 engine."""
        if not self.graphed(device) and self.dtype == "fp32":
            return ""
        return f"|dtype={self.dtype}|graphs={int(self.graphed(device))}|noise={self.noise}"


DTYPES = {"fp32": "float32", "bf16": "bfloat16"}
RANDOM = "random:"   # `--model random:PRESET`: a model of a bench preset's shapes with seeded random weights


def load_random(preset: str, device: str, dtype: Any):
    """A LoadedModel of a `lmdm bench model` preset's shapes (DiT, stream, autoencoder) with seeded random weights
    and the word encoder, for benchmarks at full size (e.g. random:saos-small: the SAOS-size DiT and Oobleck)."""
    import torch

    from lmdm_core.bench import PAIRS
    from lmdm_core.config import SamplerConfig, TextConfig, autoencoder_preset, dit_preset, stream_preset
    from lmdm_core.pipeline import build_model
    from lmdm_core.text import DEFAULT_VOCAB

    if preset not in PAIRS:
        raise ValueError(f"unknown preset {preset!r} for {RANDOM}PRESET; choose from {sorted(PAIRS)}")
    dit = dit_preset(preset)
    dit.global_cond_dim = 0          # no number conditioners here: the word encoder gives tokens only
    stream, ae = PAIRS[preset]
    configs = {"dit": dit, "stream": stream_preset(stream), "sampler": SamplerConfig(),
               "autoencoder": autoencoder_preset(ae),
               "text": TextConfig(dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, vocab=list(DEFAULT_VOCAB))}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = build_model(configs, f"{RANDOM}{preset} (untrained)", {"trained": False})
    for mod in m.modules().values():
        mod.to(device=device, dtype=dtype).eval().requires_grad_(False)
    return m


class _Probe:
    """An AudioStream whose blocks go through the engine's own path (graphed where it serves graphed), so the compute
    margin is measured on what serving runs."""

    def __init__(self, engine: "ModelEngine", audio: AudioStream):
        self.engine, self.audio = engine, audio

    def __getattr__(self, name: str) -> Any:
        return getattr(self.audio, name)

    def process(self, block_in: np.ndarray) -> np.ndarray:
        prepared = self.audio.prepare(block_in)
        return self.audio.complete(prepared, self.engine.latents([self.audio.gen], [prepared.extras])[0])


class _DecoderSlot:
    """An AudioStream's decoder (push / reset / latency) over one slot of the engine's BatchDecoder: `push` hands out
    the block the step's batched decode already made for this stream (`ready`), else decodes it alone."""

    def __init__(self, dec: Any, slot: int):
        self.dec, self.slot = dec, slot
        self.ready: Any = None

    @property
    def latency(self) -> int:
        return self.dec.latency

    def reset(self) -> None:
        self.ready = None
        self.dec.reset([self.slot])

    def push(self, z: Any) -> Any:
        out, self.ready = self.ready, None
        return self.dec.decode([self.slot], z) if out is None else out


class ModelEngine:
    """A checkpoint (or the embedded default, or `random:PRESET`) loaded through lmdm_core.pipeline (Engine)."""

    kind = "model"

    def __init__(self, path: str | None, device: str = "cpu", margin_ms: float | None = None,
                 t5: str | None = None, speed: Speed | None = None):
        import torch

        from lmdm_core.pipeline import load_model

        self.speed = speed or Speed()
        self.speed.check(device)
        self.device = str(device)
        dtype = getattr(torch, DTYPES[self.speed.dtype])
        if path is not None and path.startswith(RANDOM):
            self.model = load_random(path[len(RANDOM):], device, dtype)
        else:
            self.model = load_model(path, device=device, t5=t5, dtype=dtype)
        self.graphed = self.speed.graphed(device)
        self.pools: dict[tuple, Any] = {}          # slot_key -> SlotPool (graphed or pooled)
        want = self.speed.batch_decoder
        self.batch_decoder = bool(want or (want is None and self.graphed))
        self.decoders: dict[str, Any] = {}         # block size -> BatchDecoder
        self._free_rows: dict[str, list[int]] = {}
        self.last_model_ms = self.last_decode_ms = 0.0
        self.last_gpu_ms: float | None = None
        self.name = str(self.model.source)
        self.untrained = self.model.meta.get("trained", True) is False
        self.modes = self.model.modes
        self.block_sizes = tuple(self.model.block_sizes)
        self.sample_rate, self.channels = self.model.autoencoder.sample_rate, self.model.autoencoder.audio_channels
        key = margin.model_key(self.name, str(device)) + self.speed.tag(device)
        self.margin_keys = {b: key if b == "long" else f"{key}|block_size={b}" for b in self.block_sizes}
        # Measured in delay mode (it encodes, generates and decodes), or read from the cache, at start for every block
        # size, and fixed for the engine's life, so a session's latency never changes under it.
        self.margins_ms = {b: margin.calibrated(_Probe(self, self.open_audio(block_size=b)), k).margin_ms
                           if margin_ms is None else margin_ms for b, k in self.margin_keys.items()}

    def info(self, rate: int) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sample_rate": self.sample_rate, "channels": self.channels,
                "block_sizes": list(self.block_sizes)}

    @property
    def sloted(self) -> bool:
        return self.graphed or self.speed.pooled

    def _key(self, gen: Any) -> tuple | None:
        """The slot key a generator's next block runs under, or None where it runs eagerly."""
        from lmdm_core.slots import slot_key

        return slot_key(gen) if self.sloted and gen.steady else None

    def _pool(self, gen: Any, key: tuple | None) -> Any:
        """The slot pool of a steady generator's key (made from the first one of it), or None for no key."""
        from lmdm_core.slots import SlotPool

        if key is None:
            return None
        if key not in self.pools:
            self.pools[key] = SlotPool(gen, capacity=self.speed.slots, noise=self.speed.noise, graph=self.graphed)
        return self.pools[key]

    def prepare(self, batch: int, block_size: str = "long") -> None:
        """Graphed engine: capture the bucket graphs up to `batch` sessions now (for the model's default settings at
        this block size), so no session waits for a capture while others stream."""
        from lmdm_core.slots import buckets_for

        if not self.graphed:
            return
        probe = self.open_audio(block_size=block_size)
        x = np.zeros((probe.channels, probe.block_samples), np.float32)
        while not probe.gen.steady:
            probe.process(x)
        pool = self._pool(probe.gen, self._key(probe.gen))
        sizes = {b for n in range(1, batch + 1) for b in buckets_for(n, pool.largest)}   # every bucket a step can use
        pool.capture(sorted(sizes))
        log.info("graphed engine (%s blocks): buckets %s captured, %d slots", block_size, sorted(sizes), pool.capacity)
        dec = self._decoder(block_size)
        if dec is not None:
            dec.warm(sorted(sizes), probe.stream.block)
            log.info("batched decoder (%s blocks): %d slots, warmed", block_size, dec.slots)

    def latents(self, gens: list, extras: list, keys: list | None = None) -> list:
        """The next block of each generator: steady ones in their slot pool's bucket graphs (graphed engine), the
        rest batched eagerly (lmdm_core/batching.py) as far as their states match. `keys`: each one's `_key`, where
        the caller has them."""
        from lmdm_core.batching import next_blocks

        keys = keys if keys is not None else [self._key(g) for g in gens]
        out: list = [None] * len(gens)
        by_pool: dict[int, tuple[Any, list[int]]] = {}
        rest: list[int] = []
        for i, (g, key) in enumerate(zip(gens, keys)):
            pool = self._pool(g, key)
            if pool is None:
                rest.append(i)
            else:
                by_pool.setdefault(id(pool), (pool, []))[1].append(i)
        for pool, idx in by_pool.values():
            zs = pool.step([gens[i] for i in idx], [extras[i] for i in idx], [keys[i] for i in idx])
            for i, z in zip(idx, zs):
                out[i] = z
        if rest:
            for i, z in zip(rest, next_blocks([gens[i] for i in rest], [extras[i] for i in rest])):
                out[i] = z
        return out

    def _sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch
            torch.cuda.synchronize()

    def step_together(self, streams: list[ModelStream]) -> None:
        """The next block of each stream (each `block_ready`), with generators in matching states sharing one model
        batch; each stream's next `step` returns its block. compute_ms: the batch's model time plus the stream's own
        encoding and decoding; batch: the streams that shared its model batch. What can be done for the whole step
        at once is: one copy of the inputs to the device, one finiteness check of the latents, one copy of the decoded
        audio back with its checks, so no stream waits on the device by itself."""
        from lmdm_core.pipeline import prepare_all

        t0 = time.perf_counter()
        prepared = prepare_all([s.audio for s in streams], [s.take_block() for s in streams])
        own = [(time.perf_counter() - t0) * 1e3 / len(streams)] * len(streams)
        gens = [s.audio.gen for s in streams]
        keys = [self._key(g) for g in gens]
        shared = self._shared(gens, keys)
        t1 = time.perf_counter()
        zs = self.latents(gens, [p.extras for p in prepared], keys)
        self._sync()        # the GPU's work is asynchronous: model time is counted when it is done
        model_ms = (time.perf_counter() - t1) * 1e3
        self.last_model_ms = model_ms
        gpu = [ms for ms in (p.gpu_ms() for p in self.pools.values()) if ms is not None]
        self.last_gpu_ms = sum(gpu) if gpu else None   # the bucket graphs' own device time (CUDA events)
        t2 = time.perf_counter()
        finite = _finite(zs)
        peaks = self._decode_together(streams, zs, finite)
        self.last_decode_ms = decode_ms = (time.perf_counter() - t2) * 1e3
        for i, z in enumerate(zs):
            s, t3 = streams[i], time.perf_counter()
            # a batched decoder's block is `ready` for it, measured (peak) with the batch
            s.done = s.finish(s.audio.complete(prepared[i], z, finite=finite[i], peak=peaks[i]))
            s.compute_ms = model_ms + decode_ms + own[i] + (time.perf_counter() - t3) * 1e3
            s.batch = shared[i]

    def _decode_together(self, streams: list[ModelStream], zs: list, finite: list[bool]) -> list[float | None]:
        """Streams on a batched decoder: this step's blocks decoded in one call per decoder, each stream's audio left
        `ready` for its own `complete`. Non-finite latents are decoded as zeros, as `complete` would feed them.
        Returns per stream its audio's peak (`AudioStream.complete`), measured on the device for the whole batch and
        brought back with the audio in one copy; None for a stream decoded by its own decoder."""
        import torch

        peaks: list[float | None] = [None] * len(streams)
        by_dec: dict[int, tuple[Any, list[int]]] = {}
        for i, s in enumerate(streams):
            d = s.audio.dec
            if isinstance(d, _DecoderSlot):
                by_dec.setdefault(id(d.dec), (d.dec, []))[1].append(i)
        for dec, idx in by_dec.values():
            with torch.inference_mode():
                z = torch.cat([zs[i] for i in idx])
                if not all(finite[i] for i in idx):
                    ok = torch.tensor([finite[i] for i in idx], device=z.device)
                    z = torch.where(ok[:, None, None], z, torch.zeros_like(z))
                audio = dec.decode([streams[i].audio.dec.slot for i in idx], z).float()
                lo, hi = audio.flatten(1).aminmax(dim=1)     # NaN where a row has one (documented)
                peak = torch.maximum(hi, -lo)
                peak = torch.where(torch.isfinite(peak), peak, torch.nan)   # an inf is not finite either
                audio, peak = audio.cpu(), peak.tolist()
            for j, i in enumerate(idx):
                streams[i].audio.dec.ready = audio[j:j + 1]
                peaks[i] = peak[j]
        return peaks

    def _decoder(self, block_size: str) -> Any:
        """The batched decoder of this block size (made on first use), or None."""
        if not self.batch_decoder:
            return None
        if block_size not in self.decoders:
            from lmdm_core.decoding import BatchDecoder

            self.decoders[block_size] = BatchDecoder(
                self.model.autoencoder, slots=self.speed.slots, lookahead=self.model.decoder_lookahead(block_size))
            self._free_rows[block_size] = list(range(self.speed.slots - 1, -1, -1))
        return self.decoders[block_size]

    def _attach_decoder(self, audio: AudioStream, block_size: str) -> None:
        """Give a session's AudioStream a slot of the batched decoder (while one is free); freed with the stream."""
        import weakref

        dec = self._decoder(block_size)
        free = self._free_rows.get(block_size)
        if dec is None or not free:
            return
        slot = free.pop()
        dec.reset([slot])
        audio.dec = _DecoderSlot(dec, slot)
        weakref.finalize(audio, free.append, slot)

    def _shared(self, gens: list, keys: list) -> list[int]:
        """Per generator: how many of `gens` share its model batch (its slot pool's, or its eager group's);
        `keys`: each one's `_key`."""
        from lmdm_core.batching import groups

        counts: dict[Any, int] = {}
        for key in keys:
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
        out = [counts[k] if k is not None else 0 for k in keys]
        rest = [i for i, k in enumerate(keys) if k is None]
        for idx in groups([gens[i] for i in rest]):
            for j in idx:
                out[rest[j]] = len(idx)
        return out

    def open_audio(self, seed: int = 0, block_size: str = "long") -> AudioStream:
        from lmdm_core.pipeline import AudioStream

        return AudioStream(self.model, seed=seed, block_size=block_size)

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0,
             block_size: str = "long") -> ModelStream:
        audio = self.open_audio(seed, block_size)
        self._attach_decoder(audio, block_size)       # before the stream reads the decoder's latency
        return ModelStream(audio, rate, channels, out_channels, self.margins_ms[block_size],
                           self.step_together if self.sloted or self.decoders else None)


def _finite(zs: list) -> list[bool]:
    """Whether each latent block is all finite: one check per block shape and one copy back for the whole step,
    instead of a check (and a wait on the device) per stream."""
    import torch

    by_shape: dict[tuple, list[int]] = {}
    for i, z in enumerate(zs):
        by_shape.setdefault((tuple(z.shape), z.device), []).append(i)
    out = [True] * len(zs)
    with torch.inference_mode():
        for idx in by_shape.values():
            for i, ok in zip(idx, torch.isfinite(torch.stack([zs[i].reshape(-1) for i in idx])).all(1).tolist()):
                out[i] = ok
    return out


def load_engine(model: str | None, *, block: int = 4096, device: str = "cpu",
                margin_ms: float | None = None, t5: str | None = None, speed: Speed | None = None) -> Engine:
    """`--model` value -> engine: "loopback", a checkpoint path, `random:PRESET`, or None for the embedded default;
    `t5`: where a T5-conditioned model loads T5 from (`--t5`); `speed`: how a model engine computes."""
    if model == "loopback":
        return LoopbackEngine(block)
    return ModelEngine(model, device=device, margin_ms=margin_ms, t5=t5, speed=speed)
