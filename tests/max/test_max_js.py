"""The Max package's JavaScript, run in real Node: the node.script bridge against a real `lmdm serve --model loopback`
(tests/max/bridge.test.mjs), the abstraction's saved patch run with the real scripts (abstraction.test.mjs), the v8
buffer~ script (buffer.test.mjs), and protocol.js checked against the Python definition of the same protocol
(bridge/protocol.py) in both directions."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge import protocol as pyproto
from tests.tiny_model import save_tiny

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
JS_DIR = ROOT / "patches/max/lmdm/javascript"
LMDM = Path(sys.executable).parent / "lmdm"


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not on PATH (scripts/install.sh --test expects Node 20)"
    assert (JS_DIR / "node_modules/zeromq").is_dir() and (JS_DIR / "node_modules/@msgpack/msgpack").is_dir(), (
        f"npm packages missing: run `npm ci` in {JS_DIR} (scripts/install.sh --test does)")
    return node


def _run_node_tests(name: str, timeout: float, **env_more: str) -> None:
    env = {**os.environ, "LMDM_BIN": str(LMDM), **env_more}
    proc = subprocess.run([_node(), "--test", "--test-reporter=tap", str(HERE / name)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    sys.stdout.write(proc.stdout[-6000:])
    assert proc.returncode == 0, f"node --test {name} failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout


def test_buffer_script() -> None:
    _run_node_tests("buffer.test.mjs", timeout=60)


def test_bridge_against_real_worker() -> None:
    assert LMDM.exists(), f"{LMDM} missing: the package must be installed in this interpreter's environment"
    _run_node_tests("bridge.test.mjs", timeout=180)


def test_bridge_block_size_against_real_workers(tmp_path) -> None:
    """tests/max/block_size.test.mjs: short then long blocks from the loopback, and a long-only checkpoint refusing
    short while the bridge keeps its session."""
    assert LMDM.exists(), f"{LMDM} missing"
    _run_node_tests("block_size.test.mjs", timeout=300, LMDM_LONG_ONLY=str(save_tiny(tmp_path / "long-only")))


def test_bridge_with_curve_keys_against_real_worker() -> None:
    """tests/max/curve.test.mjs: right keys stream, an unknown key or none get nothing and an `error auth` outlet."""
    assert LMDM.exists(), f"{LMDM} missing"
    _run_node_tests("curve.test.mjs", timeout=120)


def test_abstraction_as_saved_against_real_worker() -> None:
    """lmdm.bridge.maxpat's own boxes and patchlines, run by tests/max/patcher.mjs with the real scripts."""
    assert LMDM.exists(), f"{LMDM} missing"
    _run_node_tests("abstraction.test.mjs", timeout=120)


def test_bridge_starts_and_owns_its_worker() -> None:
    """tests/max/spawn.test.mjs: `spawn 1` / `@spawn 1` start a real worker, a killed one is started again and the
    stream resumes, the bridge ending (stdin closed, SIGTERM, SIGKILL) leaves none, remote endpoints start nothing."""
    assert LMDM.exists(), f"{LMDM} missing"
    _run_node_tests("spawn.test.mjs", timeout=300)


