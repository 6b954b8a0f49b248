"""Issue 13 (reliability) against a real `lmdm serve --model loopback`: a refused hello, lateness as the client states
it, the free-after rule, strict fields, stream take-over, OSC error addresses and a flood of malformed OSC."""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time

import msgpack
import numpy as np
import pytest

from bridge import protocol as W
from bridge.client import Client, ClientError
from bridge.osc import message
from tests.bridge.conftest import WorkerProc


def noise(n: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, channels)).astype(np.float32)


def raw(**fields) -> bytes:
    return msgpack.packb({"v": 1, **fields}, use_bin_type=True)


def test_a_refused_hello_leaves_the_session_streaming(loopback_worker):
    """Finding 1: a hello with an unknown mode under another stream id is refused and changes nothing."""
    x = noise(3 * 48000, seed=1)
    with Client(loopback_worker.address, stream="keep", rate=48000, channels=2) as c:
        L = c.welcome.latency
        y1 = c.stream_array(x[:48000])
        c.send_raw(raw(type="hello", stream="other", rate=48000, channels=2, out_channels=2, client="t",
                       mode="karaoke"))
        err = c.recv()
        assert (err.TYPE, err.code, err.ref) == ("error", "bad_field", "hello") and "mode" in err.text
        y2 = c.stream_array(x[48000:], start=48000)  # the same clock, on: every position exactly once
        st = c.status()
    y = np.concatenate([y1, y2])
    assert np.array_equal(y[L:], x[:-L]) and not y[:L].any()
    assert st.stream == "keep" and st.gaps == 0


def test_underruns_count_what_the_stated_play_position_passed(loopback_worker):
    """Finding 3: nothing late -> 0; a request answered after the client's play position passed it -> counted, with
    the late frames (those before the play position) in late_frames."""
    with Client(loopback_worker.address, stream="late", rate=48000, channels=1) as c:
        L = c.welcome.latency
        c.request(L, 1000, play=0)
        c.send_audio(0, np.ones((1000, 1)), play=0)
        assert c.recv().frames == 1000
        st = c.status()
        assert (st.underruns, st.late_frames) == (0, 0)
        c.request(L + 1000, 1000, play=100)
        c.send_audio(1000, np.ones((1000, 1)), play=L + 1300)  # the client already plays 300 frames into it
        assert c.recv().index == L + 1000
        st = c.status()
        assert (st.underruns, st.late_frames) == (1, 300)
        c.request(L + 2000, 1000)  # a client that states nothing is never judged late
        c.send_audio(2000, np.ones((1000, 1)))
        assert c.recv().index == L + 2000
        assert c.status().underruns == 1


def test_the_stream_is_freed_after_five_heartbeats_and_not_before(_inbox):
    """Finding 5: with --heartbeat-ms and no --client-timeout, a silent client's stream lives 5 x heartbeat_ms."""
    hb = 300
    w = WorkerProc("--model", "loopback", "--heartbeat-ms", str(hb), osc_reply=_inbox.port)
    try:
        c = Client(w.address, stream="ttl", rate=48000, channels=1)
        c.connect()
        c.send(W.Ping(t=1.0))
        last = time.monotonic()  # the last message this client sends
        seen = []
        while time.monotonic() - last < 5 * hb / 1000 + 3:
            present = "ttl" in _streams(w, _inbox)
            seen.append((time.monotonic() - last, present))
            if not present:
                break
            time.sleep(0.05)
        alive = [t for t, p in seen if p]
        gone = [t for t, p in seen if not p]
        assert gone, "the silent stream was never freed"
        assert max(alive) >= 0.9 * 5 * hb / 1000 - 0.1  # alive until close to the limit
        assert gone[0] >= 5 * hb / 1000                  # never before it
        m = re.search(r"ttl: client silent for ([\d.]+) s", "".join(w.log)) if w.wait_log("ttl: client silent") \
            else None
        assert m and float(m.group(1)) >= 5 * hb / 1000
        c.sock.close(linger=0)
    finally:
        w.stop()


def _streams(worker: WorkerProc, inbox) -> list:
    inbox.drain()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(message("/lmdm/status", []), ("127.0.0.1", worker.osc_port))
    return inbox.until("/lmdm/streams")[1]


@pytest.mark.parametrize("what,payload", [
    ("ping without t", raw(type="ping")),
    ("hello without client", raw(type="hello", stream="nc", rate=48000, channels=1, out_channels=1)),
    ("ext as an index", raw(type="request", index=msgpack.ExtType(5, b"\x01\x02"), frames=10)),
    ("ext as a parameter value", raw(type="param", name="gain", value=msgpack.ExtType(1, b"x"))),
])
def test_missing_and_ext_fields_are_bad_field(loopback_worker, what, payload):
    """Finding 5: fields documented as required are required; an ext value is a field of the wrong type."""
    with Client(loopback_worker.address, stream="strict", rate=48000, channels=1) as c:
        c.send_raw(payload)
        err = c.recv()
        assert err.TYPE == "error" and err.code == "bad_field", (what, err)
        c.send_raw(raw(type="ping", t=2.5, future=msgpack.ExtType(3, b"ok")))  # an ext in an unknown field: ignored
        assert W.unpack(c.sock.recv())["type"] == "pong"


