"""`lmdm serve --exit-with-parent`: a worker started by a patch goes when the program that started it goes.

The parent (Pd's lmdm~, the Max bridge) stops its worker itself when it quits in order; this covers the parent that
is killed or crashes. On Linux the kernel sends SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG); everywhere a
watchdog thread sees the parent pid change (the orphan is handed to init or a subreaper) and sends the same SIGTERM.
SIGTERM takes the worker's ordinary stop path; if that has not ended the process after `grace_s`, it exits hard.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Lifeline:
    parent: int                # the pid watched
    kernel: bool               # PR_SET_PDEATHSIG armed
    thread: threading.Thread   # the watchdog


def _death_signal(sig: int) -> bool:
    """Ask Linux for `sig` when the parent thread dies; False where prctl is not there."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _leave(parent: int, grace_s: float) -> None:
    log.warning("the process that started this worker (pid %d) is gone: stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    os._exit(1)   # the ordinary stop did not finish: nothing may outlive the parent


def _watch(parent: int, period_s: float, grace_s: float) -> None:
    while os.getppid() == parent:
        time.sleep(period_s)
    _leave(parent, grace_s)


def hold(period_s: float = 0.5, grace_s: float = 5.0) -> Lifeline:
    """Tie this process to its parent from now on (call before the model loads: loading can take long)."""
    parent = os.getppid()
    kernel = _death_signal(signal.SIGTERM)
    thread = threading.Thread(target=_watch, args=(parent, period_s, grace_s), name="lmdm-lifeline", daemon=True)
    thread.start()   # also catches a parent that died before prctl took effect: getppid() has changed already
    return Lifeline(parent, kernel, thread)
