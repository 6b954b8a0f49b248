"""lmdm~ against the real `lmdm serve --model loopback`: the input comes back at exactly the reported latency."""
from __future__ import annotations

from pdrun import check_loopback, recording_patch, run_pd

SECONDS = 20.0


def test_loopback_exact_latency_no_dropouts(external, serve, tmp_path):
    # 32768 frames (0.74 s) of latency leave room for a loaded two-core machine (stalls of 0.36 s were seen in
    # docs/bench/pd.md); the exactness checked below does not depend on the block size.
    block = 32768
    worker = serve(block=block)
    patch = recording_patch(tmp_path / "loop.pd", worker.address, SECONDS, tmp_path / "in.wav", tmp_path / "out.wav")
    out = run_pd(patch, timeout=SECONDS + 20)
    check_loopback(out, tmp_path / "in.wav", tmp_path / "out.wav", block, SECONDS)
