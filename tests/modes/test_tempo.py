"""Tempo alignment (sync / bpm / beats / bar): the latency becomes whole beats or bars, the block grid starts on a
grid line, and the input still comes back sample-exact."""
from __future__ import annotations

import time

import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from bridge.client import Client
from bridge.engines import LoopbackEngine
from bridge.protocol import Hello
from bridge.session import Session
from bridge import params as P
from tests.modes.conftest import WorkerProc

RATE = 48000


@pytest.fixture(scope="module")
def loopback():
    w = WorkerProc("--model", "loopback", "--block", "4096")
    yield w
    w.stop()


def _wait_default(address: str, name: str, value) -> None:
    """OSC is UDP: poll a fresh stream's status until the new default shows."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with Client(address, stream="probe", rate=RATE, channels=1) as c:
            if c.status().params.get(name) == value:
                return
        time.sleep(0.1)
    raise AssertionError(f"default {name}={value!r} never arrived")


def test_osc_defaults_give_a_whole_beat_latency_in_welcome(loopback):
    osc = SimpleUDPClient("127.0.0.1", loopback.osc_port)
    osc.send_message("/lmdm/bpm", 120.0)
    osc.send_message("/lmdm/sync", "beat")
    _wait_default(loopback.address, "sync", "beat")
    beat = 60 * RATE // 120
    x = np.random.default_rng(0).uniform(-1, 1, (3 * beat, 1)).astype(np.float32)
    with Client(loopback.address, stream="beat", rate=RATE, channels=1) as c:
        assert c.welcome.latency == beat  # 4096 rounded up to one beat at 120 bpm
        y = c.stream_array(x, start=777, chunk=500, request_frames=2000)
    assert not y[:beat].any() and np.array_equal(y[beat:], x[:-beat])
    osc.send_message("/lmdm/sync", "off")
    _wait_default(loopback.address, "sync", "off")


def test_param_on_an_open_stream_sets_a_whole_bar_latency(loopback):
    with Client(loopback.address, stream="bar", rate=RATE, channels=1) as c:
        assert c.welcome.latency == 4096
        assert c.set("beats", 3).value == 3
        assert c.set("bpm", 90).value == 90.0
        assert c.set("sync", "bar").value == "bar"
        assert c.status().latency == 3 * 60 * RATE // 90
        assert c.set("bpm", 400).value == 300.0   # clamped: a bar of 28800 samples still covers the block
        assert c.status().latency == 28800
        assert c.set("sync", "beat").value == "beat"
        assert c.status().latency == 9600         # one beat of 9600 samples covers the 4096-sample block


def _session(block: int = 4096, **values) -> Session:
    v = P.defaults()
    v.update(values)
    return Session(Hello(stream="s", rate=RATE, channels=1, out_channels=1), LoopbackEngine(block), v)


def test_the_latency_rounds_up_to_whole_beats():
    s = _session(30000, sync="beat", bpm=300.0)  # beats of 9600 samples: 30000 needs four
    assert s.latency == 38400
    s.set_param("bpm", 290.0)                    # 9931.03 samples a beat: four beats, rounded to a sample
    assert s.latency == round(4 * 60 * RATE / 290.0)


@pytest.mark.parametrize("first, line", [(50000, 1000), (200000, 193000), (500, -95000)])
def test_the_block_grid_starts_on_the_bar_line_at_or_before_the_first_input(first, line):
    s = _session(sync="bar", bpm=120.0, beats=4, bar=1000)  # a bar = 96000 samples; lines at 1000 + k * 96000
    assert s.latency == 96000
    x = np.random.default_rng(1).uniform(-1, 1, (20000, 1)).astype(np.float32)
    s.audio(first, x)
    assert s.base == line
    s.request(first + s.latency, len(x))
    y = np.concatenate([g.data for g in s.pump()])
    assert np.array_equal(y, x)  # still the input, exactly one (synced) latency later


def test_without_sync_nothing_moves():
    s = _session(bpm=97.0, bar=123)
    s.audio(50000, np.ones((10, 1), np.float32))
    assert s.latency == 4096 and s.base == 50000
