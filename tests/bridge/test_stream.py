"""Real worker subprocess, real sockets: sample-exact loopback streaming, independent streams, reconnects."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from bridge.client import Client
from tests.bridge.conftest import WorkerProc, free_port


def noise(rate: int, seconds: float, channels: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (int(rate * seconds), channels)).astype(np.float32)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_loopback_is_the_input_delayed_by_the_latency(loopback_worker, rate):
    x = noise(rate, 30.0, seed=rate)
    with Client(loopback_worker.address, stream=f"r{rate}", rate=rate, channels=2) as c:
        latency = c.welcome.latency
        assert latency == c.welcome.block == 4096
        y = c.stream_array(x, start=123456, chunk=441, request_frames=1024)  # checks: every frame exactly once
        st = c.status()
    assert np.array_equal(y[latency:], x[:-latency])
    assert not y[:latency].any()
    assert st.gaps == 0 and st.latency == latency


def test_block_option_sets_the_latency_and_channels_map():
    w = WorkerProc("--model", "loopback", "--block", "300")
    try:
        with Client(w.address, stream="mono", rate=96000, channels=1, out_channels=2) as c:
            assert c.welcome.latency == 300
            x = noise(96000, 2.0, channels=1)
            y = c.stream_array(x, chunk=64, request_frames=100)
        assert np.array_equal(y[300:, 0], x[:-300, 0]) and np.array_equal(y[:, 1], y[:, 0])
    finally:
        w.stop()


def test_two_clients_at_once_get_independent_streams(loopback_worker):
    results = {}

    def run(name: str, gain: float, seed: int) -> None:
        with Client(loopback_worker.address, stream=name, rate=48000, channels=2) as c:
            ack = c.set("gain", gain)
            x = noise(48000, 10.0, seed=seed)
            results[name] = (x, c.stream_array(x, chunk=256), c.welcome.latency, ack.value)

    threads = [threading.Thread(target=run, args=a) for a in (("a", 1.0, 1), ("b", 0.25, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    (xa, ya, la, ga), (xb, yb, lb, gb) = results["a"], results["b"]
    assert (ga, gb) == (1.0, 0.25)
    assert np.array_equal(ya[la:], xa[:-la])
    assert np.array_equal(yb[lb:], xb[:-lb] * np.float32(0.25))


def test_requests_answer_as_soon_as_their_input_arrived(loopback_worker):
    """Sample-accurate: a request is answered piece by piece as input arrives, never ahead of it."""
    with Client(loopback_worker.address, stream="acc", rate=44100, channels=1) as c:
        L = c.welcome.latency
        c.request(L, 1000)            # needs input [0, 1000)
        c.send_audio(0, np.ones((600, 1), np.float32))
        first = c.recv()
        assert (first.index, first.frames) == (L, 600)
        assert c.recv(timeout=0.3) is None  # nothing more until the input is there
        c.send_audio(600, np.full((400, 1), 2.0, np.float32))
        second = c.recv()
        assert (second.index, second.frames) == (L + 600, 400) and (second.data == 2.0).all()


def test_gaps_in_input_become_silence_and_overlaps_are_dropped(loopback_worker):
    with Client(loopback_worker.address, stream="gap", rate=48000, channels=1) as c:
        L = c.welcome.latency
        c.send_audio(0, np.ones((100, 1), np.float32))
        c.send_audio(50, np.full((100, 1), 5.0, np.float32))   # 50 overlap (dropped), 50 new
        c.send_audio(300, np.full((100, 1), 3.0, np.float32))  # gap 150..300
        c.request(L, 400)
        got = np.concatenate([c.recv().data for _ in range(1)])
        while len(got) < 400:
            got = np.concatenate([got, c.recv().data])
        expect = np.concatenate([np.ones(100), np.full(50, 5.0), np.zeros(150), np.full(100, 3.0)])
        assert np.array_equal(got[:, 0], expect)
        assert c.status().gaps == 1


CLIENT_SCRIPT = """
import sys, time, numpy as np
from bridge.client import Client
c = Client(sys.argv[1], stream="doomed", rate=48000, channels=2)
L = c.connect().latency
x = np.zeros((512, 2), np.float32)
print("streaming", flush=True)
i = 0
while True:  # streams until killed
    c.send_audio(i * 512, x)
    c.request(i * 512 + L, 512)
    while c.recv(timeout=0) is not None:
        pass
    i += 1
    time.sleep(0.002)
