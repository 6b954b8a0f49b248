"""Engines: what turns a stream's input into its wet output, at the client's rate.

An engine opens one `EngineStream` per session. A stream takes input with `feed` and hands back output with `step`;
output sample k is aligned with input sample k (the session places it `latency` samples later). `step` computes at most
one block, so the session can compute lazily (never beyond what was requested).

- `LoopbackEngine`: output = input, rate-agnostic, `block` frames at the client's rate, latency = block exactly.
- `ModelEngine`: an lmdm_core `AudioStream` at the model's rate in blocks of `block_samples`, with soxr streams
  between the client's rate and the model's; latency = one block + resampler lookahead + a compute margin.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from bridge import margin
from bridge.params import MODES, ParamError

log = logging.getLogger("lmdm.engine")

# Input modes: the output depends on the input. "text" needs none: the session feeds silence when it must.
INPUT_MODES = ("delay", "jam", "sketch")
# Wet output louder than this (+36 dBFS) means the model's state exploded: the block is dropped, the state reset.
EXPLODED = 64.0


def map_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """(n, c) -> (n, channels): equal counts pass, down-mixing averages, up-mixing repeats channels in turn."""
    have = x.shape[1]
    if have == channels:
        return x
    if channels == 1:
        return x.mean(axis=1, keepdims=True, dtype=np.float32)
    return x[:, [i % have for i in range(channels)]]


class EngineStream:
    """One session's engine state. Subclasses set block/latency (client samples) and implement feed/step."""

    block: int = 0
    latency: int = 0
    compute_ms: float = 0.0
    recoveries: int = 0   # times the stream's model state went bad and was started afresh

    def feed(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def step(self) -> np.ndarray | None:
        raise NotImplementedError

    def buffered(self) -> int:
        """Input frames fed but not yet turned into output."""
        raise NotImplementedError

    def needs_input(self, mode: str) -> bool:
        """False for modes that generate from the prompt alone: the session then feeds silence on request."""
        return mode in INPUT_MODES

    def set_param(self, name: str, value: Any) -> tuple[Any, list | None]:
        """Apply a validated parameter; returns (applied value, prompt words understood or None)."""
        return value, ([] if name in ("prompt", "prompt_b") else None)

    def restart(self) -> None:
        """Drop buffered input and output (a discontinuity); model state is kept."""

    def reset(self) -> None:
        self.restart()


class LoopbackStream(EngineStream):
    def __init__(self, block: int, out_channels: int):
        self.block = self.latency = block
        self.out_channels = out_channels
        self.pending: list[np.ndarray] = []
        self.count = 0

    def feed(self, x: np.ndarray) -> None:
        self.pending.append(x)
        self.count += len(x)

    def step(self) -> np.ndarray | None:
        if not self.pending:
            return None
        t0 = time.perf_counter()
        x = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        self.pending, self.count = [], 0
        y = map_channels(x, self.out_channels)
        self.compute_ms = (time.perf_counter() - t0) * 1e3
        return y

    def buffered(self) -> int:
        return self.count

    def needs_input(self, mode: str) -> bool:
        return True  # the loopback is a one-block delay in every mode

    def restart(self) -> None:
        self.pending, self.count = [], 0


class LoopbackEngine:
    """Input back, delayed by exactly one block: for checking routing, and for tests."""

    name = "loopback"
    kind = "loopback"
    modes = MODES

    def __init__(self, block: int = 4096):
        if not 1 <= block <= 65536:
            raise ValueError("loopback block must be 1..65536 frames")
        self.block = block

    def info(self, rate: int) -> dict:
        return {"name": self.name, "kind": self.kind, "sample_rate": rate, "channels": 0}

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0) -> EngineStream:
        return LoopbackStream(self.block, out_channels)


