"""The external's C parts without Pd: rings, the audio-thread link, and the wire protocol against bridge/protocol.py."""
from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import msgpack
import numpy as np
import pytest

from bridge import protocol as W
from pdrun import PD_DIR

HERE = Path(__file__).parent


def build(out: Path, sanitize: str) -> Path:
    sources = [HERE / "c" / "lmdm_unit.c"] + [PD_DIR / f for f in ("protocol.c", "rings.c", "link.c")]
    subprocess.run(["cc", "-std=gnu11", "-O1", "-g", "-Wall", "-Werror", f"-fsanitize={sanitize}",
                    f"-I{PD_DIR}", *map(str, sources), "-o", str(out), "-lmsgpackc", "-lpthread"],
                   check=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def unit(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("c") / "lmdm_unit", "address,undefined")


def test_two_threads_under_thread_sanitizer(tmp_path):
    exe = build(tmp_path / "lmdm_unit_tsan", "thread")
    res = subprocess.run([str(exe), "stress"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("ok"), res.stdout + res.stderr
    assert "ThreadSanitizer" not in res.stderr, res.stderr


def frames_of(path: Path) -> list[bytes]:
    data, out, at = path.read_bytes(), [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


def test_rings_and_link(unit):
    res = subprocess.run([str(unit), "selftest"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_c_error_codes_match_python(unit):
    res = subprocess.run([str(unit), "codes"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert tuple(res.stdout.split()) == W.ERROR_CODES


def test_c_encoding_decodes_in_python(unit, tmp_path):
    path = tmp_path / "frames.bin"
    subprocess.run([str(unit), "encode", str(path)], check=True, timeout=60)
    msgs = [W.decode(f) for f in frames_of(path)]
    hello, plain, audio, request, prompt, cfg, steps, reset, status, ping, bye = msgs
    assert hello == W.Hello(stream="pd-1", rate=48000, channels=2, out_channels=2, client="lmdm~ unit", mode="jam",
                            block_size="short")
    assert plain == W.Hello(stream="pd-2", rate=44100, channels=1, out_channels=1, client="lmdm~ unit")
    assert "block_size" not in msgpack.unpackb(frames_of(path)[1])   # left out, so the worker's default applies
    assert isinstance(audio, W.Audio) and audio.index == 123456789012 and audio.rate == 48000
    assert audio.play == 123456700000  # the play position the worker judges lateness by
    # interleaved little-endian float32: frame 0 (ch0, ch1), frame 1, ...
    np.testing.assert_array_equal(audio.data, np.array([[0.5, 2.0], [-0.25, 3.0], [1.0, -4.0]], np.float32))
    assert request == W.Request(index=4096, frames=2048, play=1024)
    assert (prompt.name, prompt.value) == ("prompt", "warm pads")
    assert (cfg.name, cfg.value, steps.name, steps.value) == ("cfg", 2.5, "steps", 8)
    assert isinstance(reset, W.Reset) and isinstance(status, W.StatusQuery) and isinstance(bye, W.Bye)
    assert ping.t == 1.5
    assert all(msgpack.unpackb(f)["v"] == 1 for f in frames_of(path))


def test_python_encoding_decodes_in_c(unit, tmp_path):
    gen = np.array([[0.25, -1.0], [3.5, 0.0]], np.float32)
    good = [
        W.Welcome(stream="s1", rate=44100, channels=1, out_channels=2, block=4096, latency=8192, max_frames=8192,
                  heartbeat_ms=1000, model={"name": "tiny", "kind": "lmdm", "sample_rate": 44100, "channels": 2,
                                            "block_sizes": ["long", "short"]},
                  modes=["text", "delay"], mode="delay", block_size="short"),
        W.Generated(index=77, rate=44100, data=gen),
        W.Status(stream="s1", compute_ms=1.5, compute_ms_avg=2.0, queue=3, underruns=4, gaps=5, blocks=6,
                 latency=8192, late_frames=7, recoveries=8, clipped=9, params={"cfg": 2.0}),
        W.Ack(name="cfg", value=2.5, understood=None),
        W.Error(code="bad_param", text="no such thing", ref="param"),
        W.Pong(t=0.25),
    ]
    bad = [b"\x92\x01\x02", msgpack.packb({"v": 2, "type": "pong", "t": 0}),
           msgpack.packb({"v": 1, "type": "generated", "index": 0, "frames": 2, "channels": 1, "rate": 44100,
                          "data": b"\x00" * 4}),
           msgpack.packb({"v": 1, "type": "welcome", "stream": "s"}), b"\xc1"]
    path = tmp_path / "in.bin"
    path.write_bytes(b"".join(struct.pack("<I", len(f)) + f for f in [W.encode(m) for m in good] + bad))
    lines = subprocess.run([str(unit), "decode", str(path)], check=True, capture_output=True, text=True,
                           timeout=60).stdout.splitlines()
    assert lines[:6] == [
        "welcome stream=s1 rate=44100 channels=1 out_channels=2 block=4096 latency=8192 max_frames=8192 "
        "heartbeat_ms=1000 model=tiny/lmdm/44100/2 block_sizes=long short modes=text delay mode=delay "
        "block_size=short",
        "generated index=77 frames=2 channels=2 rate=44100 samples=0.25,-1,3.5,0",
        "status compute_ms=1.5 compute_ms_avg=2 queue=3 underruns=4 gaps=5 blocks=6 latency=8192 late_frames=7 "
        "recoveries=8 clipped=9",
        "ack name=cfg value=2.5 num=1",
        "error code=bad_param text=no such thing ref=param",
        "pong t=0.25",
    ]
    assert lines[6:] == [
        "refused: the frame is not a msgpack map",
        "refused: protocol version 'v' is missing or not 1",
        "refused: generated data holds 4 bytes, expected frames*channels*4 = 8",
        "refused: field 'rate' is missing or not an integer",
        "refused: the frame is not a msgpack map",
    ]


def build_spawner(out: Path, sanitize: str) -> Path:
    sources = [HERE / "c" / "spawner_unit.c", PD_DIR / "spawner.c", PD_DIR / "rings.c"]
    subprocess.run(["cc", "-std=gnu11", "-O1", "-g", "-Wall", "-Werror", f"-fsanitize={sanitize}", f"-I{PD_DIR}",
                    *map(str, sources), "-o", str(out), "-lpthread"], check=True, timeout=120)
    return out


@pytest.mark.parametrize("sanitize", ["address,undefined", "thread"])
def test_spawner_starts_restarts_and_stops_a_real_child(tmp_path, sanitize):
    """spawner.c with /bin/sh as the worker: lines relayed (the first ones, later only errors), a SIGKILLed child
    started again, the last release stops it, a listening port or a remote address starts nothing."""
    exe = build_spawner(tmp_path / "spawner_unit", sanitize)
    res = subprocess.run([str(exe), "all"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr
    assert "Sanitizer" not in res.stderr, res.stderr
