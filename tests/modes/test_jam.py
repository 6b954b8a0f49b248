"""Jam mode: an accompaniment block by block, aligned to the input stem's sample positions."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.client import Client
from tests.modes.conftest import first_difference

RATE = 44100


def arpeggios(rate: int, seconds: float, segment: float = 1.5, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """A stem of major-triad arpeggios whose root changes every `segment` seconds (roots drawn at random)."""
    rng = np.random.default_rng(seed)
    seg = int(rate * segment)
    n = int(rate * seconds) // seg
    roots = [int(r) for r in rng.integers(0, 12, n)]
    parts = []
    for root in roots:
        t = np.arange(seg) / rate
        notes = [57 + root + k for k in (0, 4, 7, 12)]
        f = 440.0 * 2 ** ((np.array(notes)[(t * 8).astype(int) % 4] - 69) / 12)
        phase = 2 * np.pi * np.cumsum(f) / rate
        parts.append(0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase))
    x = np.concatenate(parts).astype(np.float32)
    return np.repeat(x[:, None], 2, axis=1), roots


def _run(worker, stream: str, x: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, int, int]:
    with Client(worker.address, stream=stream, rate=rate, channels=2, mode="jam", timeout=300) as c:
        return c.stream_array(x, chunk=1024, request_frames=4096), c.welcome.latency, c.welcome.block


def test_the_accompaniment_depends_on_the_stem_block_by_block(worker):
    """Two stems equal up to a point: the outputs differ, and not before the protocol allows (output at p depends
    only on input before p - latency + block), so each block follows its own input block."""
    x, _ = arpeggios(RATE, 3.0, seed=1)
    x2 = x.copy()
    cut = 2 * 16384  # two model blocks
    x2[cut:] = arpeggios(RATE, 3.0, seed=2)[0][cut:]
    a, L, block = _run(worker, "jam-a", x)
    b, _, _ = _run(worker, "jam-b", x2)
    d = first_difference(a, b)
    assert cut + L - block <= d < len(a), (d, cut + L - block)


def chorale_voice(rate: int, midi_path: Path, ensemble: str, seconds: float, voice: int = 0) -> np.ndarray:
    """One voice (0 = top, -1 = bass) of a held-out training work, rendered as the training data were: (frames, 2)."""
    from lmdm_core.data.build import render_orchestrated

    stems = render_orchestrated(midi_path, ensemble, rate, seconds)[0].stems
    return (stems[voice] / np.abs(stems.sum(axis=0)).max() * 0.5).astype(np.float32)


# Works held out from both trainings (in `heldout_renders` of the first model's meta and of the shipped fine-tune's,
# whose data splits differ): two Bach chorales and two Palestrina mass movements.
HELD_OUT = ("bach-bwv126-6", "bach-bwv4-8", "palestrina-Gloria-51", "palestrina-Credo-82")


def jam_output(address: str, x: np.ndarray, stream: str, rate: int = 22050, seed: int = 1) -> np.ndarray:
    """`x` played into a jam stream of the worker; the output from its latency on, so out[t] accompanies x[t]."""
    with Client(address, stream=stream, rate=rate, channels=2, mode="jam", timeout=300) as c:
        c.set("prompt", "Bach chorale for string quartet")
        c.set("seed", seed)
        L = c.welcome.latency
        return c.stream_array(x, chunk=2048, request_frames=8192)[L:]


def rotated(x: np.ndarray, rate: int) -> np.ndarray:
    """x's whole 2-s segments in another order (rotated by 3): same pitch-class content, wrong time."""
    seg = 2 * rate
    k = len(x) // seg
    return np.concatenate([x[i * seg:(i + 1) * seg] for i in np.roll(np.arange(k), 3)])


def agreement(out: np.ndarray, stem: np.ndarray, rate: int) -> float:
    """Frame-wise chroma agreement over the whole 2-s segments both cover, the first one left out (it starts from an
    empty context)."""
    from lmdm_core.eval.metrics import chroma_agreement, prepare

    seg = 2 * rate
    part = slice(seg, min(len(out), len(stem)) // seg * seg)
    return float(chroma_agreement(prepare(out[part], rate), prepare(stem[part], rate)))


def test_trained_accompaniment_agrees_with_the_stem_harmony(trained_worker, corpus_midi):
    """The bass line of held-out works in, the upper voices out: the output's frame-wise chroma agrees better
    with the stem it was played with than with the same stem's 2-s segments put in another order (same pitch-class
    content, wrong time), pooled over four works. The bass carries the harmony; a soprano line is a weak
    reference (one melodic pitch class at a time), and with it this comparison was a coin toss for every model
    trained so far (docs/modes.md)."""
    rate = 22050
    aligned, control = [], []
    for slug in HELD_OUT:
        x = chorale_voice(rate, corpus_midi(slug), "string quartet", 40.0, voice=-1)
        out = jam_output(trained_worker.address, x, f"jam-{slug}")
        stem = x[: len(out)]
        aligned.append(agreement(out, stem, rate))
        control.append(agreement(out, rotated(stem, rate), rate))
    assert np.mean(aligned) > np.mean(control), (aligned, control)
