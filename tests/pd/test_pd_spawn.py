"""`[lmdm~ -spawn]` in real headless Pd starts a real `lmdm serve`, restarts it when it is killed, and leaves no
process behind: not when the patch closes, not when Pd quits, not when Pd is killed. Remote addresses are refused."""
from __future__ import annotations

import os
import shutil
import signal
import time

import numpy as np
import soundfile as sf

from pdrun import (SPAWNED, PdWatch, Serve, errors_in, free_port, gone_within, processes_with, recording_patch,
                   reported, spawn_command)

SECONDS = 26.0   # recording from 1.5 s on: the first start, a kill, a restart and seconds of output after it
BLOCK = 16384


def test_spawned_worker_is_restarted_and_stopped_with_pd(external, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    patch = recording_patch(tmp_path / "spawn.pd", address, SECONDS, tmp_path / "in.wav", tmp_path / "out.wav",
                            events=((0.0, spawn_command(block=BLOCK)), (SECONDS, "bang")), flags="-spawn")
    pd = PdWatch(patch)
    try:
        first = int(pd.wait_for(SPAWNED.pattern, 30).group(1))
        pd.wait_for("lmdm~: connected to", 40)
        connected = len(pd.lines)
        assert processes_with(address) == [first], pd.output
        time.sleep(2.0)                                   # output flows, then the worker dies without a word
        os.kill(first, signal.SIGKILL)
        second = int(pd.wait_for(SPAWNED.pattern, 30, after=connected).group(1))
        pd.wait_for("lmdm~: connected to", 40, after=connected)
        out = pd.finish(timeout=SECONDS + 30)
    finally:
        if pd.proc.poll() is None:
            pd.proc.kill()
    assert "pd killed after timeout" not in out, out
    assert second != first, out
    assert f"worker pid {first} stopped (killed by signal 9" in out, out
    assert out.count("lmdm~: connected to") == 2, out
    assert reported(out, "spawn")[-1] == [second, 2], out  # bang's `spawn <pid> <starts>`
    assert gone_within(address, 10) == [], f"worker left behind after Pd quit\n{out}"

    # The restarted worker plays the input back again: from the last mismatch on, the output is the input `lag`
    # samples earlier, for seconds, up to the end.
    x, _ = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    lag = int(reported(out, "latency")[-1][0])
    assert lag == BLOCK, out
    match = np.zeros(len(y), dtype=bool)
    match[lag:] = (y[lag:] == x[:-lag]) & (y[lag:] != 0)
    assert match.any() and not match.all(), "the kill left no gap, or nothing ever came back"
    resumed = int(np.flatnonzero(~match)[-1]) + 1
    assert len(y) - resumed > 44100 * 2, f"output resumed only {(len(y) - resumed) / 44100:.2f} s before the end\n{out}"


def freeing_patch(tmp_path, address: str, close_after_ms: int):
    """spawn.pd holds `[lmdm~ -spawn]`; ctl.pd closes it after `close_after_ms`, then quits Pd 3 s later."""
    host = tmp_path / "spawn.pd"
    host.write_text("#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n"
                    f"#X msg 10 40 {spawn_command()};\n#X obj 10 80 lmdm~ 1 1 {address} -spawn;\n"
                    "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n")
    ctl = tmp_path / "ctl.pd"
    ctl.write_text("#N canvas 0 0 300 200 12;\n#X obj 10 10 loadbang;\n"
                   f"#X obj 10 40 delay {close_after_ms};\n#X msg 10 70 \\; pd-spawn.pd menuclose 1;\n"
                   "#X obj 10 100 delay 3000;\n#X msg 10 130 \\; pd quit;\n"
                   "#X connect 0 0 1 0;\n#X connect 1 0 2 0;\n#X connect 1 0 3 0;\n#X connect 3 0 4 0;\n")
    return host, ctl


def test_closing_the_patch_stops_the_worker_while_pd_runs(external, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    host, ctl = freeing_patch(tmp_path, address, close_after_ms=12000)
    pd = PdWatch(host, extra_open=(ctl,))
    try:
        pid = int(pd.wait_for(SPAWNED.pattern, 30).group(1))
        assert processes_with(address) == [pid], pd.output
        pd.wait_for("lmdm~: connected to", 40)
        # the patch closes at 12 s; Pd itself runs on 3 s more: the worker must be gone before Pd is
        while pd.proc.poll() is None and processes_with(address):
            time.sleep(0.05)
        assert pd.proc.poll() is None, f"the worker outlived the closed patch until Pd quit\n{pd.output}"
    finally:
        out = pd.finish(timeout=30)
    assert "pd killed after timeout" not in out, out
    assert processes_with(address) == [], out


def test_killed_pd_leaves_no_worker(external, tmp_path):
    """SIGKILL of Pd frees nothing: the worker's --exit-with-parent takes it down."""
    address = f"tcp://127.0.0.1:{free_port()}"
    host, _ = freeing_patch(tmp_path, address, close_after_ms=60000)
    pd = PdWatch(host)
    try:
        pid = int(pd.wait_for(SPAWNED.pattern, 30).group(1))
        pd.wait_for("lmdm~: connected to", 40)
        pd.proc.kill()
        pd.proc.wait()
        assert gone_within(address, 10) == [], f"worker {pid} outlived a killed Pd\n{pd.output}"
    finally:
        pd.finish(timeout=10)


def test_remote_address_is_refused_and_nothing_spawned(external, tmp_path):
    port = free_port()
    patch = tmp_path / "remote.pd"
    patch.write_text("#N canvas 0 0 400 300 12;\n#X obj 10 10 loadbang;\n#X obj 10 40 delay 1500;\n"
                     f"#X obj 10 80 lmdm~ 1 1 tcp://192.0.2.7:{port} -spawn -noconnect;\n"
                     f"#X obj 10 120 lmdm~ 1 1 tcp://0.0.0.0:{port} -noconnect;\n#X msg 200 40 spawn;\n"
                     "#X obj 10 160 delay 3000;\n#X msg 10 190 \\; pd quit;\n"
                     "#X connect 0 0 1 0;\n#X connect 1 0 4 0;\n#X connect 4 0 3 0;\n#X connect 0 0 5 0;\n"
                     "#X connect 5 0 6 0;\n")
    pd = PdWatch(patch)
    seen: set[int] = set()
    while pd.proc.poll() is None:
        seen.update(processes_with(str(port)))
        time.sleep(0.05)
    out = pd.finish(timeout=20)
    assert f"spawn: tcp://192.0.2.7:{port} is not a loopback address" in out, out
    assert f"spawn: tcp://0.0.0.0:{port} is not a loopback address" in out, out  # the `spawn` message
    assert not SPAWNED.search(out) and not seen, out


def test_a_worker_already_there_is_used(external, tmp_path, serve):
    """Something answers at the address: lmdm~ -spawn uses it and starts nothing."""
    worker = serve(block=4096)
    patch = recording_patch(tmp_path / "there.pd", worker.address, 2.0, tmp_path / "in.wav", tmp_path / "out.wav",
                            events=((0.0, spawn_command()),), flags="-spawn")
    pd = PdWatch(patch)
    out = pd.finish(timeout=30)
    assert f"spawn: something already answers at {worker.address}: using it" in out, out
    assert not SPAWNED.search(out) and not errors_in(out), out
    assert processes_with(worker.address) == [worker.proc.pid]
    assert np.flatnonzero(sf.read(tmp_path / "out.wav", dtype="float32")[0]).size, "no output from the worker"


def fake_lmdm(path):
    """A stand-in `lmdm` that says how it was called and stays: the default command's discovery is what is checked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\necho "fake lmdm $*"\nexec sleep 30\n')
    path.chmod(0o755)
    return path


def test_default_command_is_the_checkouts_lmdm_then_path(external, tmp_path, monkeypatch):
    """No `spawncmd`: `../../.venv/bin/lmdm` from the external's folder first, else `lmdm` on PATH."""
    ext = tmp_path / "root" / "bridge" / "pd"
    ext.mkdir(parents=True)
    shutil.copy(external, ext / external.name)
    on_path = fake_lmdm(tmp_path / "bin" / "lmdm")
    monkeypatch.setenv("PATH", f"{on_path.parent}:/usr/bin:/bin")
    for venv in (fake_lmdm(tmp_path / "root" / ".venv" / "bin" / "lmdm"), None):
        if venv is None:
            (tmp_path / "root" / ".venv" / "bin" / "lmdm").unlink()
        address = f"tcp://127.0.0.1:{free_port()}"
        patch = tmp_path / "default.pd"
        patch.write_text(f"#N canvas 0 0 400 300 12;\n#X obj 10 10 lmdm~ 1 1 {address} -spawn -noconnect;\n"
                         "#X obj 10 50 loadbang;\n#X obj 10 80 delay 2500;\n#X msg 10 110 \\; pd quit;\n"
                         "#X connect 1 0 2 0;\n#X connect 2 0 3 0;\n")
        pd = PdWatch(patch, paths=False, flags=("-path", str(ext)))
        out = pd.finish(timeout=20)
        program = venv or on_path
        assert f": {program} serve --zmq {address} --exit-with-parent" in out, out
        assert f"lmdm~: worker: fake lmdm serve --zmq {address} --exit-with-parent" in out, out
        assert gone_within(address, 10) == [], out
