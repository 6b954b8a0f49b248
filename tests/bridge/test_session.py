"""Session alone, in-process (no sockets, no subprocess): the client's clock, gaps, overlaps, lazy computing, mixing,
tempo sync, lateness and parameters, over the real loopback engine and the real (untrained, tiny) model engine."""
from __future__ import annotations

import numpy as np
import pytest

import lmdm_core.pipeline as pipeline
from bridge import params as P
from bridge.engines import LoopbackEngine, ModelEngine
from bridge.protocol import Hello
from bridge.session import PlayPosition, Session

RATE, BLOCK = 48000, 1000


def _session(block: int = BLOCK, channels: int = 1, out_channels: int = 1, **values) -> Session:
    hello = Hello(stream="s", rate=RATE, channels=channels, out_channels=out_channels)
    return Session(hello, LoopbackEngine(block), {**P.defaults(), **values}, max_gap_s=0.1)


def _play(s: Session, index: int, frames: int) -> np.ndarray:
    """Request [index, index + frames) and collect what pump() answers, in order."""
    s.request(index, frames)
    out = s.pump()
    assert [g.index for g in out] == sorted(g.index for g in out)
    return np.concatenate([g.data for g in out]) if out else np.zeros((0, s.out_ch), np.float32)


def _noise(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, channels)).astype(np.float32)


def test_output_is_the_input_one_latency_later_from_the_first_index():
    s = _session()
    x = _noise(5 * BLOCK)
    s.audio(10_000, x)                       # the clock starts where the client's first audio says
    y = _play(s, 10_000, 5 * BLOCK)
    assert s.latency == BLOCK and len(y) == 5 * BLOCK
    assert not y[:BLOCK].any() and np.array_equal(y[BLOCK:], x[:-BLOCK])


def test_a_short_gap_is_silence_and_a_long_one_restarts_the_clock():
    s = _session()
    a, b = _noise(2 * BLOCK, seed=1), _noise(2 * BLOCK, seed=2)
    s.audio(0, a)
    s.audio(2 * BLOCK + 500, b)              # 500 frames missing: silence stands in, counted once
    y = _play(s, BLOCK, 4 * BLOCK + 500)
    assert s.gaps == 1
    expected = np.concatenate([a, np.zeros((500, 1), np.float32), b])
    assert np.array_equal(y, expected[:len(y)])
    far = 2 * BLOCK + 500 + 2 * BLOCK + 10 * RATE  # beyond max_gap (0.1 s): the input clock starts over there
    s.audio(far, a)
    assert s.gaps == 2 and s.base == far and s.x_end == far + len(a)


def test_overlapping_input_is_taken_once():
    s = _session()
    x = _noise(3 * BLOCK, seed=3)
    s.audio(0, x[:2 * BLOCK])
    s.audio(BLOCK, x[BLOCK:])                # the first BLOCK frames of this one were sent already
    assert s.x_end == 3 * BLOCK and s.gaps == 0
    assert np.array_equal(_play(s, BLOCK, 3 * BLOCK), x)


def test_mix_gain_and_bypass_are_applied_to_the_delayed_signal():
    s = _session(block=BLOCK, channels=2, out_channels=2, gain=0.5)
    x = _noise(3 * BLOCK, channels=2, seed=4)
    s.audio(0, x)
    y = _play(s, BLOCK, 2 * BLOCK)
    assert np.array_equal(y, x[:2 * BLOCK] * np.float32(0.5))
    s.set_param("bypass", 1)                 # the input, untouched: gain is ignored
    s.audio(3 * BLOCK, x)
    assert np.array_equal(_play(s, 3 * BLOCK, 2 * BLOCK), np.concatenate([x[2 * BLOCK:], x[:BLOCK]]))


def test_sync_rounds_the_latency_up_to_whole_beats():
    s = _session()
    assert s.set_param("sync", "beat") == ("beat", None)
    s.set_param("bpm", 120.0)                # 24000 samples a beat at 48 kHz
    assert s.latency == 24000 and s.status(0)["latency"] == 24000
    s.set_param("sync", "off")
    assert s.latency == BLOCK


