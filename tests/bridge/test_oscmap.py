"""The OSC map (`lmdm serve --osc-map`, `lmdm live --osc-map`): real OSC messages from python-osc's client into a real
worker, the values read back from the sessions' parameter state (ZeroMQ `status`) and the worker-wide status."""
from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient

from bridge import oscmap
from bridge import params as P
from bridge import protocol as W
from bridge.client import Client
from bridge.engines import LoopbackEngine
from bridge.live import Live, tone
from tests.bridge.conftest import LMDM, WorkerProc
from tests.bridge.test_live import jack_server  # noqa: F401  (the fixture: a real JACK server, dummy driver)

MAP = """\
tick_ms = 10

[[map]]                 # a light sensor: 0..100 % -> output gain 0..2, smoothed
address = "/pi/light"
param = "gain"
input = [0, 100]
output = [0, 2]
smooth_ms = 200

[[map]]                 # the y axis of an accelerometer sending x y z, on one stream only
address = "/pi/acc"
arg = 1
param = "mix"
input = [10, 20]
curve = 2
stream = "mapped"

[[map]]                 # an output range wider than the parameter's: clipped to bpm's 20..300
address = "/pi/knob"
param = "bpm"
input = [0, 1]
output = [0, 1000]

[[map]]                 # an int parameter, over its own range (1..16) when `output` is left out
address = "/pi/steps"
param = "beats"
input = [0, 1]
"""


@pytest.fixture(scope="module")
def mapped(tmp_path_factory, _inbox):
    path = tmp_path_factory.mktemp("map") / "sensors.toml"
    path.write_text(MAP)
    w = WorkerProc("--model", "loopback", "--osc-map", str(path), osc_reply=_inbox.port)
    yield w, SimpleUDPClient("127.0.0.1", w.osc_port)
    w.stop()


def until(client: Client, name: str, ok, timeout: float = 5.0):
    """The stream's value of `name` once `ok(value)` holds (the map applies values on the worker's control tick)."""
    deadline = time.monotonic() + timeout
    while True:
        value = client.status().params[name]
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def worker_status(client: Client) -> W.Status:
    client.send(W.StatusQuery(stream="*"))
    return client._wait(lambda m: isinstance(m, W.Status) and m.stream == "*")


def test_values_are_scaled_and_clipped_to_both_ranges_on_the_stream_named(mapped):
    w, osc = mapped
    with Client(w.address, stream="mapped", rate=48000, channels=1) as c, \
            Client(w.address, stream="other", rate=48000, channels=1) as other:
        before = worker_status(c).osc_map
        osc.send_message("/pi/acc", [0.0, 15.0, 3.0])       # y = 15: half way, curve 2 -> 0.25
        assert until(c, "mix", lambda v: v != 1.0) == pytest.approx(0.25)
        osc.send_message("/pi/acc", [0.0, 50.0, 3.0])       # beyond the input range: clipped to its max
        assert until(c, "mix", lambda v: v != 0.25) == pytest.approx(1.0)
        osc.send_message("/pi/acc", [0.0, -5.0, 3.0])
        assert until(c, "mix", lambda v: v != 1.0) == pytest.approx(0.0)
        assert other.status().params["mix"] == 1.0            # the entry names stream "mapped" only
        osc.send_message("/pi/knob", 1.0)                     # 1000 asked, bpm stops at 300
        assert until(c, "bpm", lambda v: v != 120.0) == 300.0
        assert until(other, "bpm", lambda v: v != 120.0) == 300.0  # stream "*": every stream
        osc.send_message("/pi/steps", 0.43)                   # 1 + 15 * 0.43 = 7.45, rounded
        assert until(c, "beats", lambda v: v != 4) == 7
        after = worker_status(c).osc_map
    assert after["received"] - before["received"] == 5
    assert after["clipped"] - before["clipped"] == 2
    assert after["entries"] == 4


def test_a_stream_opened_later_gets_the_values(mapped):
    w, osc = mapped
    osc.send_message("/pi/acc", [0.0, 12.0, 0.0])             # stream "mapped" is not open: (0.2)^2 waits for it
    osc.send_message("/pi/steps", 0.0)                        # every stream: beats 1, the default of later ones
    time.sleep(0.2)
    with Client(w.address, stream="mapped", rate=48000, channels=1) as c:
        assert c.status().params["beats"] == 1                # at once: a "*" entry sets the default
        assert until(c, "mix", lambda v: v != 1.0) == pytest.approx(0.04)  # within HOLD_S (1 s)


