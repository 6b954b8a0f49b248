"""Short blocks from the same weights: a model trained with several block sizes (checkpoint meta `blocks`) streams
long or short blocks, chosen per stream in `hello` (or by `lmdm serve --block-size`); a model trained for one refuses."""
from __future__ import annotations

import numpy as np
import pytest

import lmdm_core.pipeline as pipeline
from bridge.client import Client, ClientError
from lmdm_core.pipeline import AudioStream, load_model
from tests.bridge.conftest import WorkerProc


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """The tiny untrained model twice: as trained for one block size (8 latents) and for two (8 and 2)."""
    root = tmp_path_factory.mktemp("blocks")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", root / "no-weights")
        m = load_model(None)
    m.save(root / "long")
    m.save(root / "both", meta={**m.meta, "blocks": [8, 2]})
    return root


def test_the_checkpoint_says_which_block_sizes_the_model_streams(ckpts):
    assert load_model(ckpts / "long").block_sizes == {"long": 8}
    both = load_model(ckpts / "both")
    assert both.block_sizes == {"long": 8, "short": 2}
    short = AudioStream(both, block_size="short")
    assert short.stream.block == 2 and short.stream.context == both.stream.context
    assert short.block_samples * 4 == AudioStream(both).block_samples
    y = short.process(np.zeros((short.channels, short.block_samples), np.float32))
    assert y.shape == (short.channels, short.block_samples) and np.isfinite(y).all()
    with pytest.raises(ValueError, match="streams long blocks"):
        AudioStream(load_model(ckpts / "long"), block_size="short")


def test_hello_chooses_short_blocks_and_the_latency_follows(ckpts):
    w = WorkerProc("--model", str(ckpts / "both"), "--margin-ms", "20")
    try:
        rate = 44100
        with Client(w.address, stream="long", rate=rate, channels=1, timeout=120) as c_long, \
                Client(w.address, stream="short", rate=rate, channels=1, block_size="short", timeout=120) as c_short:
            assert c_long.welcome.block_size == "long" and c_short.welcome.block_size == "short"
            assert c_short.welcome.model["block_sizes"] == ["long", "short"]
            assert c_short.welcome.latency < c_long.welcome.latency
            assert c_short.welcome.block < c_long.welcome.block
            c_short.set("mix", 0.0)
            x = np.random.default_rng(1).uniform(-0.3, 0.3, (rate, 1)).astype(np.float32)
            y = c_short.stream_array(x, chunk=256, request_frames=1024, timeout=120)
            L = c_short.welcome.latency
            assert np.array_equal(y[L:], x[:len(x) - L])          # the dry path, one short latency later
            assert c_short.status().blocks > 0
    finally:
        w.stop()


def test_short_blocks_are_refused_where_the_model_has_none(ckpts):
    w = WorkerProc("--model", str(ckpts / "long"), "--margin-ms", "20")
    try:
        with pytest.raises(ClientError) as err:
            Client(w.address, stream="s", rate=44100, channels=1, block_size="short", timeout=60).connect()
        assert err.value.error.code == "bad_field" and "blocks" in err.value.error.text
        with Client(w.address, stream="ok", rate=44100, channels=1, timeout=60) as c:  # the worker serves on
            assert c.welcome.block_size == "long"
    finally:
        w.stop()


def test_a_short_decoder_lookahead_lowers_the_short_latency(ckpts):
    """meta `decoder_lookahead` {"short": k}: short streams decode k latents late instead of exactly, and the
    worker's short latency drops by that; long streams stay exact."""
    m = load_model(ckpts / "both")
    exact = AudioStream(m, block_size="short").decoder_latency
    m.meta["decoder_lookahead"] = {"short": 1}
    short = AudioStream(m, block_size="short")
    assert short.decoder_latency == m.autoencoder.hop < exact
    assert AudioStream(m).decoder_latency == exact            # long: still the exact lookahead
    y = short.process(np.zeros((short.channels, short.block_samples), np.float32))
    assert np.isfinite(y).all()
    from bridge.engines import ModelEngine
    engine = ModelEngine(str(ckpts / "both"), margin_ms=0)
    before = engine.open(44100, 1, 1, block_size="short").latency
    engine.model.meta["decoder_lookahead"] = {"short": 1}
    assert engine.open(44100, 1, 1, block_size="short").latency == before - (exact - m.autoencoder.hop)
