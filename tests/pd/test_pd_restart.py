"""The worker is killed and restarted while Pd streams: Pd keeps running, output resumes, underruns are reported."""
from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from pdrun import finish_pd, recording_patch, reported, start_pd

SECONDS = 18.0   # a fresh `lmdm serve` can take 4 s to start on a loaded machine
BLOCK = 32768   # 0.74 s: room for a loaded machine; exactness is test_pd_loopback's job


def test_worker_restart_mid_run(external, serve, tmp_path):
    worker = serve(block=BLOCK)
    patch = recording_patch(tmp_path / "restart.pd", worker.address, SECONDS, tmp_path / "in.wav",
                            tmp_path / "out.wav", events=((2.0, "prompt dub echoes"), (2.2, "cfg 2.5")))
    pd = start_pd(patch)
    try:
        time.sleep(4.0)                      # recording runs from 1.5 s on
        worker.kill()                        # SIGKILL: no bye, the socket just goes quiet
        time.sleep(2.0)
        serve(port=worker.port, block=BLOCK)  # same address, a fresh process with no sessions
        out = finish_pd(pd, timeout=SECONDS + 20)
    finally:
        if pd.poll() is None:
            pd.kill()
            pd.wait()

    assert "pd killed after timeout" not in out, out
    assert "lmdm~: the worker stopped answering" in out or "no session for this stream" in out, out
    assert out.count("lmdm~: connected to") == 2, out
    assert reported(out, "connected")[-1] == [1.0], out
    # The parameters set before the crash are re-sent to the new worker, which acks them again.
    assert out.count("info: ack prompt dub\\ echoes") == 2 and out.count("info: ack cfg 2.5") == 2, out
    underruns = reported(out, "underruns")
    assert underruns and underruns[-1][0] > 0, out          # the outage was noticed and counted
    assert reported(out, "late")[-1][0] > 0, out

    x, _ = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    lag = int(reported(out, "latency")[-1][0])
    match = np.zeros(len(y), dtype=bool)
    match[lag:] = (y[lag:] == x[:-lag]) & (y[lag:] != 0)
    # Before the kill and after the restart the output is the input `lag` samples earlier; in between, silence.
    seconds_before = match[lag: int(44100 * 2.5)].mean()
    assert seconds_before > 0.99, f"before the kill only {seconds_before:.1%} of the output matched"
    # After the restart the output resumes for good: from the last mismatch on, the input comes back exactly.
    resumed = int(np.flatnonzero(~match)[-1]) + 1
    assert len(y) - resumed > 44100 * 2, f"resumed only {(len(y) - resumed) / 44100:.2f} s before the end\n{out}"
    outage = ~match[int(44100 * 2.5): resumed]
    assert outage.any() and not y[int(44100 * 2.5): resumed][outage].any(), "the outage played non-silence"