def test_values_glide_with_the_time_constant(mapped):
    w, osc = mapped
    with Client(w.address, stream="glide", rate=48000, channels=1) as c:
        osc.send_message("/pi/light", 25)                     # the first reading sets the value at once
        assert until(c, "gain", lambda v: v != 1.0) == pytest.approx(0.5)
        osc.send_message("/pi/light", 100)                    # then it glides towards 2 (tau 200 ms)
        seen = [until(c, "gain", lambda v: v > 0.5)]
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0 and seen[-1] < 2.0 - 1e-3:
            time.sleep(0.05)
            seen.append(c.status().params["gain"])
    assert 0.5 < seen[0] < 1.8, seen[:3]                      # not a jump
    assert all(b >= a for a, b in zip(seen, seen[1:])), seen  # towards the target only
    assert any(1.0 < v < 1.95 for v in seen), seen            # in between for a while
    assert seen[-1] == pytest.approx(2.0, abs=1e-3)           # and there after ~8 time constants at most


def test_unknown_addresses_and_bad_arguments_are_ignored_and_counted(mapped, osc_inbox):
    w, osc = mapped
    with Client(w.address, stream="quiet", rate=48000, channels=1) as c:
        osc.send_message("/pi/light", 100)
        assert until(c, "gain", lambda v: v == 2.0) == 2.0    # settled (within 1e-4 of the span it snaps)
        before = worker_status(c).osc_map
        osc.send_message("/pi/nothing", 1.0)
        osc.send_message("/pi/light", "bright")               # not a number
        osc.send_message("/pi/acc", [1.0])                    # no argument 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as health:  # `/lmdm/status PORT`: answered there
            health.bind(("127.0.0.1", 0))
            health.settimeout(5)
            osc.send_message("/lmdm/status", health.getsockname()[1])
            got = {}
            while "/lmdm/worker" not in got:
                m = OscMessage(health.recvfrom(65536)[0])
                got[m.address] = list(m.params)
        after = worker_status(c).osc_map
        assert c.status().params["gain"] == 2.0
    assert after["unknown"] - before["unknown"] == 1 and after["last_unknown"] == "/pi/nothing"
    assert after["bad"] - before["bad"] == 2
    assert got["/lmdm/streams"] == ["quiet"]
    uptime, sessions, _underruns, _gaps, rss, entries, received, unknown, clipped, bad = got["/lmdm/worker"]
    assert uptime > 0 and sessions == 1 and rss > 0
    assert (entries, unknown, bad) == (4, after["unknown"], after["bad"])
    osc_inbox.sock.settimeout(0.3)                            # ignored: no /lmdm/error for a sensor
    with pytest.raises(OSError):
        while True:
            assert OscMessage(osc_inbox.sock.recvfrom(65536)[0]).address != "/lmdm/error"


BAD = [  # (the file, the line it fails on, words of the reason)
    ('[[map]]\naddress = "/a"\nparam = "gain"\ninput = [0, 1\n', 4, "not valid TOML"),
    ('# sensors\n\n[[map]]\naddress = "/a"\nparam = "gain"\ninput = [0, 1]\n\n[[map]]\naddress = "/b"\n'
     'param = "loudness"\ninput = [0, 1]\n', 10, "unknown parameter 'loudness'"),
    ('[[map]]\naddress = "/a"\nparam = "mix"\ninput = [5, 5]\n', 4, "min < max"),
    ('[[map]]\naddress = "/a"\nparam = "prompt"\ninput = [0, 1]\n', 3, "a map drives numbers"),
    ('[[map]]\naddress = "/a"\nparam = "mix"\ninput = [0, 1]\n[[map]]\naddress = "/b"\nparam = "mix"\n'
     'input = [0, 1]\n', 5, "driven by the entry at line 1"),
    ('[[map]]\naddress = "/a"\nparam = "mix"\ninput = [0, 1]\nsmooth = 100\n', 5, "unknown key 'smooth'"),
    ('tick_ms = 10\n', 1, "at least one [[map]]"),
    ('[[map]]\naddress = "/a"\nparam = "seed"\ninput = [0, 1]\n', 3, "restarts the noise"),
]


