"""Jam mode: an accompaniment block by block, aligned to the input stem's sample positions."""
from __future__ import annotations

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


def test_trained_accompaniment_agrees_with_the_stem_harmony(trained_worker):
    from lmdm_core.eval.metrics import chroma_agreement, prepare

    rate = 22050
    x, _ = arpeggios(rate, 18.0, segment=2.0, seed=3)
    y, L, _ = _run(trained_worker, "jam-trained", x, rate=rate)
    stem, out = x[: len(x) - L], y[L:]
    seg = 2 * rate
    k = len(stem) // seg
    order = np.random.default_rng(0).permutation(k)
    while np.any(order == np.arange(k)):
        order = np.random.default_rng(int(order[0]) + 1).permutation(k)
    shuffled = np.concatenate([stem[i * seg:(i + 1) * seg] for i in order])
    skip = rate  # the first block starts from an empty context
    aligned = chroma_agreement(prepare(out[skip:k * seg], rate), prepare(stem[skip:k * seg], rate))
    control = chroma_agreement(prepare(out[skip:k * seg], rate), prepare(shuffled[skip:], rate))
    assert aligned > control, (aligned, control)
