"""`python -m lmdm_core.eval`, the `lmdm eval` command as the GPU machine runs it: clear one-line errors, no traceback."""
from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmdm_core.eval", *args], capture_output=True, text=True, timeout=120)


def test_missing_build_is_named_without_a_traceback(tmp_path):
    r = run("--data", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), "--no-progress")
    assert r.returncode == 1
    assert "lmdm eval: no 'heldout' renders in" in r.stderr and str(tmp_path / "absent") in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_model_is_named(tmp_path):
    r = run("--data", str(tmp_path), "--model", str(tmp_path / "no-model"), "--no-progress")
    assert r.returncode == 1 and "model not found" in r.stderr and "Traceback" not in r.stderr
