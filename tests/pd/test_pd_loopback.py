"""lmdm~ against the real `lmdm serve --model loopback`: the input comes back at exactly the reported latency."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from pdrun import dropouts, errors_in, recording_patch, reported, run_pd

SECONDS = 20.0


def test_loopback_exact_latency_no_dropouts(external, serve, tmp_path):
    # 32768 frames (0.74 s) of latency leave room for a loaded two-core machine (stalls of 0.36 s were seen in
    # docs/bench/pd.md); the exactness checked below does not depend on the block size.
    block = 32768
    worker = serve(block=block)
    patch = recording_patch(tmp_path / "loop.pd", worker.address, SECONDS, tmp_path / "in.wav", tmp_path / "out.wav")
    out = run_pd(patch, timeout=SECONDS + 20)
    assert not errors_in(out), out
    latency = reported(out, "latency")
    assert latency and latency[-1][0] == block, out

    x, rate = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 44100 and len(x) == len(y) == int(44100 * SECONDS)
    lag = int(latency[-1][0])
    # The output starts once the session is open (before recording here); from its first sample on, every sample
    # must be the input exactly `lag` samples earlier: a dropout would be a run of zeros, a slip a shifted match.
    live = np.flatnonzero(y)
    assert live.size, "no output at all"
    start = max(int(live[0]), lag)
    assert start < 2 * 44100, f"output began only at sample {start}"
    missing = dropouts(y, x, start, lag)
    assert not missing, f"output differs from the input {lag} samples earlier: {missing}\n{out}"
    assert len(y) - start >= 44100 * (SECONDS - 1)
    underruns = reported(out, "underruns")
    assert underruns and underruns[-1][0] == 0, out
