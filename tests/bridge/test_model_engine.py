"""Model engines through the real socket path: a small untrained checkpoint given with --model (fast: finite blocks,
exact timing, refusals), and the shipped trained model that `lmdm serve` loads with no --model."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lmdm_core.pipeline as pipeline
from bridge import margin
from bridge.client import Client, ClientError
from bridge.engines import ModelEngine
from lmdm_core.pipeline import load_model
from tests.bridge.conftest import LMDM, WorkerProc


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """The tiny untrained fallback model, written as a checkpoint."""
    path = tmp_path_factory.mktemp("tiny") / "ckpt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", path.parent / "no-weights")
        load_model(None).save(path)
    return path


@pytest.fixture(scope="module")
def model_worker(tiny_ckpt):
    """A worker over the tiny checkpoint, passed with --model PATH."""
    w = WorkerProc("--model", str(tiny_ckpt), "--margin-ms", "20")
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


def _block_rms(y: np.ndarray, start: int, block: int) -> list[float]:
    return [float(np.sqrt(np.mean(y[i:i + block] ** 2))) for i in range(start, len(y) - block + 1, block)]


def test_a_wild_input_sample_does_not_silence_the_model(model_worker):
    """Finding 2: one finite 3.4e38 sample (delay mode, 48 kHz through the resamplers) is clipped at the door; the
    model's output goes on in every block after it."""
    rate = 48000
    with Client(model_worker.address, stream="spike", rate=rate, channels=1, mode="delay", timeout=120) as c:
        L, block = c.welcome.latency, c.welcome.block
        x = np.random.default_rng(2).uniform(-0.3, 0.3, (L + 6 * block, 1)).astype(np.float32)
        x[block + 10, 0] = 3.4e38
        y = c.stream_array(x, chunk=960, request_frames=4800, timeout=300)
        st = c.status()
    assert np.isfinite(y).all()
    rms = _block_rms(y, L + block, block)  # from the block holding the spike on
    assert len(rms) >= 4 and min(rms) > 0.01, rms
    assert st.clipped == 1


def test_a_model_state_gone_bad_recovers_within_one_block(tiny_ckpt):
    """Finding 2, the second guard: a wild sample that reaches the model itself (past the session's clip) poisons its
    context; the stream resets that state by itself, so at most one block is silent and the next is the model's."""
    engine = ModelEngine(str(tiny_ckpt), margin_ms=0)
    s = engine.open(engine.sample_rate, 1, 1)  # the model's rate: no resampler between the spike and the model
    rng = np.random.default_rng(3)
    rms = []
    for k in range(7):
        x = rng.uniform(-0.3, 0.3, (s.bm, 1)).astype(np.float32)
        if k == 1:
            x[100, 0] = 3.4e38
        s.feed(x)
        y = s.step()
        rms.append(float(np.sqrt(np.mean(y ** 2))) if len(y) else None)
    assert s.recoveries >= 1
    after = rms[2:]
    silent = [i for i, r in enumerate(after) if r == 0.0]
    assert len(silent) <= 1 and min(r for r in after if r) > 0.01, rms
    assert all(r > 0.01 for r in after[silent[0] + 1:] if silent), rms


def test_text_mode_counts_no_underruns_when_nothing_is_late(model_worker):
    """Finding 3: a text-mode stream with no input whose play position stays well behind its requests."""
    with Client(model_worker.address, stream="calm", rate=44100, channels=2, mode="text", timeout=120) as c:
        L = c.welcome.latency
        got = 0
        for k in range(3):
            c.request(L + k * 4096, 4096, play=k * 4096)
            while got < (k + 1) * 4096:
                msg = c.recv(timeout=120)
                assert msg is not None and msg.TYPE == "generated", msg
                got += msg.frames
        st = c.status()
    assert (st.underruns, st.late_frames, st.recoveries) == (0, 0, 0)
    assert st.blocks >= 1  # model blocks computed for this stream


def test_margin_from_is_robust_to_a_slow_block():
    steady = [400.0] * 6
    assert margin.margin_from(steady, 2000.0) == 600.0
    assert margin.margin_from(steady[:5] + [5000.0], 2000.0) == 600.0  # one block under load does not move it
    assert margin.margin_from([10.0] * 6, 2000.0) == margin.FLOOR_MS
    assert margin.margin_from([3000.0] * 6, 2000.0) == 2000.0


def test_latency_is_the_same_across_starts_under_load(tiny_ckpt, tmp_path):
    """Finding 4: the first start calibrates and caches; a start on a machine kept busy reads the cache, so both
    announce the same latency. `lmdm doctor` shows the margin in use and one measured now."""
    env = {"LMDM_CACHE_DIR": str(tmp_path / "cache")}

    def latency() -> int:
        w = WorkerProc("--model", str(tiny_ckpt), env=env)
        try:
            with Client(w.address, stream="lat", rate=48000, channels=1, timeout=120) as c:
                return c.welcome.latency
        finally:
            w.stop()

    first = latency()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        second = latency()
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert first == second
    entries = json.loads((tmp_path / "cache" / "margin.json").read_text())
    assert len(entries) == 1
    (key, entry), = entries.items()
    assert "|cpu|threads=" in key and len(entry["blocks_ms"]) == margin.TIMED
    out = subprocess.run([LMDM, "doctor", "--model", str(tiny_ckpt), "--zmq-port", "1", "--osc-port", "1"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, **env}).stdout
    assert f"compute margin           {entry['margin_ms']:.0f} ms in use" in out, out
    assert "compute now" in out and f"median of {margin.TIMED}" in out, out
