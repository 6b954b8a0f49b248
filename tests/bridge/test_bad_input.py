"""Bad input over ZeroMQ and OSC: a clear error each time, while a good client keeps being served."""
from __future__ import annotations

import os
import socket
import subprocess

import msgpack
import numpy as np
import pytest

from bridge import protocol as W
from bridge.client import Client

GOOD_AUDIO = {"v": 1, "type": "audio", "index": 0, "frames": 4, "channels": 1, "rate": 48000,
              "data": np.zeros(4, "<f4").tobytes()}


def pack(**over) -> bytes:
    m = dict(GOOD_AUDIO)
    m.update(over)
    return msgpack.packb({k: v for k, v in m.items() if v is not ...}, use_bin_type=True)


BAD_FRAMES = [
    ("random bytes", os.urandom(64) + b"\xc1", "bad_msgpack"),
    ("truncated msgpack", pack()[:-7], "bad_msgpack"),
    ("not a map", msgpack.packb([1, 2, 3]), "bad_msgpack"),
    ("wrong version", pack(v=2), "version"),
    ("no version", pack(v=...), "version"),
    ("unknown type", pack(type="dance"), "unknown_type"),
    ("index wrong type", pack(index="zero"), "bad_field"),
    ("index negative", pack(index=-5), "bad_field"),
    ("frames missing", pack(frames=...), "bad_field"),
    ("oversized frames field", pack(frames=70000, data=b""), "too_large"),
    ("oversized payload", pack(frames=4, data=b"\0" * (W.MAX_PAYLOAD + 16)), "too_large"),
    ("data length mismatch", pack(data=b"\0" * 12), "bad_audio"),
    ("NaN samples", pack(data=np.array([0, np.nan, 0, 0], "<f4").tobytes()), "bad_audio"),
    ("Inf samples", pack(data=np.array([0, np.inf, 0, 0], "<f4").tobytes()), "bad_audio"),
    ("rate differs from hello", pack(rate=44100), "rate"),
    ("unsupported rate", pack(rate=12345), "rate"),
    ("channels out of range", pack(channels=9, frames=1, data=b"\0" * 36), "bad_field"),
    ("param unknown", msgpack.packb({"v": 1, "type": "param", "name": "volume", "value": 1}), "bad_param"),
    ("param wrong type", msgpack.packb({"v": 1, "type": "param", "name": "cfg", "value": "lots"}), "bad_param"),
    ("param NaN", msgpack.packb({"v": 1, "type": "param", "name": "cfg", "value": float("nan")}), "bad_param"),
    ("param bad mode", msgpack.packb({"v": 1, "type": "param", "name": "mode", "value": "karaoke"}), "bad_param"),
    ("request zero frames", msgpack.packb({"v": 1, "type": "request", "index": 0, "frames": 0}), "bad_field"),
]


def test_every_bad_frame_gets_a_clear_error_and_the_good_client_is_served(loopback_worker):
    good = Client(loopback_worker.address, stream="good", rate=48000, channels=2)
    bad = Client(loopback_worker.address, stream="bad", rate=48000, channels=1)
    good.connect()
    bad.connect()
    x = np.random.default_rng(3).uniform(-1, 1, (48000, 2)).astype(np.float32)
    try:
        for i, (what, payload, code) in enumerate(BAD_FRAMES):
            bad.send_raw(payload)
            reply = bad.recv(timeout=5)
            assert isinstance(reply, W.Error), what
            assert reply.code == code, f"{what}: {reply}"
            assert reply.text and len(reply.text) < 300, what
            # The good client streams on between the bad frames.
            y = good.stream_array(x[:8192], start=i * 8192)
            assert np.array_equal(y[4096:], x[:4096]), what
        # NaN frames are replaced by silence, not dropped from the clock.
        assert bad.status().gaps == 0
    finally:
        good.close()
        bad.close()


def test_session_less_messages_and_backward_requests(loopback_worker):
    with Client(loopback_worker.address, stream="order", rate=48000, channels=1) as c:
        c.request(10000, 100)
        c.request(10050, 100)
        err = c.recv()
        assert (err.TYPE, err.code, err.ref) == ("error", "bad_request", "request")
        c.send(W.Bye())
        c.send_audio(0, np.zeros((4, 1)))
        err = c.recv()
        assert err.code == "no_session"
        welcome = c.connect()  # hello again opens it again
        assert welcome.stream == "order"


def test_ping_pong_and_unknown_fields_are_ignored(loopback_worker):
    with Client(loopback_worker.address, stream="future", rate=48000, channels=1) as c:
        c.send_raw(msgpack.packb({"v": 1, "type": "ping", "t": 1.5, "shiny_new_field": [1, 2]}))
        raw = W.unpack(c.sock.recv())
        assert raw["type"] == "pong" and raw["t"] == 1.5


OSC_BAD = [
    (["/lmdm/volume", "f", "0.5"], "unknown_address"),
    (["/somewhere/else", "i", "1"], "unknown_address"),
    (["/lmdm/stream/a/b/c", "i", "1"], "unknown_address"),
    (["/lmdm/cfg", "s", "loud"], "bad_param"),
    (["/lmdm/mode", "s", "karaoke"], "bad_param"),
    (["/lmdm/steps"], "bad_param"),
    (["/lmdm/stream/nobody/gain", "f", "0.5"], "no_session"),
]


@pytest.mark.parametrize("args,code", OSC_BAD)
def test_bad_osc_gets_an_error_reply(loopback_worker, osc_inbox, args, code):
    subprocess.run(["oscsend", "127.0.0.1", str(loopback_worker.osc_port), *args], check=True, timeout=10)
    address, params = osc_inbox.until("/lmdm/error")
    assert params[0] == code and params[1]


def test_osc_garbage_and_clamping(loopback_worker, osc_inbox):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\x00garbage\xff", ("127.0.0.1", loopback_worker.osc_port))
        assert osc_inbox.until("/lmdm/error")[1][0] in ("bad_osc", "unknown_address")
    subprocess.run(["oscsend", "127.0.0.1", str(loopback_worker.osc_port), "/lmdm/cfg", "f", "99"], check=True)
    assert osc_inbox.until("/lmdm/ack")[1] == ["*", "cfg", 20.0]  # clamped to the range, and says so
    assert loopback_worker.proc.poll() is None
