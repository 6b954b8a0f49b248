"""Drift, accompaniment and adherence runners and `lmdm eval` on a tiny data build and the tiny random model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from lmdm_core.eval import heldout
from lmdm_core.eval.accompaniment import run_accompaniment
from lmdm_core.eval.drift import METRICS, run_drift
from lmdm_core.eval.run import EvalConfig, evaluate
from lmdm_core.pipeline import build_model, default_configs

from .builds import add_render, progression, scale

SHORT = {"seconds": 10.0, "window_s": 5.0, "context_s": 2.5, "jam_seconds": 5.0}


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """Held out: two 2-voice works (C and G major, about 17 s). Train: piano and flute renders of other music."""
    out = tmp_path_factory.mktemp("build")
    add_render(out, "w1-r0", "heldout", progression(60, 8, seed=1), ["flute", "piano"], [73, 0], "mixed", "C major")
    add_render(out, "w2-r0", "heldout", progression(67, 8, seed=2), ["violin", "cello"], [40, 42], "strings", "G major")
    for k, (tonic, name, prog) in enumerate([(62, "piano", 0), (65, "flute", 73), (57, "piano", 0), (64, "flute", 73)]):
        add_render(out, f"t{k}-r0", "train", [scale(tonic), scale(tonic - 12)], [name, name], [prog, prog], name,
                   "major")
    return out


def tiny_model(jam: bool = False):
    """The tiny random model (not lmdm_core/weights/, which may hold the trained one); jam: with a "stem" input."""
    cfgs = default_configs()
    if jam:
        cfgs["dit"].input_adds = {"context": cfgs["dit"].io_channels + 1, "stem": cfgs["dit"].io_channels}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = build_model(cfgs, "tiny (untrained)", {"trained": False})
    for mod in (m.dit, m.autoencoder, m.text):
        mod.eval().requires_grad_(False)
    return m


def test_drift_keys_and_baselines(build):
    m = tiny_model()
    clips = heldout.load_heldout(build, m.autoencoder.sample_rate, m.autoencoder.audio_channels, limit=2)
    assert [c.id for c in clips] == ["w1-r0", "w2-r0"]
    result, text_audio = run_drift(m, clips, seconds=10.0, window_s=5.0, context_s=2.5, progress=False)
    assert len(text_audio) == 2 and text_audio[0].shape == (2, 10 * m.autoencoder.sample_rate)
    for mode in ("audio_primed", "text_only"):
        d = result[mode]
        assert d["windows_s"] == [0.0, 5.0]
        methods = d["methods"]
        assert {"generated", "noise", "ground_truth", "other_work"} <= set(methods)
        for curves in methods.values():
            assert set(curves) == set(METRICS) and all(len(v) == 2 for v in curves.values())
        gt, noise = methods["ground_truth"], methods["noise"]
        assert gt["spectral_distance_db"][0] == pytest.approx(0.0, abs=1e-9)
        for metric in ("spectral_distance_db", "chroma_distance"):
            assert all(n > g + 0.05 for n, g in zip(noise[metric], gt[metric])), (mode, metric, noise[metric])
        assert all(k == 1.0 for k in gt["key_score"])    # the real continuation stays in its key
    # the looped context is the same music: much closer in pitch classes than noise (which sits near 1, unrelated)
    primed = result["audio_primed"]["methods"]
    pairs = zip(primed["repeat_context"]["chroma_distance"], primed["noise"]["chroma_distance"])
    assert all(r < n - 0.3 for r, n in pairs)
    assert [c["context_key"] for c in result["clips"]] == ["C major", "G major"]


def test_accompaniment_keys_and_baselines(build):
    m = tiny_model(jam=True)
    clips = heldout.load_heldout(build, m.autoencoder.sample_rate, m.autoencoder.audio_channels, limit=2,
                                 with_stem=True)
    result = run_accompaniment(m, clips, seconds=5.0, context_s=2.5, progress=False)
    agree = result["chroma_agreement"]
    assert set(agree) == {"generated", "repeat_context", "shuffled", "echo_player", "noise"}
    assert all(0.0 <= v <= 1.0 for v in agree.values())
    assert agree["shuffled"] > agree["noise"] + 0.1 and agree["repeat_context"] > agree["noise"] + 0.1, agree
    assert [r["id"] for r in result["per_clip"]] == ["w1-r0", "w2-r0"]
    skipped = run_accompaniment(tiny_model(), clips, seconds=5.0, progress=False)
    assert "stem" in skipped["skipped"]       # a model without a jam input: said, not crashed


def test_evaluate_writes_json_and_plots(build, tmp_path):
    result = evaluate(EvalConfig.quick(build, tmp_path, progress=False, **SHORT), model=tiny_model(jam=True))
    data = json.loads((tmp_path / "eval.json").read_text())
    assert {"drift", "adherence", "accompaniment", "texture", "style", "model", "config", "stream"} <= set(data)
    for png in ("drift.png", "adherence.png", "accompaniment.png", "texture.png", "style.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    adh = data["adherence"]
    assert adh["chance"]["instrument_auc"] == 0.5
    assert set(adh["methods"]) == {"generated", "ground_truth", "noise", "swapped_prompt"}
    assert (tmp_path / "instruments.safetensors").stat().st_size < 1_000_000
    assert result["drift"]["settings"]["works"] == 2
    tex = data["texture"]
    assert set(tex["ratio"]) == {"notes_per_second", "mean_polyphony", "pitch_class_entropy", "harmonic_change"}
    assert tex["real"]["notes_per_second"] > 0 and len(tex["per_clip"]) == 2      # the renders have notes
    assert set(data["style"]["methods"]) == {"generated", "ground_truth", "noise", "swapped_prompt"}
    assert data["stream"]["block_frames"] > 0


def test_steps_list_runs_once_per_step_count_with_the_real_renders_transcribed_once(build, tmp_path):
    cfg = EvalConfig.quick(build, tmp_path, progress=False, parts=("texture",), steps_list=(2, 1), seconds=5.0,
                           window_s=5.0, context_s=2.5)
    result = evaluate(cfg, model=tiny_model())
    assert list(result["by_steps"]) == ["2", "1"] and result["steps_list"] == [2, 1]
    runs = [json.loads((tmp_path / f"steps{s}" / "eval.json").read_text()) for s in (2, 1)]
    assert [r["config"]["steps"] for r in runs] == [2, 1]
    assert runs[0]["texture"]["real"] == runs[1]["texture"]["real"]
    assert result["by_steps"]["1"]["texture_ratio"] == runs[1]["texture"]["ratio"]
    assert json.loads((tmp_path / "eval.json").read_text())["stream"]["block_frames"] > 0


def test_cli_quick_and_clear_errors(build, tmp_path):
    from bridge.cli import main
    runner = CliRunner()
    tiny_model().save(tmp_path / "tiny")
    res = runner.invoke(main, ["eval", "--data", str(build), "--out", str(tmp_path), "--quick", "--seconds", "10",
                               "--model", str(tmp_path / "tiny"),
                               "--window", "5", "--context", "2.5", "--parts", "drift"])
    assert res.exit_code == 0, res.output
    assert "text_only" in res.output and (tmp_path / "drift.png").is_file()
    assert "adherence" not in json.loads((tmp_path / "eval.json").read_text())
    bad = runner.invoke(main, ["eval", "--data", str(tmp_path / "none"), "--out", str(tmp_path), "--parts", "drift"])
    assert bad.exit_code != 0 and "no 'heldout' renders" in bad.output
    bad = runner.invoke(main, ["eval", "--data", str(build), "--out", str(tmp_path), "--parts", "vibes"])
    assert bad.exit_code != 0 and "unknown parts" in bad.output


def test_the_evaluation_runs_at_the_block_size_asked(build, tmp_path):
    """--block-size short streams every generation in the short blocks (recorded in eval.json); a model trained for
    one block size refuses it with a clear error."""
    m = tiny_model()
    m.meta["blocks"] = [8, 4]                      # as a model trained with --blocks 8,4
    cfg = EvalConfig(build, tmp_path / "short", works=1, parts=("drift",), block_size="short", progress=False,
                     **SHORT)
    r = evaluate(cfg, model=m)
    assert r["stream"]["block_size"] == "short" and r["stream"]["block_frames"] == 4
    assert r["drift"]["settings"]["block_size"] == "short"
    saved = json.loads((tmp_path / "short" / "eval.json").read_text())
    assert saved["stream"]["block_frames"] == 4
    long = evaluate(EvalConfig(build, tmp_path / "long", works=1, parts=("drift",), progress=False, **SHORT), model=m)
    assert long["stream"]["block_frames"] == 8
    # the two block sizes really stream differently (same seed, same weights)
    a, b = (x["drift"]["text_only"]["methods"]["generated"] for x in (r, long))
    assert a != b
    with pytest.raises(ValueError, match="block size 'short'"):
        evaluate(EvalConfig(build, tmp_path / "no", works=1, parts=("drift",), block_size="short", progress=False,
                            **SHORT), model=tiny_model())
