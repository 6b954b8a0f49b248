"""One training step of each trainer changes the weights and stays finite; a resumed run continues exactly."""
from __future__ import annotations

import dataclasses

import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.training.ae import AETrainConfig, evaluate, mrstft, si_sdr, train_autoencoder
from lmdm_core.training.dit import DiTTrainConfig, WindowSampler, train_dit

from tests.training.conftest import tiny_ae, tiny_dit, tiny_stream

VOCAB = ["warm", "piano", "chorale", "bright", "brass"]


def _ae_cfg(steps: int) -> AETrainConfig:
    return AETrainConfig(steps=steps, batch=2, segment=1024, lr=1e-3, lr_final=1e-3, log_every=1, save_every=1,
                         resolutions=[[256, 64], [128, 32]])


def _dit_cfg(bi: int, ft: int) -> DiTTrainConfig:
    return DiTTrainConfig(steps_bidirectional=bi, steps_finetune=ft, batch=2, lr=1e-3, lr_final=1e-3, warmup=1,
                          log_every=1, save_every=1, ema=0.5)


def test_ae_step_changes_weights_and_stays_finite(clips, tmp_path):
    torch.manual_seed(0)
    before = Autoencoder(tiny_ae()).state_dict()
    ae, hist = train_autoencoder(tiny_ae(), clips, tmp_path, _ae_cfg(1), progress=False)
    after = ae.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert torch.isfinite(torch.tensor(hist["loss"][0][1]))
    metrics = evaluate(ae, clips, seconds=0.5)
    assert metrics["clips"] == 3 and all(torch.isfinite(torch.tensor(v)) for v in metrics.values())


def test_ae_resume_continues_from_the_same_step(clips, tmp_path):
    straight, _ = train_autoencoder(tiny_ae(), clips, tmp_path / "a", _ae_cfg(3), progress=False)
    train_autoencoder(tiny_ae(), clips, tmp_path / "b", _ae_cfg(2), progress=False)
    resumed, hist = train_autoencoder(tiny_ae(), clips, tmp_path / "b", _ae_cfg(3), progress=False)
    assert [s for s, _ in hist["loss"]] == [1, 2, 3]
    for k, v in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v)


def test_dit_steps_change_weights_in_every_stage(latents, tmp_path):
    torch.manual_seed(0)
    from lmdm_core.dit import DiT
    before = DiT(tiny_dit()).state_dict()
    dit, text, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path, _dit_cfg(1, 2), VOCAB, progress=False)
    assert [len(hist[f"loss_{m}"]) for m in ("bidirectional", "block_causal", "encdec")] == [1, 1, 1]
    after = dit.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert all(torch.isfinite(v).all() for v in list(after.values()) + list(text.state_dict().values()))


def test_dit_resume_continues_from_the_same_step(latents, tmp_path):
    a, ta, _ = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "a", _dit_cfg(2, 2), VOCAB, progress=False)
    train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "b", _dit_cfg(2, 0), VOCAB, progress=False)
    b, tb, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "b", _dit_cfg(2, 2), VOCAB, progress=False)
    assert [s for s, _ in hist["loss"]] == [1, 2, 3, 4]
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v)
    torch.testing.assert_close(tb.embed.weight, ta.embed.weight)


def test_windows_carry_stems_or_curves_never_both(latents):
    cfg = dataclasses.replace(_dit_cfg(1, 0), p_stem=0.5, p_curves=1.0, p_curve_drop=0.0)
    w = WindowSampler(latents, tiny_stream(), cfg, torch.device("cpu"))
    x, extras, caps = w.sample(64, torch.Generator().manual_seed(0))
    assert x.shape == (64, 4, tiny_stream().window) and len(caps) == 64
    has_stem = extras["stem"].abs().sum((1, 2)) > 0
    has_curves = extras["curves"].abs().sum((1, 2)) > 0
    assert has_stem.any() and has_curves.any() and not (has_stem & has_curves).any()
    # curves enter scaled to about unit range
    assert extras["curves"].abs().max() <= 1.0


def test_losses_know_good_from_bad():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 4096, generator=g)
    near = x + 0.01 * torch.randn(1, 2, 4096, generator=g)
    far = torch.randn(1, 2, 4096, generator=g)
    assert mrstft(near, x) < 0.2 < mrstft(far, x)
    assert si_sdr(near, x).mean() > 30 > si_sdr(far, x).mean()


def test_block_sizes_are_drawn_per_batch(latents, tmp_path):
    """DiTTrainConfig.blocks: each batch trains one of the block sizes, windows as long as that geometry."""
    cfg = dataclasses.replace(_dit_cfg(4, 8), blocks=(4, 2))
    w = WindowSampler(latents, tiny_stream(), cfg, torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    drawn = {w.geometry(gen).block for _ in range(32)}
    assert drawn == {4, 2}
    short = tiny_stream().with_block(2)
    assert w.sample(3, gen, short)[0].shape == (3, 4, short.window)
    _, _, hist = train_dit(tiny_dit(), tiny_stream(), latents, tmp_path / "run", cfg, VOCAB, progress=False)
    steps = {b: [s for s, _ in hist[f"loss_block{b}"]] for b in (4, 2)}
    assert sorted(steps[4] + steps[2]) == list(range(1, 13)) and steps[4] and steps[2]
