"""`lmdm bench serve` end to end on the CPU: the real command starts a real worker, N real-time clients stream over
ZeroMQ, and the report (JSON + PNG) holds what each client saw. Speed is not judged here (docs/benchmarks.md)."""
from __future__ import annotations

import json
import subprocess

from tests.bridge.conftest import LMDM
from tests.tiny_model import save_tiny

STREAM_FIELDS = {"stream", "latency", "requests", "late_requests", "lost_requests", "frames_received",
                 "latency_p50_ms", "latency_p99_ms", "lag_p99_ms", "worker_underruns", "worker_late_frames", "blocks",
                 "compute_ms_avg", "batch"}


def test_bench_serve_searches_n_and_reports_what_the_clients_streamed(tmp_path):
    ckpt = save_tiny(tmp_path / "ckpt")
    out = tmp_path / "serve"
    run = subprocess.run([LMDM, "bench", "serve", "--model", str(ckpt), "--max-clients", "2", "--seconds", "3",
                          "--steps", "2", "--margin-ms", "300", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    r = json.loads(out.with_suffix(".json").read_text())
    trials = r["trials"]
    # the search: N = 1, then 2 only if 1 had no underrun; the answer is the largest N of a trial without one
    assert [t["clients"] for t in trials] == ([1, 2] if trials[0]["ok"] else [1])
    assert r["max_clients"] == max([t["clients"] for t in trials if t["ok"]], default=0)
    assert f"largest N with zero underruns: {r['max_clients']}" in run.stdout
    for t in trials:
        assert not t["errors"] and len(t["streams"]) == t["clients"]
        assert t["underruns"] == sum(s["late_requests"] for s in t["streams"])
        assert t["latency_p50_ms"] <= t["latency_p99_ms"] and t["compute_ms_avg"] > 0
        for s in t["streams"]:
            assert set(s) == STREAM_FIELDS
            # real-time: about seconds x rate / frames requests, each answered with real frames of the model
            assert 60 <= s["requests"] <= 75 and s["blocks"] > 0 and s["batch"] >= 1
            answered = s["requests"] - s["lost_requests"]     # a lost one may have been answered in part
            assert answered > 0 and 2048 * answered <= s["frames_received"] < 2048 * (answered + 1)
    assert out.with_suffix(".png").stat().st_size > 10_000
