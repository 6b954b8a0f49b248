"""The shipped default model: loaded by default, makes finite audio in every mode, and keeps the size limits."""
from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from lmdm_core.checkpoint import read_checkpoint
from lmdm_core.dit import DiT, pack_input_add
from lmdm_core.pipeline import WEIGHTS_DIR, AudioStream, load_model
from lmdm_core.training.dit import CURVE_SCALE, fold_curve_scale
from lmdm_core.training.plots import plot_losses
from tests.training.conftest import tiny_dit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return load_model(None)


def test_weights_fit_the_limits_and_the_package_globs():
    files = sorted(p for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert files, "no shipped weights"
    assert sum(p.stat().st_size for p in files) <= 50 * 10**6
    assert all(p.stat().st_size <= 16 * 2**20 for p in files)
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lmdm_core"]
    for p in files:
        assert any(fnmatch.fnmatch(f"weights/{p.name}", g) for g in globs), p.name
    ckpt = read_checkpoint(WEIGHTS_DIR)
    assert set(ckpt.meta["heldout_renders"]) and ckpt.meta["instruments"] and ckpt.configs["text"].vocab


def test_default_model_is_the_trained_one_and_understands_caption_words(model):
    assert model.meta.get("trained") is True and Path(model.source) == WEIGHTS_DIR
    s = AudioStream(model, seed=0, mode="text")
    s.set_param("prompt", "a string quartet playing a Bach chorale in D minor, zorblax")
    assert {"quartet", "bach", "chorale", "minor"} <= set(s.understood) and "zorblax" not in s.understood


@pytest.mark.parametrize("mode", ["text", "delay", "jam", "sketch"])
def test_every_mode_makes_finite_audio(model, mode):
    s = AudioStream(model, seed=0, mode=mode)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((s.channels, s.block_samples))).astype(np.float32)
    outs = [s.process(x) for _ in range(2)]
    assert all(y.shape == x.shape and np.isfinite(y).all() for y in outs)
    assert s.nonfinite_outputs == 0
    assert np.abs(outs[-1]).max() > 1e-4          # the trained model makes sound, not silence


def test_folded_curve_scale_takes_raw_units():
    torch.manual_seed(0)
    a = DiT(tiny_dit()).eval()
    b = DiT(tiny_dit()).eval()
    b.load_state_dict(a.state_dict())
    fold_curve_scale(b)
    g = torch.Generator().manual_seed(0)
    n = 12
    flag, lat = torch.zeros(1, 1, n), torch.randn(1, 4, n, generator=g)
    raw = torch.stack([torch.full((n,), 60.0), torch.full((n,), -20.0), torch.full((n,), 2000.0)])[None]
    scaled = raw / torch.tensor(CURVE_SCALE)[:, None]
    ha = a.embed(lat, pack_input_add(a.cfg, flag, lat, {"curves": scaled}))
    hb = b.embed(lat, pack_input_add(b.cfg, flag, lat, {"curves": raw}))
    torch.testing.assert_close(hb, ha)


def test_loss_plot_is_a_png(tmp_path):
    path = plot_losses({"loss": [(1, 2.0), (2, 1.5), (3, 1.0)], "kl": [(1, 0.1), (2, 0.2)]}, tmp_path / "l.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    with pytest.raises(ValueError):
        plot_losses({"loss": []}, tmp_path / "empty.png")
