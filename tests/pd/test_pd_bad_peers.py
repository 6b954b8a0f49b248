"""lmdm~ with a bad address, no worker, or a worker that sends garbage: a clear error in Pd's console, no crash."""
from __future__ import annotations

import pytest

from pd_fakeworker import FakeWorker
from pdrun import errors_in, free_port, recording_patch, reported, run_pd


def run_short(tmp_path, address: str, seconds: float, events=()) -> str:
    patch = recording_patch(tmp_path / "probe.pd", address, seconds, tmp_path / "in.wav", tmp_path / "out.wav",
                            events=events)
    out = run_pd(patch, timeout=seconds + 20)
    # Pd got to the end of the patch on its own: it did not crash or hang, and saved both recordings.
    assert "pd killed after timeout" not in out, out
    assert (tmp_path / "out.wav").stat().st_size > 44100 * seconds * 4, out
    return out


def test_bad_address(external, tmp_path):
    out = run_short(tmp_path, "nonsense://nowhere", 1.0)
    assert "error: lmdm~: cannot connect to 'nonsense://nowhere'" in out, out
    assert reported(out, "connected")[-1] == [0.0], out


def test_no_worker(external, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"   # nothing listens there
    out = run_short(tmp_path, address, 3.0, events=((2.0, "prompt warm strings"),))
    assert "error: lmdm~: no worker answers (is `lmdm serve` running?); retrying " + address in out, out
    assert "lmdm~: not connected yet: prompt will be sent when a worker answers" in out, out
    assert reported(out, "connected")[-1] == [0.0], out


@pytest.mark.parametrize("behaviour", ["garbage", "welcome_then_garbage"])
def test_garbage_from_worker(external, tmp_path, behaviour):
    fake = FakeWorker(behaviour)
    fake.start()
    try:
        out = run_short(tmp_path, fake.address, 2.0)
    finally:
        fake.stop()
    assert "error: lmdm~: bad message from worker" in out, out
    assert any(m.get("type") == "hello" for m in fake.received)
    if behaviour == "welcome_then_garbage":
        for reason in ("not a msgpack map", "expected frames*channels*4", "field 'index' is missing or not an integer",
                       "unknown message type 'surprise'", "protocol version", "further ahead than the buffer holds",
                       "held 2 NaN/Inf samples: played as silence",
                       "worker error bad_field: made up (in reply to audio)"):
            assert reason in out, (reason, out)
        assert reported(out, "latency")[-1] == [1024.0], out
    assert len(errors_in(out)) < 40, "errors must be rate-limited"


def test_bad_arguments_and_block_size(external, tmp_path):
    """Wrong creation arguments refuse the object with a reason; a too large Pd block gives silence and an error."""
    patch = tmp_path / "args.pd"
    patch.write_text("\n".join([
        "#N canvas 0 0 600 400 12;",
        "#X obj 10 10 lmdm~ 0 2;",
        "#X obj 10 40 lmdm~ 2 2 tcp://127.0.0.1:1 bad/id;",
        "#X obj 10 70 lmdm~ -frobnicate;",
        "#X obj 10 100 lmdm~ 1 1 -buffer 10;",
        "#N canvas 0 0 300 200 big 0;",
        "#X obj 10 10 block~ 16384;",
        "#X obj 10 40 lmdm~ 1 1 -noconnect;",
        "#X restore 10 130 pd big;",
        "#X obj 10 160 loadbang;",
        "#X msg 10 190 \\; pd dsp 1;",
        "#X obj 10 220 delay 1000;",
        "#X msg 10 250 \\; pd quit;",
        "#X connect 5 0 6 0;", "#X connect 5 0 7 0;", "#X connect 7 0 8 0;",
    ]) + "\n")
    out = run_pd(patch, timeout=20)
    assert "pd killed after timeout" not in out, out
    for reason in ("channels must be 1..8 in and out", "stream id 'bad/id' must be 1..64 characters",
                   "unknown flag -frobnicate", "-buffer must be", "Pd blocks of 16384 samples are over the 8192"):
        assert f"error: lmdm~: {reason}" in out, (reason, out)
    assert out.count("couldn't create") == 4, out
