"""Driving an AudioStream offline for evaluation: audio-primed continuation, text-only generation and jam.

All three return [channels, samples] float32 at the model's rate, aligned to the input's time line (the streaming
decoder's lookahead is removed), exactly `seconds` long.
"""
from __future__ import annotations

import math

import numpy as np

from lmdm_core.pipeline import AudioStream, LoadedModel


def _stream(model: LoadedModel, prompt: str, seed: int, steps: int | None, mode: str,
            block_size: str = "long") -> AudioStream:
    s = AudioStream(model, seed=seed, mode=mode, block_size=block_size)
    s.set_param("prompt", prompt[:500])
    if steps is not None:
        s.set_param("steps", steps)
    return s


def _blocks(audio: np.ndarray, block: int) -> list[np.ndarray]:
    """[channels, samples] -> whole blocks, the last one zero-padded."""
    n = math.ceil(audio.shape[1] / block)
    padded = np.zeros((audio.shape[0], n * block), np.float32)
    padded[:, : audio.shape[1]] = audio
    return [padded[:, i * block:(i + 1) * block] for i in range(n)]


def _collect(s: AudioStream, inputs: list[np.ndarray], samples: int) -> np.ndarray:
    """Run inputs (padded with silent blocks until the decoder's lookahead is covered) and return `samples` of output
    starting at the first input block's time."""
    need = math.ceil((samples + s.decoder_latency) / s.block_samples)
    silent = np.zeros((s.channels, s.block_samples), np.float32)
    inputs = list(inputs[:need]) + [silent] * max(0, need - len(inputs))
    out = np.concatenate([s.process(b) for b in inputs], axis=1)
    return out[:, s.decoder_latency: s.decoder_latency + samples]


def _prime(s: AudioStream, context: np.ndarray) -> None:
    """Delay mode: each context block's latents become the newest clean context chunk."""
    s.set_param("mode", "delay")
    for b in _blocks(context, s.block_samples):
        s.process(b)


def continue_audio(model: LoadedModel, context: np.ndarray, seconds: float, prompt: str = "", seed: int = 0,
                   steps: int | None = None, block_size: str = "long") -> np.ndarray:
    """The model's continuation of `context` ([channels, samples]) for `seconds`, input silent (text mode).
    The context counts in whole blocks (its last block zero-padded): cut it to a block multiple (block_multiple) to
    avoid a gap."""
    s = _stream(model, prompt, seed, steps, "delay", block_size)
    _prime(s, context)
    s.set_param("mode", "text")
    return _collect(s, [], round(seconds * s.sample_rate))


def text_only(model: LoadedModel, seconds: float, prompt: str, seed: int = 0, steps: int | None = None,
              block_size: str = "long") -> np.ndarray:
    """`seconds` of the model's output from nothing under a prompt."""
    s = _stream(model, prompt, seed, steps, "text", block_size)
    return _collect(s, [], round(seconds * s.sample_rate))


def jam(model: LoadedModel, player: np.ndarray, context: np.ndarray | None = None, prompt: str = "", seed: int = 0,
        steps: int | None = None, block_size: str = "long") -> np.ndarray:
    """Jam mode: the model's accompaniment to `player` ([channels, samples]), same length, optionally primed with the
    accompaniment that came before (`context`, fed in delay mode). Needs a model with a "stem" input."""
    s = _stream(model, prompt, seed, steps, "text", block_size)
    if context is not None:
        _prime(s, context)
    s.set_param("mode", "jam")       # ValueError with a clear message when the model has no stem input
    return _collect(s, _blocks(player, s.block_samples), player.shape[1])


def block_multiple(samples: int, model: LoadedModel, block_size: str = "long") -> int:
    """The largest whole number of stream blocks within `samples`."""
    block = model.geometry(block_size).block * model.autoencoder.hop
    return samples // block * block
