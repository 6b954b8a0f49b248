"""`lmdm serve --exit-with-parent` (bridge/lifeline.py): a real worker whose real parent is SIGKILLed goes too, by
the kernel's death signal or, without it, by the watchdog; without the flag it stays (what the flag is for)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.bridge.conftest import LMDM

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"   # an orphan's zombie waits for a reaper that may never come in a container


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def start_parent(child: list[str], log: Path) -> tuple[subprocess.Popen, int]:
    """A real parent process that starts `child` (output to `log`) and sleeps; returns it and the child's pid."""
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        log = open({str(log)!r}, "w")
        p = subprocess.Popen({child!r}, stdout=log, stderr=subprocess.STDOUT)
        print(p.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    return parent, int(parent.stdout.readline())


def serve_cmd(*more: str) -> list[str]:
    return [LMDM, "serve", "--model", "loopback", "--zmq", "tcp://127.0.0.1:0", "--osc", "none", "--osc-reply", "none",
            *more]


def wait_for_text(log: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the worker's output:\n{log.read_text(errors='replace')}")


@pytest.fixture
def reap():
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_worker_exits_when_its_parent_is_killed(tmp_path, reap):
    log = tmp_path / "worker.log"
    parent, worker = start_parent(serve_cmd("--exit-with-parent"), log)
    reap += [parent.pid, worker]
    wait_for_text(log, "lmdm serve: model loopback")
    parent.kill()
    parent.wait()
    assert wait_gone(worker, 15), f"worker {worker} outlived its killed parent:\n{log.read_text()}"


def test_watchdog_alone_sees_the_parent_go(tmp_path, reap):
    """Where PR_SET_PDEATHSIG is missing (macOS), the parent-pid watchdog stops the process by itself."""
    code = ("import time; from bridge import lifeline; lifeline._death_signal = lambda sig: False; "
            "line = lifeline.hold(period_s=0.1); print('held', line.parent, line.kernel, flush=True); time.sleep(600)")
    log = tmp_path / "watchdog.log"
    parent, child = start_parent([sys.executable, "-c", code], log)
    reap += [parent.pid, child]
    wait_for_text(log, f"held {parent.pid} False")
    parent.kill()
    parent.wait()
    assert wait_gone(child, 15), log.read_text()


def test_without_the_flag_the_worker_outlives_its_parent(tmp_path, reap):
    log = tmp_path / "worker.log"
    parent, worker = start_parent(serve_cmd(), log)
    reap += [parent.pid, worker]
    wait_for_text(log, "lmdm serve: model loopback")
    parent.kill()
    parent.wait()
    time.sleep(2)
    assert alive(worker), "a plain `lmdm serve` is expected to stay: the orphan check above would prove nothing"
