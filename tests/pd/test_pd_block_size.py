"""lmdm~'s block size (`-block-size`, the `block_size` message) against real workers: the loopback streams both sizes
(short = a quarter block), so the input must come back bit-exact at each latency; a model trained for one block size
refuses `short` and lmdm~ reports it and keeps running."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from bridge.client import Client
from pdrun import errors_in, recording_patch, reported, reported_words, run_pd
from tests.tiny_model import save_tiny

BLOCK = 4096
SHORT = BLOCK // 4
RATE = 44100


def exact_at(y: np.ndarray, x: np.ndarray, lag: int) -> np.ndarray:
    """Positions p where the output is the (non-silent) input exactly `lag` samples earlier."""
    hit = (y[lag:] == x[:len(x) - lag]) & (y[lag:] != 0)
    return np.flatnonzero(hit) + lag


def test_short_blocks_then_long_come_back_bit_exact(external, serve, tmp_path):
    worker = serve(block=BLOCK)
    seconds, switch = 10.0, 6.0   # recording from 1.5 s after load; `block_size long` 4.5 s into it
    patch = recording_patch(tmp_path / "blocks.pd", worker.address, seconds, tmp_path / "in.wav", tmp_path / "out.wav",
                            events=((switch, "block_size long"),), flags="-block-size short")
    out = run_pd(patch, timeout=seconds + 20)
    assert not errors_in(out), out
    assert [v[0] for v in reported(out, "latency")][:2] == [SHORT, BLOCK], out
    assert reported_words(out, "block_size")[:2] == ["short", "long"], out
    assert "block_size short (model streams long short)" in out, out   # the console line of the first welcome

    x, rate = sf.read(tmp_path / "in.wav", dtype="float32")
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == RATE and len(x) == len(y) == int(RATE * seconds)
    short, long_ = exact_at(y, x, SHORT), exact_at(y, x, BLOCK)
    # Every sound lmdm~ played is the input at the latency of the session it came from: short first, long after the
    # switch, never both at once. Silence is all a dropout may be on a loaded machine, never a slip or a repeat.
    nonzero = np.flatnonzero(y[SHORT:]) + SHORT   # the first SHORT samples play input from before the recording
    stray = np.setdiff1d(nonzero, np.union1d(short, long_))
    assert stray.size == 0, f"{stray.size} output samples are neither input {SHORT} nor {BLOCK} samples earlier"
    assert short.size > 2 * RATE and long_.size > 3 * RATE, (short.size, long_.size, out)
    assert short.max() < long_.min(), "short-block output after long-block output"
    switched_at = (switch - 1.5) * RATE   # where the message reached lmdm~, in recording samples (± Pd's timing)
    assert abs(long_.min() - switched_at) < RATE, (long_.min(), switched_at)


@pytest.fixture(scope="module")
def long_only(tmp_path_factory):
    """The tiny untrained model, saved as trained for one block size (no `blocks` in its meta: long only)."""
    return save_tiny(tmp_path_factory.mktemp("long-only") / "long")


def test_a_block_size_the_model_lacks_is_refused_and_lmdm_runs_on(external, serve, long_only, tmp_path):
    worker = serve(model=str(long_only), args=("--margin-ms", "20"), start_s=180)
    seconds = 6.0
    events = ((1.0, "block_size long"), (4.0, "block_size short"), (5.5, "bang"))
    patch = recording_patch(tmp_path / "refused.pd", worker.address, seconds, tmp_path / "in.wav",
                            tmp_path / "out.wav", events=events, flags="-block-size short")
    out = run_pd(patch, timeout=seconds + 60)
    assert "[test: pd killed after timeout]" not in out, out   # Pd ran the patch to its end and quit by itself
    refusals = [line for line in out.splitlines() if "worker error bad_field" in line and "block_size" in line]
    assert len(refusals) == 2, out   # the hello of creation, then the re-hello of `block_size short`
    assert "'short'" in refusals[0] and "in reply to hello" in refusals[0], refusals
    assert reported_words(out, "error")[0].startswith("bad_field"), out
    assert "not connected: send `block_size long`" in out, out        # after the first: no session, it says how
    assert "the stream goes on as it was (block_size long)" in out, out  # after the second: the session streams on
    assert reported_words(out, "block_size") and set(reported_words(out, "block_size")) == {"long"}, out
    connected = [v[0] for v in reported(out, "connected")]
    assert connected and set(connected) == {1}, out   # connected by `block_size long`, never dropped after
    with Client(worker.address, stream="after", rate=RATE, channels=1, timeout=60) as c:   # the worker serves on
        assert c.welcome.block_size == "long" and c.welcome.model["block_sizes"] == ["long"]
