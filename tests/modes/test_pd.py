"""Through real Pd: lmdm~ with tempo sync on, against a real worker: the input comes back exactly one beat later."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pd"))
from pdrun import PATCHES, PD_DIR, Serve, dropouts, errors_in, recording_patch, run_pd  # noqa: E402

SECONDS = 6.0


@pytest.fixture(scope="module")
def external() -> Path:
    if shutil.which("pd") is None:
        pytest.fail("Pure Data (Debian puredata-core) is not installed: run scripts/install.sh --test")
    subprocess.run(["make", "-s", "-C", str(PD_DIR)], check=True, capture_output=True, timeout=120)
    return PD_DIR / "lmdm~.pd_linux"


def test_pd_delay_synced_to_the_beat(external, tmp_path):
    worker = Serve(block=4096).start()
    try:
        # 0.2 s after load (recording starts at 1.5 s): tempo 60 bpm, latency synced to whole beats -> 44100.
        patch = recording_patch(tmp_path / "sync.pd", worker.address, SECONDS, tmp_path / "in.wav",
                                tmp_path / "out.wav", events=((0.2, "bpm 60"), (0.3, "sync beat"),
                                                              (SECONDS + 1.0, "bang")))
        out = run_pd(patch, timeout=SECONDS + 20)
    finally:
        log = worker.output()
        worker.stop()
    assert not errors_in(out), out + log
    x, rate = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 44100 and len(x) == len(y)
    lag = 44100
    assert np.flatnonzero(y).size, "no output at all"
    # The output ran before the recording did (noise~ plays from load): from one beat in, every recorded output
    # sample must be the recorded input exactly one beat earlier.
    missing = dropouts(y, x, lag, lag)
    assert not missing, f"output differs from the input one beat earlier: {missing}\n{out}"


def test_sketch_patch_opens_a_sketch_session(external, tmp_path):
    """The shipped sketch.pd, pointed at a real worker, opens its session with no error."""
    worker = Serve(block=4096).start()
    quit_patch = tmp_path / "quit.pd"
    quit_patch.write_text("#N canvas 0 0 300 200 12;\n#X obj 10 10 loadbang;\n#X msg 10 40 \\; pd dsp 1;\n"
                          "#X obj 10 70 delay 1500;\n#X msg 10 100 \\; pd quit;\n"
                          "#X connect 0 0 1 0;\n#X connect 0 0 2 0;\n#X connect 2 0 3 0;\n")
    patch = tmp_path / "sketch.pd"
    patch.write_text((PATCHES / "sketch.pd").read_text().replace("tcp://127.0.0.1:5555", worker.address))
    try:
        out = run_pd(patch, timeout=20, extra_open=(quit_patch,))
    finally:
        worker.stop()
    assert f"lmdm~: connected to {worker.address}" in out, out
    assert not errors_in(out), out
