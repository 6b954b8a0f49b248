"""AudioStream over the untrained fallback model (tiny presets, what load_model(None) builds when no weights ship):
shapes, modes, determinism, bad input, parameters. The shipped trained weights are checked in tests/training."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import lmdm_core.pipeline as pipeline
from lmdm_core.pipeline import AudioStream, LoadedModel, load_model


def _untrained() -> LoadedModel:
    """load_model(None) as it behaves with no weights in the package: the seeded tiny fallback."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", Path("/nonexistent/lmdm-weights"))
        return load_model(None)


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    return _untrained()


def _stream(model: LoadedModel, seed: int = 0, mode: str = "delay", prompt: str = "") -> AudioStream:
    """A stream with 2 sampler steps (keeps the tests cheap; the step count is not what they check)."""
    s = AudioStream(model, seed=seed)
    s.set_param("steps", 2)
    s.set_param("mode", mode)
    s.set_param("prompt", prompt)
    return s


def _blocks(s: AudioStream, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.2 * rng.standard_normal((s.channels, s.block_samples))).astype(np.float32) for _ in range(n)]


def _run(s: AudioStream, blocks: list[np.ndarray]) -> list[np.ndarray]:
    return [s.process(b) for b in blocks]


def test_default_model_warns_that_it_is_untrained(caplog):
    with caplog.at_level(logging.WARNING, logger="lmdm_core.pipeline"):
        m = _untrained()
    assert "UNTRAINED" in caplog.text and m.source.startswith("embedded")


def test_geometry(model):
    s = AudioStream(model, seed=0)
    assert (s.sample_rate, s.channels) == (44100, 2)
    assert s.block_samples == model.stream.block * model.autoencoder.hop
    assert s.decoder_latency % model.autoencoder.hop == 0


@pytest.mark.parametrize("mode", ["text", "delay"])
def test_blocks_are_finite_and_shaped(model, mode):
    s = _stream(model)
    assert s.set_param("mode", mode) == mode
    outs = _run(s, _blocks(s, 2))
    assert all(o.shape == (s.channels, s.block_samples) and o.dtype == np.float32 for o in outs)
    assert all(np.isfinite(o).all() for o in outs)
    assert np.abs(outs[-1]).max() > 0          # past the decoder latency there is sound


def test_same_seed_same_output_other_seed_differs(model):
    blocks = _blocks(AudioStream(model), 2)
    a = _run(_stream(model, seed=7), blocks)
    b = _run(_stream(model, seed=7), blocks)
    c = _run(_stream(model, seed=8), blocks)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.allclose(a[-1], c[-1])


def test_reset_replays_the_stream(model):
    s = _stream(model, seed=3)
    blocks = _blocks(s, 2)
    first = _run(s, blocks)
    s.reset()
    assert all(np.array_equal(x, y) for x, y in zip(first, _run(s, blocks)))


def test_delay_mode_puts_the_input_into_the_context(model):
    s = _stream(model, mode="delay")
    x = _blocks(s, 1, seed=4)[0]
    s.process(x)
    with torch.no_grad():
        z = model.autoencoder.encode(torch.from_numpy(x)[None])
    assert torch.allclose(s.gen.context[..., -model.stream.block:], z, atol=1e-5)
    t = _stream(model, mode="text")
    t.process(x)
    assert not torch.allclose(t.gen.context[..., -model.stream.block:], z, atol=1e-3)


def test_text_mode_ignores_the_input_delay_mode_follows_it(model):
    def run(mode, seed):
        s = _stream(model, mode=mode)
        return _run(s, _blocks(s, 2, seed=seed))

    assert all(np.array_equal(x, y) for x, y in zip(run("text", 1), run("text", 2)))
    assert not np.allclose(run("delay", 1)[-1], run("delay", 2)[-1])


def test_nan_input_is_handled(model):
    s = _stream(model)
    blocks = _blocks(s, 2)
    blocks[0][0, 10] = np.nan
    blocks[1][1, 3] = np.inf
    outs = _run(s, blocks)
    assert all(np.isfinite(o).all() for o in outs)
    assert s.nonfinite_inputs == 2


def test_wrong_block_shape_is_refused(model):
    s = AudioStream(model)
    with pytest.raises(ValueError, match="shape"):
        s.process(np.zeros((s.channels, s.block_samples - 1), np.float32))


