"""`lmdm arc` end to end on the tiny embedded shapes: a stage-1 checkpoint and training latents in, a post-trained
checkpoint out (loadable, different weights), plus the resumable state, the loss plot and sample WAVs."""
from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner

from bridge.cli import main as lmdm
from lmdm_core.pipeline import build_model, default_configs, load_model
from lmdm_core.objective import toy_latents
from lmdm_core.training.latents import LatentSet


def _stage1(tmp_path):
    torch.manual_seed(0)
    m = build_model(default_configs(), "test", {"trained": True})
    m.save(tmp_path / "stage1")
    g = torch.Generator().manual_seed(0)
    clips = [toy_latents(1, m.dit.cfg.io_channels, n, g)[0].half() for n in (50, 64, 30)]   # 30: too short, skipped
    data = LatentSet(ids=["a", "b", "c"], captions=["warm piano", "dark strings", "piano"], instruments=[[]] * 3,
                     voice=[-1] * 3, mix=clips, stem=[None] * 3, acc=[None] * 3, curves=[torch.zeros(3, 1)] * 3)
    data.save(tmp_path / "latents.pt")
    return m


def test_lmdm_arc_post_trains_and_exports(tmp_path):
    torch.set_num_threads(1)
    stage1 = _stage1(tmp_path)
    args = ["arc", "--model", str(tmp_path / "stage1"), "--latents", str(tmp_path / "latents.pt"),
            "--work", str(tmp_path / "work"), "--export", str(tmp_path / "arc"), "--steps", "1", "--batch", "2",
            "--blocks", "2", "--sampler-steps", "3", "--lr", "1e-3", "--no-progress"]
    res = CliRunner().invoke(lmdm, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = load_model(tmp_path / "arc")
    assert out.meta["arc_forcing"]["arc"]["train_steps"] == 1 and out.meta["stage1"] == str(tmp_path / "stage1")
    diff = [k for k, v in stage1.dit.state_dict().items() if not torch.equal(v, out.dit.state_dict()[k])]
    assert diff
    for k, v in stage1.autoencoder.state_dict().items():          # only the DiT was post-trained
        assert torch.equal(v, out.autoencoder.state_dict()[k])
    work = tmp_path / "work"
    assert {p.name for p in work.iterdir()} >= {"state.pt", "history.json", "losses.png", "report.json", "samples"}
    assert len(list((work / "samples").glob("*.wav"))) == 2
    assert json.loads((work / "report.json").read_text())["final"]["loss_g"] > 0


def test_lmdm_arc_missing_model_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(lmdm, ["arc", "--model", str(tmp_path / "nope"), "--latents", str(tmp_path / "x.pt")])
    assert res.exit_code != 0 and "not found" in res.output


def test_lmdm_arc_encodes_a_data_build_and_keeps_to_a_time_budget(tmp_path):
    """--data: the build's train split is encoded with the checkpoint's autoencoder; --seconds 0 stops after the
    first step (every step checks the wall clock), which still saves a resumable state and reports its step count."""
    from tests.eval.builds import add_render, progression

    torch.set_num_threads(1)
    _stage1(tmp_path)
    e = add_render(tmp_path / "build", "w1-r0", "train", progression(60, 6), ["piano", "strings"], [0, 48], "duo",
                   "C")
    np.save(tmp_path / "build" / "renders" / e.id / "curves.npy", np.zeros((3, e.frames), np.float32))  # unused here
    args = ["arc", "--model", str(tmp_path / "stage1"), "--data", str(tmp_path / "build"), "--work",
            str(tmp_path / "work"), "--export", str(tmp_path / "arc"), "--steps", "50", "--batch", "2", "--blocks", "1",
            "--sampler-steps", "2", "--seconds", "0", "--no-progress"]
    res = CliRunner().invoke(lmdm, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    latents = LatentSet.load(tmp_path / "work" / "latents-train.pt")
    assert latents.ids == ["w1-r0"] and latents.mix[0].shape[-1] > 24 + 8
    assert torch.load(tmp_path / "work" / "state.pt", weights_only=False)["step"] == 1
    assert load_model(tmp_path / "arc").meta["arc_forcing"]["arc"]["train_steps"] == 1
