"""Model engines through the real socket path: a small untrained checkpoint given with --model (fast: finite blocks,
exact timing, refusals), and the shipped trained model that `lmdm serve` loads with no --model."""
from __future__ import annotations

import numpy as np
import pytest

import lmdm_core.pipeline as pipeline
from bridge.client import Client, ClientError
from lmdm_core.pipeline import load_model
from tests.bridge.conftest import WorkerProc


@pytest.fixture(scope="module")
def model_worker(tmp_path_factory):
    """A worker over the tiny untrained fallback model, written as a checkpoint and passed with --model PATH."""
    path = tmp_path_factory.mktemp("tiny") / "ckpt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", path.parent / "no-weights")
        load_model(None).save(path)
    w = WorkerProc("--model", str(path), "--margin-ms", "20")
    yield w
    w.stop()


def test_default_worker_serves_the_shipped_model():
    """No --model: the trained weights in lmdm_core/weights/ answer a text-mode request with finite audio."""
    w = WorkerProc()
    try:
        with Client(w.address, stream="d", rate=44100, channels=2, mode="text", timeout=120) as c:
            assert c.welcome.model["name"] == str(pipeline.WEIGHTS_DIR)
            assert c.welcome.model["sample_rate"] == pipeline.load_model(None).autoencoder.sample_rate
            c.request(0, 4096)
            msg = c.recv(timeout=120)
            assert msg is not None and msg.TYPE == "generated" and msg.index == 0, msg
            assert np.isfinite(msg.data).all()
        assert not w.wait_log("UNTRAINED", timeout=0.5)
    finally:
        w.stop()


def test_embedded_model_serves_finite_blocks_and_dry_mix_is_bit_exact(model_worker):
    rate = 48000
    x = np.random.default_rng(7).uniform(-0.5, 0.5, (int(rate * 2.5), 2)).astype(np.float32)
    with Client(model_worker.address, stream="m", rate=rate, channels=2, timeout=120) as c:
        w = c.welcome
        assert w.model["kind"] == "model" and w.model["sample_rate"] == 44100
        assert "delay" in w.modes and "text" in w.modes
        assert w.latency > w.block > 0
        ack = c.set("prompt", "warm ambient zzzqx pad")
        assert ack.value == "warm ambient zzzqx pad"
        assert "ambient" in ack.understood and "zzzqx" not in ack.understood
        y = c.stream_array(x, chunk=480, request_frames=4800, timeout=300)  # every frame exactly once
        assert np.isfinite(y).all()
        assert not y[:w.latency].any() and np.abs(y[w.latency:]).max() > 0  # silence, then the model's output
        assert c.status().blocks > 0
        assert c.set("mix", 0.0).value == 0.0
        start = len(x)
        y = c.stream_array(x[:rate], start=start, chunk=480, request_frames=4800, timeout=300)
        assert np.array_equal(y[w.latency:], x[:rate - w.latency])  # wet 0: the input, delayed, bit-exact


def test_model_refuses_what_it_cannot_do(model_worker):
    with Client(model_worker.address, stream="r", rate=44100, channels=1, timeout=60) as c:
        with pytest.raises(ClientError) as err:
            c.set("mode", "jam")  # the embedded model has no stem input
        assert err.value.error.code == "bad_param" and "stem" in err.value.error.text
        assert c.set("steps", 500).value == 64  # clamped


def test_text_mode_answers_without_any_input(model_worker):
    """Modes that need no input answer requests at once: no audio is ever sent here."""
    with Client(model_worker.address, stream="t", rate=44100, channels=2, mode="text", timeout=120) as c:
        assert c.welcome.mode == "text"
        L, n = c.welcome.latency, 8192
        start = 10 * L
        c.request(start, n)
        got = []
        while sum(g.frames for g in got) < n:
            msg = c.recv(timeout=120)
            assert msg is not None and msg.TYPE == "generated", msg
            got.append(msg)
        assert got[0].index == start and [g.index for g in got] == sorted(g.index for g in got)
        y = np.concatenate([g.data for g in got])
        assert np.isfinite(y).all() and np.abs(y).max() > 0