def test_prompt_understood_and_changes_the_output(model):
    s = _stream(model, mode="text")
    assert s.set_param("prompt", "Warm strings with zorblat") == "Warm strings with zorblat"
    assert s.understood == ["warm", "strings"]
    a = _run(s, _blocks(s, 2))
    t = _stream(model, mode="text", prompt="dark techno")
    assert t.understood == ["dark", "techno"]
    assert not np.allclose(a[-1], _run(t, _blocks(t, 2))[-1])


def test_parameters_apply_and_refuse_bad_values(model):
    s = AudioStream(model, seed=0)
    assert s.set_param("steps", 2.0) == 2 and s.sampler.steps == 2
    assert s.set_param("cfg", 2.5) == 2.5
    assert s.set_param("cfg_mode", "plus_plus") == "plus_plus" and s.sampler.cfg_mode == "plus_plus"
    assert s.gen.sampler.cfg_mode == "plus_plus" and model.sampler.cfg_mode == "plain"
    assert s.set_param("seed", 11) == 11
    assert s.set_param("blend", 0.5) == 0.5
    assert s.set_param("curves", "pitch, loudness") == "pitch,loudness"
    s.process(_blocks(s, 1)[0])                         # guidance on: still runs
    assert s.set_param("cfg", 1.0) == 1.0
    assert np.isfinite(s.process(_blocks(s, 1)[0])).all()
    assert model.sampler.steps == 8                     # the shared model is untouched
    for name, value, msg in [("steps", 0, "between 1 and 64"), ("steps", 2.5, "whole number"),
                             ("cfg", float("nan"), "between"), ("mode", "karaoke", "one of"),
                             ("cfg_mode", "cfgpp", "one of"),
                             ("mode", "jam", "'stem' input"), ("prompt", 5, "must be text"),
                             ("prompt", "x" * 501, "at most 500"), ("volume", 1, "unknown parameter 'volume'"),
                             ("seed", True, "must be a number"), ("curves", "pitch,tempo", "subset")]:
        with pytest.raises(ValueError, match=msg):
            s.set_param(name, value)


def test_missing_model_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        load_model(tmp_path / "absent")


def test_weights_dir_checkpoint_is_preferred(model, tmp_path, monkeypatch, caplog):
    model.save(tmp_path / "weights")
    monkeypatch.setattr(pipeline, "WEIGHTS_DIR", tmp_path / "weights")
    with caplog.at_level(logging.WARNING, logger="lmdm_core.pipeline"):
        m = load_model(None)
    assert m.source == str(tmp_path / "weights") and "UNTRAINED" not in caplog.text
    blocks = _blocks(AudioStream(m), 2)
    assert all(np.array_equal(x, y) for x, y in zip(_run(_stream(m, seed=1), blocks),
                                                    _run(_stream(model, seed=1), blocks)))


@pytest.mark.parametrize("mode, group", [("jam", {"stem": 64}), ("sketch", {"curves": 3})])
def test_conditioned_modes_follow_the_current_input(mode, group):
    """A model with a 'stem' / 'curves' input group accepts jam / sketch mode; the first generated block already
    depends on the input block; a model without the group refuses the mode."""
    from lmdm_core.pipeline import build_model, default_configs
    cfgs = default_configs()
    cfgs["dit"].input_adds = {"context": 65, **group}
    torch.manual_seed(0)
    m = build_model(cfgs, f"{mode} test")
    m.dit.eval()
    outs = []
    for amp in (0.0, 0.5):
        s = _stream(m, mode=mode)
        t = np.arange(s.block_samples) / s.sample_rate
        s.process(np.tile(amp * np.sin(2 * np.pi * 220 * t), (2, 1)).astype(np.float32))
        outs.append(s.gen.context[..., -m.stream.block:].clone())
    assert not torch.allclose(outs[0], outs[1])
    other = "sketch" if mode == "jam" else "jam"
    with pytest.raises(ValueError, match="input"):
        s.set_param("mode", other)


def test_switching_text_to_delay_encodes_with_the_skipped_history(model):
    """In text mode the input is not encoded, but it is kept: after switching to delay mode the context chunk is
    the encoding of the input with its real past, not with silence before it."""
    s = _stream(model, mode="text")
    b0, b1 = (torch.from_numpy(b)[None] for b in _blocks(s, 2, seed=9))
    s.process(b0[0].numpy())
    s.set_param("mode", "delay")
    s.process(b1[0].numpy())
    with torch.no_grad():
        ref = model.autoencoder.stream_encoder(lookahead=0)
        ref.push(b0)
        want = ref.push(b1)
        cold = model.autoencoder.stream_encoder(lookahead=0).push(b1)
    got = s.gen.context[..., -model.stream.block:]
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, cold, atol=1e-3)
