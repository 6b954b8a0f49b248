"""Engines: what turns a stream's input into its wet output, at the client's rate.

An engine opens one `EngineStream` per session. A stream takes input with `feed` and hands back output with `step`;
output sample k is aligned with input sample k (the session places it `latency` samples later). `step` computes at most
one block, so the session can compute lazily (never beyond what was requested).

- `LoopbackEngine`: output = input, rate-agnostic, `block` frames at the client's rate, latency = block exactly.
- `ModelEngine`: an lmdm_core `AudioStream` at the model's rate in blocks of `block_samples`, with soxr streams
  between the client's rate and the model's; latency = one block + resampler lookahead + a compute margin.
  `step_together` computes the next block of several of its streams at once: their generators share model batches
  (lmdm_core/batching.py), and each stream's next `step` hands its block out.
"""
from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any, Protocol

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

    def __init__(self, audio: AudioStream, rate: int, channels: int, out_channels: int, margin_ms: float):
        import soxr

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


class ModelEngine:
    """A checkpoint (or the embedded default) loaded through lmdm_core.pipeline (Engine)."""

    kind = "model"

    def __init__(self, path: str | None, device: str = "cpu", margin_ms: float | None = None,
                 t5: str | None = None):
        from lmdm_core.pipeline import load_model

        self.model = load_model(path, device=device, t5=t5)
        self.name = str(self.model.source)
        self.untrained = self.model.meta.get("trained", True) is False
        self.modes = self.model.modes
        self.block_sizes = tuple(self.model.block_sizes)
        self.sample_rate, self.channels = self.model.autoencoder.sample_rate, self.model.autoencoder.audio_channels
        key = margin.model_key(self.name, str(device))
        self.margin_keys = {b: key if b == "long" else f"{key}|block_size={b}" for b in self.block_sizes}
        # Measured in delay mode (it encodes, generates and decodes), or read from the cache, at start for every block
        # size, and fixed for the engine's life, so a session's latency never changes under it.
        self.margins_ms = {b: margin.calibrated(self.open_audio(block_size=b), k).margin_ms if margin_ms is None
                           else margin_ms for b, k in self.margin_keys.items()}

    def info(self, rate: int) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "sample_rate": self.sample_rate, "channels": self.channels,
                "block_sizes": list(self.block_sizes)}

    def step_together(self, streams: list[ModelStream]) -> None:
        """The next block of each stream (each `block_ready`), with generators in matching states sharing one model
        batch; each stream's next `step` returns its block. compute_ms: the batch's model time plus the stream's own
        encoding and decoding; batch: the streams that shared its model batch."""
        from lmdm_core.batching import groups, next_blocks

        t0 = time.perf_counter()
        prepared = [s.audio.prepare(s.take_block()) for s in streams]
        own = [(time.perf_counter() - t0) * 1e3 / len(streams)] * len(streams)
        gens = [s.audio.gen for s in streams]
        for idx in groups(gens):
            t1 = time.perf_counter()
            zs = next_blocks([gens[i] for i in idx], [prepared[i].extras for i in idx])
            model_ms = (time.perf_counter() - t1) * 1e3
            for i, z in zip(idx, zs):
                s, t2 = streams[i], time.perf_counter()
                s.done = s.finish(s.audio.complete(prepared[i], z))
                s.compute_ms = model_ms + own[i] + (time.perf_counter() - t2) * 1e3
                s.batch = len(idx)

    def open_audio(self, seed: int = 0, block_size: str = "long") -> AudioStream:
        from lmdm_core.pipeline import AudioStream

        return AudioStream(self.model, seed=seed, block_size=block_size)

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0,
             block_size: str = "long") -> ModelStream:
        return ModelStream(self.open_audio(seed, block_size), rate, channels, out_channels,
                           self.margins_ms[block_size])


def load_engine(model: str | None, *, block: int = 4096, device: str = "cpu",
                margin_ms: float | None = None, t5: str | None = None) -> Engine:
    """`--model` value -> engine: "loopback", a checkpoint path, or None for the embedded default; `t5`: where a
    T5-conditioned model loads T5 from (`--t5`)."""
    if model == "loopback":
        return LoopbackEngine(block)
    return ModelEngine(model, device=device, margin_ms=margin_ms, t5=t5)
