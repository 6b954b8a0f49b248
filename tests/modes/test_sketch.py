"""Sketch mode: the input's pitch / loudness / brightness curves drive the output."""
from __future__ import annotations

import numpy as np

from bridge.client import Client
from lmdm_core.features import LOUDNESS, curves
from tests.modes.conftest import tone

RATE = 44100


def _run(worker, stream: str, x: np.ndarray, chosen: str, rate: int = RATE) -> np.ndarray:
    with Client(worker.address, stream=stream, rate=rate, channels=2, mode="sketch", timeout=300) as c:
        assert c.set("curves", chosen).value == chosen
        return c.stream_array(x, chunk=1024, request_frames=4096)


def test_only_the_chosen_curves_reach_the_model(worker):
    """Halving the input changes its loudness curve only (YIN pitch and the spectral centroid do not move): the
    output changes when loudness is followed and stays identical when only pitch and brightness are."""
    x = tone(RATE, 1.6, freq=262.0, seed=1)
    quiet = (x * np.float32(0.5)).astype(np.float32)
    a = _run(worker, "sk-pb", x, "pitch,brightness")
    b = _run(worker, "sk-pb-q", quiet, "pitch,brightness")
    assert np.isfinite(a).all() and np.abs(a).max() > 0
    assert np.array_equal(a, b)
    c = _run(worker, "sk-l", x, "loudness")
    d = _run(worker, "sk-l-q", quiet, "loudness")
    assert not np.array_equal(c, d)


def swell(rate: int, seconds: float, period: float = 2.0) -> np.ndarray:
    """A tone whose level swings between -40 and -6 dBFS every `period` seconds."""
    t = np.arange(int(rate * seconds)) / rate
    db = -23.0 + 17.0 * np.sin(2 * np.pi * t / period)
    return tone(rate, seconds, freq=196.0, env=10 ** (db / 20) / 0.45, seed=2)


# 16 s of a 2 s swell = 8 periods: the loudness curves hold about 16 independent extremes; for n = 16 a Pearson r
# above 0.62 has p < 0.01 under no relation, so 0.65 says the output follows the input's dynamics, not chance.
MIN_R = 0.65


def test_trained_output_follows_the_input_loudness(trained_worker):
    rate, hop = 22050, 1024
    x = swell(rate, 16.0)
    y = _run(trained_worker, "sk-trained", x, "pitch,loudness,brightness", rate=rate)
    with Client(trained_worker.address, stream="sk-lat", rate=rate, channels=2, mode="sketch") as c:
        L = c.welcome.latency
    lx = curves(x[: len(x) - L], rate, hop)[LOUDNESS]
    ly = curves(y[L:], rate, hop)[LOUDNESS]
    keep = slice(8, None)  # the first block starts from an empty context
    r = float(np.corrcoef(lx[keep], ly[keep])[0, 1])
    assert r > MIN_R, r


def test_curves_take_commas_or_spaces(worker):
    """Pd message boxes split at commas, so `[curves pitch loudness(` must work as well as the comma list."""
    with Client(worker.address, stream="sk-names", rate=RATE, channels=2, mode="sketch") as c:
        assert c.set("curves", "pitch loudness").value == "pitch,loudness"
        assert c.set("curves", "brightness, pitch").value == "brightness,pitch"
