"""The wire format itself: byte layout, round trips, limits, unknown fields (no sockets needed)."""
from __future__ import annotations

import msgpack
import numpy as np
import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge import osc, params
from bridge import protocol as W
from bridge.work import SetParam, ToOsc


def test_audio_is_little_endian_float32_interleaved():
    data = np.array([[1.0, -1.0], [0.5, 0.25]], np.float32)  # frame 0: ch0, ch1; frame 1: ch0, ch1
    raw = msgpack.unpackb(W.encode(W.Audio(index=7, rate=48000, data=data)))
    assert raw == {"v": 1, "type": "audio", "index": 7, "frames": 2, "channels": 2, "rate": 48000,
                   "data": np.array([1.0, -1.0, 0.5, 0.25], "<f4").tobytes()}


@pytest.mark.parametrize("msg", [
    W.Hello(stream="a-1", rate=44100, channels=1, out_channels=2, client="t", mode="delay"),
    W.Request(index=5, frames=100), W.Param(name="cfg", value=2.5), W.Reset(), W.StatusQuery(), W.Ping(t=1.25),
    W.Bye(),
])
def test_client_messages_round_trip(msg):
    assert W.decode(W.encode(msg)) == msg


def test_worker_messages_round_trip_and_ignore_unknown_fields():
    welcome = W.Welcome(stream="s", rate=48000, channels=2, out_channels=2, block=4096, latency=4096,
                        max_frames=8192, heartbeat_ms=1000, model={"name": "loopback"}, modes=["delay"], mode="delay")
    raw = msgpack.unpackb(W.encode(welcome))
    raw["from_the_future"] = {"x": 1}
    assert W.decode(msgpack.packb(raw), W.TO_CLIENT) == welcome
    err = W.decode(W.encode(W.Error(code="rate", text="no", ref=None)), W.TO_CLIENT)
    assert (err.code, err.ref) == ("rate", None)
    g = W.decode(W.encode(W.Generated(index=3, rate=48000, data=np.ones((4, 1), np.float32))), W.TO_CLIENT)
    assert g.frames == 4 and g.index == 3 and (g.data == 1).all()


def test_limits():
    ok = {"v": 1, "type": "request", "index": 0, "frames": W.MAX_FRAMES}
    assert W.decode(msgpack.packb(ok)).frames == W.MAX_FRAMES
    with pytest.raises(W.ProtocolError) as e:
        W.decode(msgpack.packb({**ok, "frames": W.MAX_FRAMES + 1}))
    assert e.value.code == "too_large"
    with pytest.raises(W.ProtocolError) as e:
        W.decode(msgpack.packb({"v": 1, "type": "hello", "stream": "x" * 65, "rate": 48000, "channels": 1,
                                "out_channels": 1}))
    assert e.value.code == "bad_field" and "stream" in e.value.text
    with pytest.raises(W.ProtocolError) as e:
        W.decode(msgpack.packb({"v": 1, "type": "request", "index": True, "frames": 1}))
    assert e.value.code == "bad_field"  # a bool is not an int here


def test_param_table_clamps_and_refuses():
    assert params.validate("gain", 10) == 4.0 and params.validate("steps", 7.6) == 8
    assert params.validate("prompt", "  warm   pad ") == "warm pad"
    assert params.validate("curves", "pitch, loudness") == "pitch,loudness"
    for name, value in (("gain", "loud"), ("mode", "x"), ("nope", 1), ("cfg", float("inf")), ("curves", "color")):
        with pytest.raises(params.ParamError):
            params.validate(name, value)
    assert set(params.defaults()) == set(params.SPECS)


def test_osc_bundles_are_unpacked():
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/lmdm/gain", 0.5), ("/lmdm/stream/x/steps", 4)):
        m = OscMessageBuilder(address=address)
        m.add_arg(value)
        bundle.add_content(m.build())
    assert osc.commands(bundle.build().dgram, "127.0.0.1") == [
        SetParam(None, "gain", 0.5, ToOsc("/lmdm/gain")), SetParam("x", "steps", 4, ToOsc("/lmdm/stream/x/steps"))]


def test_docs_cover_every_parameter_and_error_code():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    osc_doc = (root / "docs" / "osc.md").read_text()
    proto_doc = (root / "docs" / "protocol.md").read_text()
    for name in params.SPECS:
        assert f"`/lmdm/{name}`" in osc_doc, name
    for code in W.ERROR_CODES:
        assert f"`{code}`" in proto_doc, code