"""


def test_a_client_killed_mid_stream_is_cleaned_up(loopback_worker, osc_inbox):
    proc = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, loopback_worker.address],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "streaming"
        time.sleep(0.5)
        assert "doomed" in _streams(loopback_worker, osc_inbox)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        deadline = time.monotonic() + 10
        while "doomed" in _streams(loopback_worker, osc_inbox):
            assert time.monotonic() < deadline, "the dead client's stream was never freed"
            time.sleep(0.3)
        assert loopback_worker.wait_log("doomed: client silent")
    finally:
        proc.kill()
    with Client(loopback_worker.address, stream="after", rate=48000, channels=2) as c:  # still serving
        x = noise(48000, 1.0)
        assert np.array_equal(c.stream_array(x)[4096:], x[:-4096])


def _streams(worker: WorkerProc, inbox) -> list:
    from bridge.osc import message
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(message("/lmdm/status", []), ("127.0.0.1", worker.osc_port))
    return inbox.until("/lmdm/streams")[1]


def test_client_reconnects_when_the_worker_restarts():
    port = free_port()
    w = WorkerProc("--model", "loopback", "--heartbeat-ms", "200", zmq_port=port)
    c = Client(w.address, stream="phoenix", rate=44100, channels=2, timeout=5)
    try:
        c.connect()
        x = noise(44100, 2.0)
        assert np.array_equal(c.stream_array(x)[4096:], x[:-4096])
        w.stop(signal.SIGKILL)
        w = WorkerProc("--model", "loopback", "--heartbeat-ms", "200", zmq_port=port)
        # The client keeps its clock and streams on; the new worker answers no_session and the client says hello again
        # on its own (or its heartbeat notices the silence and reconnects).
        deadline = time.monotonic() + 15
        welcome = None
        while welcome is None:
            assert time.monotonic() < deadline, "the client never reconnected"
            c.heartbeat()
            c.send_audio(len(x), x[:64])
            msg = c.recv(timeout=0.2)
            if msg is not None and msg.TYPE == "welcome":
                welcome = msg
        assert c.reconnects >= 1 and c.welcome is welcome
        assert welcome.stream == "phoenix"
        y = c.stream_array(x, start=10 * 44100)
        assert np.array_equal(y[4096:], x[:-4096])
    finally:
        c.close()
        w.stop()


def test_requests_that_skip_ahead_resume_exactly(loopback_worker):
    """A request past the previous one skips ahead; the output stays sample-exact from there on."""
    x = noise(48000, 3.0, channels=1, seed=9)
    with Client(loopback_worker.address, stream="skip", rate=48000, channels=1) as c:
        L = c.welcome.latency
        c.send_audio(0, x[:48000])
        c.request(L, 1000)
        first = c.recv()
        for i in range(48000, len(x), 24000):
            c.send_audio(i, x[i:i + 24000])
        c.request(L + 100000, 2000)   # skips [L + 1000, L + 100000): never generated
        got = []
        while sum(len(g.data) for g in got) < 2000:
            got.append(c.recv())
        assert got[0].index == L + 100000
        assert np.array_equal(first.data[:, 0], x[:1000, 0])
        assert np.array_equal(np.concatenate([g.data for g in got])[:, 0], x[100000:102000, 0])


def test_worker_says_bye_on_shutdown():
    w = WorkerProc("--model", "loopback")
    with Client(w.address, stream="bye", rate=48000, channels=1) as c:
        w.stop(signal.SIGTERM)
        msg = c.recv(timeout=10)
        assert msg is not None and msg.TYPE == "bye" and msg.reason
