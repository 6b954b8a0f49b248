"""A failure inside the worker reaches the client as `internal` (not a client-fault code), over real ZeroMQ sockets,
and the worker goes on serving. The fault is injected into a loopback engine's stream: no client input can make
the shipped engines fail, which is the point of the other tests."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from bridge.client import Client, ClientError
from bridge.engines import LoopbackEngine, LoopbackStream
from bridge.server import ServerConfig, Worker

POISON = 0.25  # an input sample of exactly this value makes the faulty stream's next step raise


class FaultyStream(LoopbackStream):
    def step(self) -> np.ndarray | None:
        if any((x == POISON).any() for x in self.pending):
            self.pending = []
            raise RuntimeError("injected fault in step")
        return super().step()

    def set_param(self, name: str, value):
        if name == "prompt" and value == "fail":
            raise RuntimeError("injected fault in set_param")
        return super().set_param(name, value)


class FaultyEngine(LoopbackEngine):
    def open(self, rate: int, channels: int, out_channels: int, seed: int = 0,
             block_size: str = "long") -> FaultyStream:
        return FaultyStream(self.block, out_channels)


@pytest.fixture()
def worker():
    w = Worker(FaultyEngine(512), ServerConfig(zmq="tcp://127.0.0.1:0", osc_port=None))
    t = threading.Thread(target=w.serve, daemon=True)
    t.start()
    yield w
    w.stop()
    t.join(timeout=30)
    assert not t.is_alive()


def test_a_failing_step_replies_internal_and_the_stream_serves_on(worker):
    with Client(worker.endpoint, stream="f", rate=48000, channels=1, timeout=10) as c:
        c.send_audio(0, np.full((512, 1), POISON, np.float32))
        c.request(512, 512)
        err = c.recv(timeout=10)
        assert err is not None and err.TYPE == "error", err
        assert (err.code, err.ref) == ("internal", "request") and "injected fault in step" in err.text
        x = np.random.default_rng(0).uniform(-0.1, 0.1, (2048, 1)).astype(np.float32)
        y = c.stream_array(x, start=4096, chunk=512, request_frames=512, timeout=30)
        assert np.array_equal(y[512:], x[:-512])    # the same stream, one block later, bit-exact


def test_a_failing_parameter_replies_internal_and_others_still_apply(worker):
    with Client(worker.endpoint, stream="p", rate=48000, channels=1, timeout=10) as c:
        with pytest.raises(ClientError) as exc:
            c.set("prompt", "fail")
        assert (exc.value.error.code, exc.value.error.ref) == ("internal", "param")
        assert c.set("prompt", "warm pad").value == "warm pad"
        assert c.status().params["gain"] == 1.0