def test_a_take_over_is_told_to_the_first_connection(loopback_worker):
    """Finding 6: the second hello of a stream id wins; the first connection gets `taken_over`, not silence."""
    x = noise(24000, seed=4)
    first = Client(loopback_worker.address, stream="dup", rate=48000, channels=2)
    first.connect()
    try:
        with Client(loopback_worker.address, stream="dup", rate=48000, channels=2) as second:
            err = first.recv()
            assert (err.code, err.ref) == ("taken_over", "hello")
            first.send_audio(0, x[:100])
            assert first.recv().code == "taken_over"  # and again for whatever it sends, pings included
            first.send(W.Ping(t=1.0))
            assert first.recv().code == "taken_over"
            y = second.stream_array(x)
            assert np.array_equal(y[4096:], x[:-4096])
    finally:
        first.close()


def test_stereo_to_mono_averages(loopback_worker):
    """Finding 6, channel mapping: out_channels 1 from 2 input channels is their mean."""
    x = noise(20000, seed=5)
    with Client(loopback_worker.address, stream="downmix", rate=44100, channels=2, out_channels=1) as c:
        y = c.stream_array(x)
    np.testing.assert_allclose(y[4096:, 0], x[:-4096].mean(axis=1), rtol=0, atol=1e-7)


@pytest.mark.skipif(shutil.which("oscsend") is None, reason="oscsend (Debian liblo-tools) missing")
def test_osc_errors_name_the_address(loopback_worker, osc_inbox):
    """Finding 6: /lmdm/error's third argument is the OSC address, also for errors found by the engine."""
    for address in ("/lmdm/stream/nobody/gain", "/lmdm/stream/nobody/reset"):
        args = ["f", "0.5"] if address.endswith("gain") else []
        subprocess.run(["oscsend", "127.0.0.1", str(loopback_worker.osc_port), address, *args], check=True,
                       timeout=10)
        _, params = osc_inbox.until("/lmdm/error")
        assert params[0] == "no_session" and params[2] == address


def test_a_flood_of_malformed_osc_logs_a_line_not_a_flood(loopback_worker, osc_inbox):
    """Finding 5: python-osc logs a WARNING per datagram with an unknown type tag; the worker lets one through per
    period and still answers every datagram."""
    before = sum("WARNING" in line for line in loopback_worker.log)
    dgram = b"/lmdm/gain\x00\x00,X\x00\x00"  # a type tag python-osc does not know
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(500):
            s.sendto(dgram, ("127.0.0.1", loopback_worker.osc_port))
            if i % 50 == 0:
                time.sleep(0.01)  # let the worker read; the point is the log, not UDP loss
        assert _pong(s, loopback_worker, osc_inbox), "the worker stopped answering OSC"
    deadline = time.monotonic() + 5  # the log is read by a thread of its own: let it catch up
    while sum("WARNING" in line for line in loopback_worker.log) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    warnings = [line for line in loopback_worker.log if "WARNING" in line][before:]
    assert 1 <= len(warnings) <= 2, warnings
    assert loopback_worker.proc.poll() is None


def _pong(s: socket.socket, worker: WorkerProc, inbox) -> bool:
    """Ping until a pong comes (a datagram may be lost while the flood drains)."""
    for _ in range(10):
        s.sendto(message("/lmdm/ping", []), ("127.0.0.1", worker.osc_port))
        try:
            inbox.until("/lmdm/pong", timeout=2)
            return True
        except TimeoutError:
            continue
    return False


def test_bound_input_clips_and_zeroes():
    clean = np.array([[0.5], [-1.0]], np.float32)
    same, changed = W.bound_input(clean)
    assert same is clean and changed == 0
    wild = np.array([[np.nan], [np.inf], [3.4e38], [-1e20], [0.25]], np.float32)
    out, changed = W.bound_input(wild)
    assert changed == 4 and out[:, 0].tolist() == [0.0, 0.0, W.CLIP, -W.CLIP, 0.25]
    assert np.isnan(wild[0, 0])  # the caller's array is left alone


def test_client_error_on_refused_hello_is_raised(loopback_worker):
    with pytest.raises(ClientError) as e:
        Client(loopback_worker.address, stream="nomode", rate=48000, channels=1, mode="karaoke").connect()
    assert e.value.error.code == "bad_field"


def test_rate_limit_lets_one_line_per_period_through_and_counts_the_rest():
    import logging

    from bridge.osc import RateLimit

    def rec(path: str) -> logging.LogRecord:
        return logging.LogRecord("root", logging.WARNING, path, 1, "Unhandled parameter type: X", (), None)

    f = RateLimit("/lib/pythonosc", period=3600)
    assert [f.filter(rec("/lib/pythonosc/osc_message.py")) for _ in range(5)] == [True] + [False] * 4
    assert f.held == 4 and f.filter(rec("/elsewhere/app.py"))  # other sources are never held back
    f.last -= 3600
    r = rec("/lib/pythonosc/osc_message.py")
    assert f.filter(r) and "4 more like it" in r.getMessage() and f.held == 0


def test_session_lateness_is_judged_at_send_time_by_the_shared_play_position():
    """In-process: the session reads the PlayPosition the I/O thread writes, when it answers."""
    from bridge.engines import LoopbackEngine
    from bridge.params import defaults
    from bridge.session import PlayPosition, Session

    play = PlayPosition()
    s = Session(W.Hello(stream="u", rate=48000, channels=1, out_channels=1, client="t"), LoopbackEngine(100),
                defaults(), play=play)
    s.request(100, 50)
    s.audio(0, np.ones((20, 1), np.float32))
    play.value = 90                      # not yet at 100: on time
    assert [g.frames for g in s.pump()] == [20]
    play.value = 130                     # 10 frames into [120, 150) before it leaves
    s.audio(20, np.ones((30, 1), np.float32))
    assert [g.index for g in s.pump()] == [120]
    assert (s.underruns, s.late_frames) == (1, 10)
    s.reset()
    assert (s.underruns, s.late_frames, s.clipped) == (0, 0, 0)
