"""Fixtures of the Pd tests: the built external and real `lmdm serve` workers (helpers live in pdrun.py)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pdrun import PD_DIR, Serve


@pytest.fixture(scope="session")
def external() -> Path:
    if shutil.which("pd") is None:
        pytest.fail("Pure Data (Debian puredata-core) is not installed: run scripts/install.sh --test")
    subprocess.run(["make", "-s", "-C", str(PD_DIR)], check=True, capture_output=True, timeout=120)
    built = PD_DIR / "lmdm~.pd_linux"
    assert built.exists(), "make in bridge/pd did not produce lmdm~.pd_linux"
    return built


@pytest.fixture
def serve():
    started: list[Serve] = []

    def start(**kw) -> Serve:
        s = Serve(**kw).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