def test_a_request_answered_after_its_play_position_counts_as_late():
    play = PlayPosition()
    hello = Hello(stream="s", rate=RATE, channels=1, out_channels=1)
    s = Session(hello, LoopbackEngine(BLOCK), P.defaults(), play=play)
    s.audio(0, _noise(2 * BLOCK))
    play.value = BLOCK + 300                 # the client already plays 300 frames into what it asks for
    _play(s, BLOCK, BLOCK)
    assert (s.underruns, s.late_frames) == (1, 300)
    s.reset()
    assert (s.underruns, s.late_frames, s.status(0)["recoveries"]) == (0, 0, 0)


def test_bounded_input_and_model_parameters_reach_the_engine_stream():
    s = _session()
    s.audio(0, np.full((BLOCK, 1), np.nan, np.float32))
    assert s.clipped == BLOCK                # NaN -> 0 before any engine sees it
    assert s.set_param("prompt", "warm pad") == ("warm pad", [])   # the loopback knows no words
    assert s.values["prompt"] == "warm pad"


@pytest.fixture(scope="module")
def tiny_engine(tmp_path_factory):
    """The untrained tiny model (no weights shipped in this temporary folder), at its own rate."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", tmp_path_factory.mktemp("none"))
        return ModelEngine(None, margin_ms=0)


def test_text_mode_answers_without_input_and_input_modes_wait(tiny_engine):
    hello = Hello(stream="t", rate=tiny_engine.sample_rate, channels=2, out_channels=2)
    text = Session(hello, tiny_engine, {**P.defaults(), "mode": "text", "steps": 1})
    y = _play(text, 3 * text.latency, 4096)  # no audio was ever given
    assert len(y) == 4096 and np.isfinite(y).all() and np.abs(y).max() > 0
    delay = Session(hello, tiny_engine, {**P.defaults(), "steps": 1})
    assert _play(delay, 3 * delay.latency, 4096).size == 0  # waits for the input it continues


def test_a_mode_the_model_lacks_is_refused_and_the_session_keeps_its_mode(tiny_engine):
    hello = Hello(stream="j", rate=tiny_engine.sample_rate, channels=1, out_channels=1)
    s = Session(hello, tiny_engine, P.defaults())
    with pytest.raises(P.ParamError, match="'stem' input"):
        s.set_param("mode", "jam")
    assert s.values["mode"] == "delay" and s.engine_stream.audio.mode.name == "delay"
    with pytest.raises(P.ParamError):        # the mode asked for in hello must work: the session is not built
        Session(Hello(stream="j", rate=44100, channels=1, out_channels=1, mode="jam"), tiny_engine,
                {**P.defaults(), "mode": "jam"})

    assert not Session(hello, tiny_engine, P.defaults()).refused


def test_a_default_the_model_refuses_is_logged_and_the_session_opens(tiny_engine, caplog):
    """A worker default (set over OSC before the stream opened) the model cannot take is not dropped silently."""
    hello = Hello(stream="d", rate=tiny_engine.sample_rate, channels=1, out_channels=1)
    with caplog.at_level("WARNING", logger="bridge.session"):
        s = Session(hello, tiny_engine, {**P.defaults(), "mode": "jam", "mix": 0.25})
    assert s.values["mode"] == "delay" and s.values["mix"] == 0.25
    assert list(s.refused) == ["mode"] and "'stem' input" in s.refused["mode"]
    assert "default mode='jam' refused" in caplog.text


def test_pump_computes_no_more_than_asked_and_says_so(tiny_engine):
    hello = Hello(stream="p", rate=tiny_engine.sample_rate, channels=1, out_channels=1)
    s = Session(hello, tiny_engine, {**P.defaults(), "steps": 1})
    block = s.engine_stream.bm
    s.audio(0, _noise(4 * block))
    s.request(s.latency, 2 * block)
    first = s.pump(max_steps=1)
    assert s.blocks == 1 and s.more          # one model block, and more could be computed
    rest = s.pump()
    assert not s.more and sum(g.frames for g in first + rest) == 2 * block
    # never beyond the furthest position requested (the first blocks also fill the decoder's lookahead)
    assert s.blocks == -(-(2 * block + s.engine_stream.dec_latency) // block)
