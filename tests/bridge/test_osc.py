"""OSC with an independent client (oscsend from liblo-tools): parameters are acknowledged and applied."""
from __future__ import annotations

import shutil
import socket
import subprocess

import numpy as np
import pytest

from bridge import osc, params
from bridge.client import Client
from bridge.work import Reset, SetParam, ToOsc

pytestmark = pytest.mark.skipif(shutil.which("oscsend") is None, reason="oscsend (Debian liblo-tools) missing")


def oscsend(worker, *args: str) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(worker.osc_port), *args], check=True, timeout=10)


def test_oscsend_sets_a_stream_parameter_and_it_is_applied(loopback_worker, osc_inbox):
    x = np.random.default_rng(5).uniform(-1, 1, (48000, 2)).astype(np.float32)
    with Client(loopback_worker.address, stream="osc1", rate=48000, channels=2) as c:
        oscsend(loopback_worker, "/lmdm/stream/osc1/gain", "f", "0.5")
        assert osc_inbox.until("/lmdm/ack")[1] == ["osc1", "gain", 0.5]
        y = c.stream_array(x)
        assert np.array_equal(y[4096:], x[:-4096] * np.float32(0.5))
        assert c.status().params["gain"] == 0.5
        oscsend(loopback_worker, "/lmdm/bypass", "i", "1")  # every stream
        assert osc_inbox.until("/lmdm/ack")[1] == ["*", "bypass", 1]
        y = c.stream_array(x, start=48000)
        assert np.array_equal(y[4096:], x[:-4096])
        oscsend(loopback_worker, "/lmdm/bypass", "i", "0")  # the worker is shared by this module's tests
        assert osc_inbox.until("/lmdm/ack")[1] == ["*", "bypass", 0]


def test_prompt_atoms_are_joined_and_the_understood_words_reported(loopback_worker, osc_inbox):
    with Client(loopback_worker.address, stream="words", rate=44100, channels=1):
        oscsend(loopback_worker, "/lmdm/stream/words/prompt", "ssi", "warm", "analog", "808")
        assert osc_inbox.until("/lmdm/ack")[1] == ["words", "prompt", "warm analog 808"]
        address, params = osc_inbox.until("/lmdm/understood")
        assert params[0] == "words"  # the loopback understands no words: the list after the id is empty
        assert params[1:] == []


def test_ping_status_and_reply_to(loopback_worker, osc_inbox):
    oscsend(loopback_worker, "/lmdm/ping")
    assert osc_inbox.until("/lmdm/pong")[0] == "/lmdm/pong"
    with Client(loopback_worker.address, stream="st", rate=48000, channels=1):
        oscsend(loopback_worker, "/lmdm/stream/st/status")
        address, params = osc_inbox.until("/lmdm/status")
        assert params[0] == "st" and params[-1] == 4096  # latency in samples
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.1", 0))
        other.settimeout(5)
        oscsend(loopback_worker, "/lmdm/reply_to", "si", "127.0.0.1", str(other.getsockname()[1]))
        oscsend(loopback_worker, "/lmdm/ping")
        got = [osc_inbox_msg(other) for _ in range(2)]
        assert "/lmdm/pong" in [g[0] for g in got]
    oscsend(loopback_worker, "/lmdm/reply_to", "i", str(osc_inbox.port))  # back, for the module's other tests
    assert osc_inbox.until("/lmdm/ack")[1] == ["*", "reply_to", f"127.0.0.1:{osc_inbox.port}"]


def osc_inbox_msg(sock: socket.socket):
    from pythonosc.osc_message import OscMessage
    m = OscMessage(sock.recvfrom(65536)[0])
    return m.address, list(m.params)


def test_route_covers_the_address_space():
    assert osc.route("/lmdm/steps", [100]) == SetParam(None, "steps", 64, ToOsc("/lmdm/steps"))   # clamped
    assert osc.route("/lmdm/stream/s-1/mix", [0.0]) == SetParam("s-1", "mix", 0.0, ToOsc("/lmdm/stream/s-1/mix"))
    assert osc.route("/lmdm/stream/s-1/reset", []) == Reset("s-1", ToOsc("/lmdm/stream/s-1/reset"))
    assert osc.route("/lmdm/mode", ["jam"]) == SetParam(None, "mode", "jam", ToOsc("/lmdm/mode"))
    assert osc.route("/lmdm/bypass", [True]) == SetParam(None, "bypass", 1, ToOsc("/lmdm/bypass"))
    assert osc.route("/lmdm/curves", ["pitch", "loudness"]).value == "pitch,loudness"  # atoms joined, as a prompt's
    assert osc.route("/lmdm/stream/bad id/gain", [1.0]).code == "unknown_address"
    assert osc.route("/lmdm/gain", [1.0, 2.0]).code == "bad_param"
    assert osc.commands(b"\x01\x02", "127.0.0.1")[0].code == "bad_osc"


def _shown(v: float) -> str:
    """A number as docs/osc.md writes it."""
    return "2^53" if v == 2**53 else str(int(v)) if float(v).is_integer() else f"{v:g}"


def test_the_osc_doc_table_is_the_parameter_table():
    """Every row of docs/osc.md's parameter table against params.SPECS: same names, type tags, ranges, defaults."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "osc.md").read_text()
    section = doc.split("## Parameters", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| `/lmdm/"):
            rows[cells[0].strip("`")[len("/lmdm/"):]] = cells
    assert list(rows) == list(params.SPECS)
    tags = {"float": "f", "int": "i", "bool": "i", "str": "s", "choice": "s", "curves": "s"}
    for name, spec in params.SPECS.items():
        _, types, rng, default, _meaning = rows[name]
        assert types.startswith(tags[spec.kind]), (name, types)
        expected = {"choice": " \\| ".join(spec.choices), "bool": "0 \\| 1", "str": "≤ 500 chars",
                    "curves": f"subset of `{spec.default}`"}.get(spec.kind)
        assert rng == (expected or f"{_shown(spec.lo)} .. {_shown(spec.hi)}"), (name, rng)
        shown = f'"{spec.default}"' if spec.default == "" else (
            spec.default if isinstance(spec.default, str) else _shown(spec.default))
        assert default == f"`{shown}`", (name, default)