def _codec(mode: str, stdin: str = "") -> list[dict]:
    proc = subprocess.run([_node(), str(HERE / "codec.mjs"), mode], input=stdin, capture_output=True, text=True,
                          timeout=30, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_js_codec_error_codes_match_python() -> None:
    assert _codec("codes") == [list(pyproto.ERROR_CODES)]


def test_js_client_messages_decode_in_python() -> None:
    """Every frame protocol.js builds is accepted by the worker's own decoder, with the same field values."""
    frames = {m["type"]: base64.b64decode(m["b64"]) for m in _codec("encode")}
    assert set(frames) == set(pyproto.TO_WORKER), "protocol.js builds exactly the client messages of the doc"
    hello = pyproto.decode(frames["hello"])
    assert (hello.stream, hello.rate, hello.channels, hello.out_channels, hello.mode) == ("max-1", 48000, 2, 1, "delay")
    assert hello.block_size == "short"
    audio = pyproto.decode(frames["audio"])
    assert audio.index == 1234567 and audio.rate == 48000 and audio.play == 1230000
    np.testing.assert_array_equal(audio.data, np.array([[0.5, -0.5], [0.25, -0.25], [1, -1]], dtype=np.float32))
    request = pyproto.decode(frames["request"])
    assert (request.index, request.frames, request.play) == (1234567, 4096, 1230000)
    assert pyproto.decode(frames["param"]).value in ("warm analog pads", 2.5)
    ping = pyproto.unpack(frames["ping"])
    assert isinstance(ping["t"], float), "ping.t travels as a msgpack float even for a whole number"
    for kind in ("reset", "status", "bye"):
        assert pyproto.decode(frames[kind]).TYPE == kind
    assert pyproto.decode(frames["status"]).stream == "*"  # the last status built: the worker-wide one


def test_python_worker_messages_decode_in_js() -> None:
    """Frames the worker's encoder makes are read by protocol.js; malformed ones give the doc's error codes."""
    data = np.array([[0.5, -0.5], [0.125, 1.0]], dtype=np.float32)
    good = [
        pyproto.Welcome(stream="s", rate=44100, channels=2, out_channels=2, block=4096, latency=4096,
                        max_frames=4096, heartbeat_ms=1000, model={"name": "loopback", "block_sizes": ["long", "short"]},
                        modes=["delay"], mode="delay", block_size="short"),
        pyproto.Generated(index=99, rate=44100, data=data),
        pyproto.Error(code="no_session", text="say hello first", ref="audio"),
        pyproto.Pong(t=12.5),
    ]
    bad = [
        b"\x93\x01\x02",                                                  # a msgpack array, not a map
        b"\xc1garbage",                                                   # not msgpack at all
        pyproto.msgpack.packb({"v": 2, "type": "pong", "t": 1.0}),
        pyproto.msgpack.packb({"v": 1, "type": "teleport"}),
        pyproto.msgpack.packb({"v": 1, "type": "generated", "index": 0, "frames": 3, "channels": 2, "rate": 44100,
                               "data": b"\x00" * 8}),
        pyproto.msgpack.packb({"v": 1, "type": "welcome", "stream": "s"}),
    ]
    lines = [base64.b64encode(pyproto.encode(m)).decode() for m in good]
    lines += [base64.b64encode(b).decode() for b in bad]
    out = _codec("decode", "\n".join(lines) + "\n")
    assert [o["type"] for o in out[:4]] == ["welcome", "generated", "error", "pong"]
    assert out[0]["latency"] == 4096 and out[0]["heartbeat_ms"] == 1000
    assert out[0]["block_size"] == "short" and out[0]["model"]["block_sizes"] == ["long", "short"]
    assert out[1]["index"] == 99 and out[1]["frames"] == 2 and out[1]["data"] == [0.5, -0.5, 0.125, 1.0]
    assert out[2]["code"] == "no_session" and out[3]["t"] == 12.5
    assert [o.get("error") for o in out[4:]] == ["bad_msgpack", "bad_msgpack", "version", "unknown_type",
                                                 "bad_audio", "bad_field"]


@pytest.mark.parametrize("name", ["protocol.js", "session.js", "curve.js", "spawn.js", "lmdm.bridge.js",
                                  "lmdm.buffer.js"])
def test_scripts_parse(name: str) -> None:
    proc = subprocess.run([_node(), "--check", str(JS_DIR / name)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_buffer_script_is_es5() -> None:
    """lmdm.buffer.js also runs in Max 8's [js] (ES5): no arrows, let/const, template strings or spread."""
    text = (JS_DIR / "lmdm.buffer.js").read_text()
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    code = re.sub(r"//[^\n]*", "", code)
    found = re.findall(r"=>|\blet\s|\bconst\s|`|\.\.\.|\bclass\s", code)
    assert not found, found
