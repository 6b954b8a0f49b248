"""Autoencoder v2 trainer (ae_gan.py): losses fall and stay finite, the warm-up leaves the discriminators alone,
a resumed run equals an uninterrupted one, and the sharded state keeps its limits."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from lmdm_core.training.ae_gan import GANTrainConfig, Trainer, overridden, train
from lmdm_core.training.discriminators import DiscriminatorConfig, Discriminators, hinge_d, hinge_g
from lmdm_core.training.state import load_sharded, save_sharded

from tests.training.conftest import tiny_ae

TINY_DISC = dict(stft_ffts=[128, 64], stft_filters=4, stft_dilations=[1, 2], periods=[2, 3], period_channels=[4, 8])


def _cfg(**kw) -> GANTrainConfig:
    base = dict(steps=100, batch=2, segment=1024, lr=1e-3, disc_lr=3e-3, lr_warmup=1, warmup_steps=0, log_every=1,
                save_every=1000, resolutions=[[256, 64], [128, 32]], state_format="exact",
                disc=DiscriminatorConfig(**TINY_DISC))
    return GANTrainConfig(**{**base, **kw})


def _params(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def _mean(hist, key, sl) -> float:
    vals = [v for _, v in hist[key]][sl]
    return sum(vals) / len(vals)


def test_discriminator_outputs_and_hinge_on_stereo():
    d = Discriminators(2, DiscriminatorConfig(**TINY_DISC))
    out = d(torch.randn(3, 2, 1000))
    assert len(out) == 4 and all(len(f) > 1 for _, f in out)
    assert all(logits.shape[0] == 3 for logits, _ in out[:2])          # STFT scales: channels as input planes
    assert all(logits.shape[0] == 6 for logits, _ in out[2:])          # periods: channels folded into the batch
    zero = [(torch.zeros(2, 1, 3, 3), [])]
    assert float(hinge_d(zero, zero)) == pytest.approx(2.0) and float(hinge_g(zero)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="names no discriminator"):
        Discriminators(2, DiscriminatorConfig(stft_ffts=[], periods=[]))


def test_adversarial_steps_lower_disc_and_spectral_losses(clips, tmp_path):
    trainer = Trainer(tiny_ae(), _cfg(), "cpu")
    run = train(trainer, clips, tmp_path / "s", max_steps=24, progress=False)
    h = trainer.history
    assert run["step"] == 24 and len(h["disc"]) == 24 and len(h["fm"]) == 24
    assert all(torch.isfinite(torch.tensor(v)) for k in h for _, v in h[k])
    assert _mean(h, "disc", slice(-6, None)) < _mean(h, "disc", slice(0, 6)) - 0.2
    assert _mean(h, "mrstft", slice(-6, None)) < _mean(h, "mrstft", slice(0, 6)) - 0.05


def test_warmup_steps_do_not_touch_the_discriminators(clips, tmp_path):
    trainer = Trainer(tiny_ae(), _cfg(warmup_steps=3), "cpu")
    before = _params(trainer.disc)
    train(trainer, clips, tmp_path / "s", max_steps=3, progress=False)
    assert all(torch.equal(before[k], v) for k, v in trainer.disc.state_dict().items())
    assert not trainer.opt_d.state and not trainer.history["disc"] and len(trainer.history["mrstft"]) == 3
    train(trainer, clips, tmp_path / "s", max_steps=1, progress=False)     # step 4: the adversary starts
    assert any(not torch.equal(before[k], v) for k, v in trainer.disc.state_dict().items())
    assert [s for s, _ in trainer.history["disc"]] == [4]


def test_resumed_run_equals_an_uninterrupted_one(clips, tmp_path):
    cfg = _cfg(warmup_steps=2)
    straight = Trainer(tiny_ae(), cfg, "cpu")
    train(straight, clips, tmp_path / "a", max_steps=5, progress=False)
    first = Trainer(tiny_ae(), cfg, "cpu")
    train(first, clips, tmp_path / "b", max_steps=3, progress=False)       # interrupted after 3 steps
    resumed = Trainer(tiny_ae(), cfg, "cpu")                                # a fresh process
    run = train(resumed, clips, tmp_path / "b", max_steps=2, progress=False)
    assert (run["first_step"], run["step"]) == (3, 5)
    assert [s for s, _ in resumed.history["loss"]] == [1, 2, 3, 4, 5]
    for name in ("ae", "ema", "disc"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), f"{name}.{k}"
    # an unrelated third run would differ: the comparison can fail
    other = Trainer(tiny_ae(), dataclasses.replace(cfg, seed=1), "cpu")
    train(other, clips, tmp_path / "c", max_steps=5, progress=False)
    assert not all(torch.equal(v, other.ae.state_dict()[k]) for k, v in straight.ae.state_dict().items())


@pytest.mark.parametrize("fmt", ["compact", "small"])
def test_compact_states_resume_close_and_small_rewarms(clips, tmp_path, fmt):
    trainer = Trainer(tiny_ae(), _cfg(state_format=fmt), "cpu")
    train(trainer, clips, tmp_path / "s", max_steps=2, progress=False)
    again = Trainer(tiny_ae(), _cfg(state_format=fmt), "cpu")
    again.load(tmp_path / "s")
    assert again.step == 2
    for k, v in trainer.ae.state_dict().items():                           # float32 (compact) or float16 (small)
        torch.testing.assert_close(again.ae.state_dict()[k], v, atol=0 if fmt == "compact" else 1e-4,
                                   rtol=0 if fmt == "compact" else 1e-3)
    for k, v in trainer.ema.state_dict().items():                          # EMA as an fp16 delta from them
        torch.testing.assert_close(again.ema.state_dict()[k], v, atol=1e-4, rtol=1e-3)
    assert (again.rewarm_from == 2) == (fmt == "small") and bool(again.opt_g.state) == (fmt == "compact")
    doc = json.loads((tmp_path / "s" / "state.json").read_text())
    assert doc["state_format"] == fmt and (not doc["optimizers"]) == (fmt == "small")


def test_state_refuses_another_autoencoder(clips, tmp_path):
    trainer = Trainer(tiny_ae(), _cfg(), "cpu")
    train(trainer, clips, tmp_path / "s", max_steps=1, progress=False)
    other = dataclasses.replace(tiny_ae(), channels=6)
    with pytest.raises(ValueError, match="state was trained with autoencoder"):
        Trainer(other, _cfg(), "cpu").load(tmp_path / "s")


def test_sharded_state_splits_large_tensors_under_the_limit(tmp_path):
    t = {"big": torch.randn(64, 100), "small": torch.arange(5), "rng": torch.Generator().get_state()}
    files = save_sharded(tmp_path / "st", t, {"step": 7}, max_shard_bytes=8000)
    shards = [f for f in files if f.suffix == ".safetensors"]
    assert len(shards) >= 4 and all(f.stat().st_size <= 8000 + 2000 for f in shards)
    back, doc = load_sharded(tmp_path / "st")
    assert doc["step"] == 7 and set(back) == set(t) and all(torch.equal(back[k], t[k]) for k in t)
    save_sharded(tmp_path / "st", {"x": torch.zeros(3)}, {"step": 8})      # replaces, leaves no stale shard
    assert len(list((tmp_path / "st").glob("*.safetensors"))) == 1 and not (tmp_path / "st.old").exists()


def test_config_overrides_are_checked():
    cfg = overridden(_cfg(), ["batch=4", "disc.stft_filters=8", "betas=[0.5, 0.9]"])
    assert (cfg.batch, cfg.disc.stft_filters, cfg.betas) == (4, 8, [0.5, 0.9])
    with pytest.raises(SystemExit, match="unknown field"):
        overridden(_cfg(), ["nope=1"])


def test_state_formats_hold_the_documented_bytes_per_parameter(clips, tmp_path):
    """exact 16 B per autoencoder parameter (weights, EMA, two Adam moments) and 12 per discriminator one; compact
    10 and 8; small 4 and 2 (GANTrainConfig.state_format)."""
    per = {"exact": (16, 12), "compact": (10, 8), "small": (4, 2)}
    for fmt, (b_ae, b_disc) in per.items():
        trainer = Trainer(tiny_ae(), _cfg(state_format=fmt), "cpu")
        train(trainer, clips, tmp_path / fmt, max_steps=1, progress=False)
        tensors, _ = load_sharded(tmp_path / fmt)
        held = sum(v.numel() * v.element_size() for k, v in tensors.items() if k != "rng")
        n_ae = sum(p.numel() for p in trainer.ae.parameters())
        n_disc = sum(p.numel() for p in trainer.disc.parameters())
        assert held == b_ae * n_ae + b_disc * n_disc, fmt


def test_a_call_logs_its_last_step_even_between_log_points(clips, tmp_path):
    trainer = Trainer(tiny_ae(), _cfg(log_every=25), "cpu")
    train(trainer, clips, tmp_path / "s", max_steps=2, progress=False)
    assert [s for s, _ in trainer.history["loss"]] == [2]