class ModelStream(EngineStream):
    """An AudioStream behind two soxr streams, with the delay-mode feedback loop at the model's rate."""

    def __init__(self, audio_stream: Any, rate: int, channels: int, out_channels: int, margin_ms: float):
        import soxr

        self._soxr = soxr
        self.s = audio_stream
        self.rate, self.in_channels, self.out_channels = rate, channels, out_channels
        self.sr, self.mch, self.bm = int(audio_stream.sample_rate), int(audio_stream.channels), \
            int(audio_stream.block_samples)
        self.resampling = rate != self.sr
        # The decoder's lookahead delays the model's output; dropping that many samples at the start aligns the wet
        # output with the input again (y[k] belongs to x[k]), at the price of computing that much further ahead.
        self.dec_latency = int(getattr(audio_stream, "decoder_latency", 0))
        lookahead = 1024 if self.resampling else 0  # soxr HQ filter delay, both directions, with room to spare
        self.block = math.ceil((self.bm + self.dec_latency) * rate / self.sr) + lookahead
        self.latency = self.block + int(round(margin_ms * rate / 1000.0))
        self.feedback = 0.0
        self.mode = getattr(audio_stream, "mode", "delay")
        self.restart()

    def restart(self) -> None:
        if self.resampling:
            self.rs_in = self._soxr.ResampleStream(self.rate, self.sr, self.mch, dtype="float32", quality="HQ")
            self.rs_out = self._soxr.ResampleStream(self.sr, self.rate, self.mch, dtype="float32", quality="HQ")
        self.buf = np.zeros((0, self.mch), np.float32)  # model-rate input not yet processed
        self.skip = self.dec_latency
        self.recovered_last = False
        self.wet_prev = np.zeros((self.bm, self.mch), np.float32)

    def reset(self) -> None:
        self.s.reset()
        self.restart()

    def feed(self, x: np.ndarray) -> None:
        x = map_channels(x, self.mch)
        if self.resampling:
            x = self.rs_in.resample_chunk(np.ascontiguousarray(x, dtype=np.float32))
            if not np.isfinite(x).all():  # a resampler fed a wild sample keeps it in its state: start it afresh
                self.recoveries += 1
                self.rs_in = self._soxr.ResampleStream(self.rate, self.sr, self.mch, dtype="float32", quality="HQ")
                x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if len(x):
            self.buf = np.concatenate([self.buf, x.astype(np.float32, copy=False)])

    def buffered(self) -> int:
        return int(len(self.buf) * self.rate / self.sr)

    def step(self) -> np.ndarray | None:
        if len(self.buf) < self.bm:
            return None
        block, self.buf = self.buf[:self.bm], self.buf[self.bm:]
        if self.feedback > 0.0 and self.mode == "delay":
            # The newest wet block goes back into the input (the generative delay's regeneration): the wet heard
            # one block later is the model's take on input + feedback x its own previous output.
            block = block + np.float32(self.feedback) * self.wet_prev
        t0 = time.perf_counter()
        bad_before = getattr(self.s, "nonfinite_outputs", 0)
        wet = np.asarray(self.s.process(np.ascontiguousarray(block.T, dtype=np.float32)), dtype=np.float32).T
        self.compute_ms = (time.perf_counter() - t0) * 1e3
        if getattr(self.s, "nonfinite_outputs", 0) != bad_before or not np.isfinite(wet).all() \
                or np.abs(wet).max(initial=0.0) > EXPLODED:
            wet = self._recover()
        else:
            self.recovered_last = False
        self.wet_prev = wet
        if self.skip:
            cut = min(self.skip, len(wet))
            wet, self.skip = wet[cut:], self.skip - cut
        if self.resampling:
            wet = self.rs_out.resample_chunk(np.ascontiguousarray(wet))
        return map_channels(wet, self.out_channels)

    def _recover(self) -> np.ndarray:
        """The model's latents or audio went non-finite or exploded: its context would carry that into every later
        block (silence until a `reset`). Start the model state afresh now, keeping prompt, mode and parameters and
        the clocks; this block is silence and the next one is the model's again."""
        self.recoveries += 1
        # First the context and the encoder, which carry a wild input on; the decoder too if that was not enough
        # (two bad blocks in a row), since its warm-up costs one more silent block.
        again = self.recovered_last
        log.warning("the model's output went non-finite or exploded; its %s was reset (recovery %d)",
                    "whole state" if again else "context", self.recoveries)
        self.s.reset(decoder=again)
        self.recovered_last = True
        return np.zeros((self.bm, self.mch), np.float32)

    def set_param(self, name: str, value: Any) -> tuple[Any, list | None]:
        if name == "feedback":
            self.feedback = float(value)
            return value, None
        try:
            applied = self.s.set_param(name, value)
        except ValueError as exc:
            raise ParamError(f"{name}: {exc}") from None
        if name == "mode":
            self.mode = applied
        understood = list(getattr(self.s, "understood", []) or []) if name in ("prompt", "prompt_b") else None
        return (value if applied is None else applied), understood


class ModelEngine:
    """A checkpoint (or the embedded default) loaded through lmdm_core.pipeline."""

    kind = "model"
    modes = MODES

    def __init__(self, path: str | None, device: str = "cpu", margin_ms: float | None = None):
        from lmdm_core.pipeline import AudioStream, load_model

        self._AudioStream = AudioStream
        self.model = load_model(path, device=device)
        self.name = str(self.model.source)
        self.untrained = self.model.meta.get("trained", True) is False
        self.probe = AudioStream(self.model, seed=0)
        self.sample_rate, self.channels = int(self.probe.sample_rate), int(self.probe.channels)
        self.modes = tuple(m for m in MODES if _accepts(self.probe, "mode", m))
        _accepts(self.probe, "mode", "delay")  # calibrate in the mode that encodes, generates and decodes
        self.margin_key = margin.model_key(str(self.model.source), str(device))
        # The margin is fixed for the engine's life, so a session's latency never changes under it.
        self.margin_ms = margin.calibrated(self.probe, self.margin_key).margin_ms if margin_ms is None else margin_ms

    def info(self, rate: int) -> dict:
        return {"name": self.name, "kind": self.kind, "sample_rate": self.sample_rate, "channels": self.channels}

    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0) -> EngineStream:
        return ModelStream(self._AudioStream(self.model, seed=seed), rate, channels, out_channels, self.margin_ms)


def _accepts(stream: Any, name: str, value: Any) -> bool:
    try:
        stream.set_param(name, value)
        return True
    except ValueError:
        return False


def load_engine(model: str | None, *, block: int = 4096, device: str = "cpu", margin_ms: float | None = None):
    """`--model` value -> engine: "loopback", a checkpoint path, or None for the embedded default."""
    if model == "loopback":
        return LoopbackEngine(block)
    return ModelEngine(model, device=device, margin_ms=margin_ms)
