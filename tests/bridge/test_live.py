"""`lmdm live` against a real JACK server (Debian jackd2, dummy driver): it runs and outputs audio."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.live import tone

LMDM = str(Path(sys.executable).with_name("lmdm"))


@pytest.fixture
def jack_server():
    if shutil.which("jackd") is None:
        pytest.skip("jackd (Debian jackd2) is not installed")
    name = f"lmdmtest{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_AUDIO_RESERVATION="1")
    proc = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r", "44100", "-p", "256"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        deadline = time.monotonic() + 10
        while not _jack_up(env):
            assert proc.poll() is None, f"jackd exited: {proc.stdout.read()}"
            assert time.monotonic() < deadline, "jackd did not come up"
            time.sleep(0.2)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _jack_up(env: dict) -> bool:
    if shutil.which("jack_lsp"):
        return subprocess.run(["jack_lsp"], env=env, capture_output=True, timeout=5).returncode == 0
    time.sleep(1)
    return True


def test_live_plays_the_delayed_tone_through_jack(jack_server, tmp_path):
    out = tmp_path / "played.wav"
    r = subprocess.run([LMDM, "live", "--host-api", "JACK", "--model", "loopback", "--block", "1024",
                        "--input", "tone", "--seconds", "3", "--record", str(out)],
                       env=jack_server, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "latency 1024 samples" in r.stdout
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == 44100 and len(y) > 44100  # JACK called back for over a second of audio
    expect = tone(0, len(y), rate, y.shape[1])
    expect = np.concatenate([np.zeros((1024, y.shape[1]), np.float32), expect[:-1024]])
    played = np.abs(y).max(axis=1) > 0
    assert played.mean() > 0.5, "mostly silence: the engine did not keep up at all"
    # Wherever something was played it is the tone, delayed by exactly the latency (silence only on underruns).
    assert np.array_equal(y[played], expect[played])