@pytest.mark.parametrize("text,line,reason", BAD)
def test_a_bad_map_file_is_refused_with_the_line_it_fails_on(tmp_path, text, line, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(oscmap.MapError) as err:
        oscmap.load(path)
    assert err.value.line == line, str(err.value)
    assert reason in err.value.reason
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_lmdm_serve_refuses_a_bad_map_at_start(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD[1][0])
    run = subprocess.run([LMDM, "serve", "--model", "loopback", "--zmq", "tcp://127.0.0.1:0", "--osc", "127.0.0.1:0",
                          "--osc-map", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"{path}:10: unknown parameter 'loudness'" in run.stderr
    assert "lmdm serve:" not in run.stdout                   # refused before anything was bound


def test_the_one_pole_is_exact_in_time_whatever_the_tick_spacing(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MAP)
    values = {}
    for spacing in (0.005, 0.05, 0.3):
        now = [0.0]
        m = oscmap.load(path)
        m.clock = lambda: now[0]
        m.handle(_msg("/pi/light", 0.0))
        m.handle(_msg("/pi/light", 100.0))
        got = {}
        while now[0] < 0.9 - 1e-9:
            now[0] += spacing
            got.update({name: v for _, name, v in m.tick(now[0])})
        values[spacing] = got["gain"]
    expected = 2.0 * (1 - np.exp(-0.9 / 0.2))
    assert all(v == pytest.approx(expected, rel=1e-9) for v in values.values()), values


def test_lmdm_live_applies_the_map_once_per_audio_callback(tmp_path):
    """`lmdm live --osc-map`: the map's own socket (Listener) and the live engine loop; the played audio carries the
    mapped gain (the loopback plays the input one block late, times gain)."""
    path = tmp_path / "m.toml"
    path.write_text(MAP)
    m = oscmap.load(path)
    listener = oscmap.Listener(m, "127.0.0.1", 0, lambda host: host == "127.0.0.1")
    listener.start()
    rate, frames = 48000, 512
    runner = Live(LoopbackEngine(block=2048), rate, 1, 1, P.defaults(), use_tone=True, record=True, osc_map=m)
    runner.start()
    try:
        SimpleUDPClient("127.0.0.1", listener.port).send_message("/pi/light", 25.0)  # gain 0.5
        deadline = time.monotonic() + 5
        while m.counters.received == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        out = np.zeros((frames, 1), np.float32)
        for _ in range(16):
            runner.callback(None, out, frames)
            time.sleep(0.01)                                  # the engine thread keeps up with a real callback
    finally:
        runner.stop()
        listener.stop()
    assert runner.session.values["gain"] == 0.5
    played = runner.recording()[-frames:]
    t = runner.clock - frames - runner.latency
    np.testing.assert_allclose(played, tone(t, frames, rate, 1) * 0.5, atol=1e-6)


def test_lmdm_live_with_a_map_through_jack(jack_server, tmp_path):
    """The command itself: `lmdm live --osc-map` through a real JACK server takes the sensor's value mid-run."""
    (tmp_path / "m.toml").write_text(MAP)
    out = tmp_path / "played.wav"
    live = subprocess.Popen([LMDM, "live", "--host-api", "JACK", "--model", "loopback", "--block", "1024", "--input",
                             "tone", "--seconds", "3", "--record", str(out), "--osc-map", str(tmp_path / "m.toml"),
                             "--osc", "127.0.0.1:0"], env=jack_server, stdout=subprocess.PIPE, text=True)
    try:
        port = next(int(m.group(1)) for line in live.stdout
                    if (m := re.search(r"osc map listening on 127\.0\.0\.1:(\d+)", line)))
        SimpleUDPClient("127.0.0.1", port).send_message("/pi/light", 25.0)  # gain 0.5 from about now on
        rest = live.communicate(timeout=60)[0]
    finally:
        live.kill()
    assert live.returncode == 0
    assert "map: received 1 unknown 0" in rest
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    expect = np.concatenate([np.zeros((1024, y.shape[1]), np.float32), tone(0, len(y), rate, y.shape[1])[:-1024]])
    tail = slice(len(y) - rate // 2, len(y))   # the last half second: long after the message
    played = np.abs(y[tail]).max(axis=1) > 0
    assert played.mean() > 0.5
    np.testing.assert_allclose(y[tail][played], expect[tail][played] * 0.5, atol=1e-6)


def _msg(address: str, *args: float) -> OscMessage:
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build()


def test_the_map_of_docs_installations_loads(tmp_path):
    doc = (Path(__file__).parents[2] / "docs" / "installations.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert blocks
    for i, text in enumerate(blocks):
        (tmp_path / f"{i}.toml").write_text(text)
        m = oscmap.load(tmp_path / f"{i}.toml")
        assert {e.param for e in m.mappings} == {"gain", "mix", "bpm"}
