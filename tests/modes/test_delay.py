"""The generative delay through the real worker and Python client: exact latency, bit-exact dry, feedback."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.client import Client
from tests.modes.conftest import first_difference, tone

RATE = 44100


def test_output_starts_exactly_at_the_reported_latency(worker):
    x = tone(RATE, 1.5)
    with Client(worker.address, stream="d0", rate=RATE, channels=2, mode="delay", timeout=120) as c:
        L = c.welcome.latency
        y = c.stream_array(x, chunk=1024, request_frames=4096)
    assert np.isfinite(y).all()
    assert not y[:L].any(), "output before the latency"
    assert np.any(y[L] != 0), "no output at the latency itself"


@pytest.mark.parametrize("mode", ["delay", "jam", "sketch", "text"])
def test_wet_zero_gives_the_input_back_bit_exact_delayed(worker, mode):
    x = tone(RATE, 1.2, freq=330.0, seed=3)
    x[::97] = -0.9  # make any resampling or gain visible
    with Client(worker.address, stream=f"dry-{mode}", rate=RATE, channels=2, mode=mode, timeout=120) as c:
        L = c.welcome.latency
        assert c.set("mix", 0.0).value == 0.0
        y = c.stream_array(x, chunk=1000, request_frames=3000)
    assert not y[:L].any()
    assert np.array_equal(y[L:], x[:len(x) - L])


def test_feedback_regenerates_from_the_next_block_on(worker):
    """Feedback adds the previous wet block to the model's input: the first block cannot change, later ones do."""
    x = tone(RATE, 2.5, seed=5)
    out = {}
    for fb in (0.0, 0.8):
        with Client(worker.address, stream=f"fb{int(fb * 10)}", rate=RATE, channels=2, mode="delay",
                    timeout=120) as c:
            L, block = c.welcome.latency, c.welcome.block
            assert c.set("feedback", fb).value == pytest.approx(fb)
            out[fb] = c.stream_array(x, chunk=1024, request_frames=4096)
    d = first_difference(out[0.0], out[0.8])
    assert d < len(x), "feedback changed nothing"
    # The first wet block enters the input of the second model block ([B, 2B) with B = 8 latents x hop 2048 here);
    # output at p depends only on input before p - L + block (docs/protocol.md).
    assert d >= 16384 + L - block, (d, L, block)
