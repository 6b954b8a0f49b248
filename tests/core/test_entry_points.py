"""One way to build a command: every command-line entry of lmdm_core/ and scripts/ is a click command that `lmdm`
registers and `python -m <module>` runs, and the flags the GPU scripts pass are the flags those commands take."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bridge.cli import main as lmdm
from lmdm_core import ae_bench, bench
from lmdm_core.arc import cli as arc_cli
from lmdm_core.data import cli as data_cli
from lmdm_core.eval import cli as eval_cli
from lmdm_core.training import cli as train_cli

REPO = Path(__file__).resolve().parents[2]

# python -m target -> the click command it runs (and the `lmdm` words that reach the same object)
ENTRIES: dict[str, tuple[click.Command, str]] = {
    "lmdm_core.bench": (bench.command, "bench model"),
    "lmdm_core.ae_bench": (train_cli.ae_cost, "train ae-cost"),
    "lmdm_core.ae_bench decoder": (ae_bench.decoder_command, "bench decoder"),   # python -m MODULE WORD
    "lmdm_core.training.run": (train_cli.run, "train run"),
    "lmdm_core.training.ae_gan": (train_cli.ae_v2, "train ae-v2"),
    "lmdm_core.data.build": (data_cli.build, "data build"),
    "lmdm_core.eval": (eval_cli.eval_command, "eval"),
    "lmdm_core.arc.run": (arc_cli.arc_command, "arc"),
    "lmdm_core.arc.bench": (arc_cli.bench_command, "bench arc"),
    "lmdm_core.arc.compare": (arc_cli.compare_command, "eval compare"),
}


def _flags(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}


def test_no_argparse_anywhere_in_the_code():
    found = [f"{p.relative_to(REPO)}:{n}" for top in ("lmdm_core", "scripts", "bridge", "tests", "docs")
             for p in sorted((REPO / top).rglob("*"))
             if p.suffix in (".py", ".sh") for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"^\s*(import argparse|from argparse )", line)]
    assert not found, f"argparse is back (build commands with click): {found}"


@pytest.mark.parametrize("words", sorted({w for _, w in ENTRIES.values()}))
def test_lmdm_registers_the_same_command_objects(words):
    cmd = lmdm
    for w in words.split():
        cmd = cmd.commands[w]
    assert cmd in [c for c, ws in ENTRIES.values() if ws == words]


def _script_calls() -> list[tuple[str, str, list[str]]]:
    """(script, module, flags) for every `-m lmdm_core.X ...` in scripts/gpu, continuation lines included."""
    calls = []
    for sh in sorted((REPO / "scripts" / "gpu").glob("*.sh")):
        text = re.sub(r"\\\n", " ", sh.read_text())
        for line in (ln for ln in text.splitlines() if not ln.lstrip().startswith("#")):
            for m in re.finditer(r"-m (lmdm_core(?:\.\w+)*)(?: ([a-z]+)\b)?(.*)", line):
                module = f"{m.group(1)} {m.group(2)}" if f"{m.group(1)} {m.group(2)}" in ENTRIES else m.group(1)
                calls.append((sh.name, module, re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", m.group(3))))
    return calls


def test_gpu_scripts_pass_only_flags_their_commands_take():
    calls = _script_calls()
    assert {m for _, m, _ in calls} >= {"lmdm_core.training.run", "lmdm_core.training.ae_gan", "lmdm_core.data.build",
                                        "lmdm_core.eval", "lmdm_core.arc.run", "lmdm_core.bench"}
    for script, module, flags in calls:
        assert module in ENTRIES, f"{script}: {module} is not a known entry"
        unknown = set(flags) - _flags(ENTRIES[module][0]) - {"--help"}
        assert not unknown, f"{script}: {module} does not take {sorted(unknown)}"


@pytest.mark.parametrize("module", ["lmdm_core.training.run", "lmdm_core.training.ae_gan", "lmdm_core.data.build",
                                    "lmdm_core.eval", "lmdm_core.arc.run", "lmdm_core.bench", "lmdm_core.arc.bench",
                                    "lmdm_core.arc.compare", "lmdm_core.ae_bench", "lmdm_core.ae_bench decoder"])
def test_python_m_runs_the_click_command(module):
    r = subprocess.run([sys.executable, "-m", *module.split(), "--help"], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith(f"Usage: python -m {module} ")
    assert all(f in r.stdout for f in _flags(ENTRIES[module][0]))


def test_train_run_options_and_their_defaults():
    """DiTTrainConfig's p_* defaults are read when `lmdm train run` parses (not on `lmdm --help`), then the recipe
    options build the DiT recipe as before."""
    from types import SimpleNamespace

    from lmdm_core.training.dit import DiTTrainConfig
    from lmdm_core.training.run import dit_recipe

    ctx = train_cli.run.make_context("run", ["--total-seconds", "560", "--dit-steps", "100", "--p-curves", "0.5"])
    p = ctx.params
    assert p["total_seconds"] == 560.0 and p["workers"] == 16 and p["ae_share"] == 0.4 and p["init"] is None
    assert p["p_stem"] == DiTTrainConfig.p_stem and p["p_curves"] == 0.5 and not p["no_progress"]
    cfg = dit_recipe(SimpleNamespace(**p), False)
    assert (cfg.steps_bidirectional, cfg.steps_finetune, cfg.p_curves) == (60, 40, 0.5)
    bad = CliRunner().invoke(lmdm, ["train", "run", "--ae-share", "half"])
    assert bad.exit_code == 2 and "--ae-share" in bad.output


def test_train_run_end_to_end_on_three_generated_works(tmp_path):
    """The whole recipe on tiny presets: render, autoencoder, latents, DiT, export; a loadable checkpoint comes out."""
    from lmdm_core.data import build
    from lmdm_core.pipeline import load_model

    build.export_generated(3, tmp_path / "works", progress=False)      # seeds 0-2: two train works, one held out
    args = ["train", "run", "--works", str(tmp_path / "works"), "--soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2",
            "--work", str(tmp_path / "work"), "--export", str(tmp_path / "ckpt"), "--ae-preset", "tiny",
            "--dit-preset", "tiny", "--stream-preset", "tiny", "--renders", "1", "--max-seconds", "4", "--workers", "1",
            "--ae-steps", "2", "--ae-batch", "2", "--ae-segment", "8192", "--dit-steps", "2", "--dit-batch", "2",
            "--eval-seconds", "1", "--no-progress"]
    r = CliRunner().invoke(lmdm, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "[export]" in r.output and "render:" not in r.output           # --no-progress reaches the render stage
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert report["ae_steps"] == 2 and report["dit_steps"] == 2 and report["data"]["splits"]["heldout"]["renders"] == 1
    assert load_model(tmp_path / "ckpt").meta["trained"] is True
    empty = CliRunner().invoke(lmdm, [*args[:2], "--works", str(tmp_path / "none"), *args[4:]])
    assert empty.exit_code == 1 and "no exported works" in empty.output and "Traceback" not in empty.output


def test_train_run_dit_v2_on_a_trained_autoencoder_over_two_calls(tmp_path):
    """The DiT v2 recipe on tiny presets: a given autoencoder (its stage skipped, its rate rendered), two block sizes,
    the ema8 state carried from one call to the next (the second on the first one's build via --data), every call
    recorded, and a checkpoint that streams both block sizes."""
    from lmdm_core.autoencoder import Autoencoder
    from lmdm_core.checkpoint import save_checkpoint
    from lmdm_core.config import autoencoder_preset
    from lmdm_core.data import build
    from lmdm_core.pipeline import load_model

    build.export_generated(3, tmp_path / "works", progress=False)
    ae = Autoencoder(autoencoder_preset("tiny"))                      # 44.1 kHz, hop 2048, 64 latent channels
    save_checkpoint(tmp_path / "ae", {"autoencoder": ae}, {"autoencoder": ae.cfg},
                    meta={"name": "tiny-ae", "report": {"step": 7}})
    work = tmp_path / "work"
    common = ["train", "run", "--autoencoder", str(tmp_path / "ae"), "--work", str(work), "--export",
              str(tmp_path / "ckpt"), "--dit-preset", "tiny", "--stream-preset", "tiny", "--blocks", "8,4",
              "--state-format", "ema8", "--dit-batch", "2", "--workers", "1", "--eval-seconds", "1", "--no-progress"]
    first = ["--works", str(tmp_path / "works"), "--soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2", "--renders",
             "1", "--max-seconds", "4", "--dit-steps", "2"]
    r = CliRunner().invoke(lmdm, [*common, *first], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads((work / "data" / "manifest.jsonl").read_text().splitlines()[0])["sample_rate"] == 44100
    r = CliRunner().invoke(lmdm, [*common, "--data", str(work / "data"), "--dit-steps", "4", "--seconds", "600"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    report = json.loads((work / "report.json").read_text())
    assert report["ae_steps"] == 7 and "ae_final" not in report and report["recipe"]["data"] == str(work / "data")
    assert [(c["first_step"], c["step"], c["state_format"]) for c in report["dit_calls"]] == [(0, 2, "ema8"),
                                                                                            (2, 4, "ema8")]
    assert report["dit_state"]["format"] == "ema8" and report["dit_steps"] == 4
    model = load_model(tmp_path / "ckpt")
    assert model.meta["blocks"] == [8, 4] and model.block_sizes == {"long": 8, "short": 4}
    assert model.stream.block == 8 and model.meta["name"] == "lmdm-tiny"
    bad = CliRunner().invoke(lmdm, [*common, "--data", str(work / "data"), "--blocks", "5"])
    assert bad.exit_code == 1 and "must divide the context" in bad.output
    bad = CliRunner().invoke(lmdm, [*common, "--data", str(work / "data"), "--state-format", "tiny"])
    assert bad.exit_code == 1 and "ema8" in bad.output and "Traceback" not in bad.output
    bad = CliRunner().invoke(lmdm, [*common, "--blocks", "8,x"])
    assert bad.exit_code == 2 and "comma-separated" in bad.output


def test_the_dit_v2_recipe_loads_an_autoencoder_without_soxr_or_matplotlib(tmp_path):
    """The GPU machine has neither (they are not among the carried wheels): the recipe's imports and its autoencoder
    loading must not need them."""
    from lmdm_core.autoencoder import Autoencoder
    from lmdm_core.checkpoint import save_checkpoint
    from lmdm_core.config import autoencoder_preset

    ae = Autoencoder(autoencoder_preset("tiny"))
    save_checkpoint(tmp_path / "ae", {"autoencoder": ae}, {"autoencoder": ae.cfg}, meta={"name": "tiny"})
    code = ("import sys; sys.modules['soxr'] = sys.modules['matplotlib'] = None\n"
            "import torch; from lmdm_core.training.run import trained_autoencoder\n"
            f"ae, meta = trained_autoencoder({str(tmp_path / 'ae')!r}, torch.device('cpu'))\n"
            "print(ae.cfg.latent_dim, meta['name'], 'soxr' in sys.modules and sys.modules['soxr'] is None)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["64", "tiny", "True"]


def test_train_ae_cost_times_the_tiny_autoencoder():
    r = CliRunner().invoke(lmdm, ["train", "ae-cost", "--preset", "tiny", "--threads", "1", "--repeats", "1",
                                  "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["threads"] for row in rows] == [1] and rows[0]["encoder_ms"] > 0 and rows[0]["decoder_ms"] > 0


def test_train_ae_v2_one_step_on_a_tiny_build(tmp_path):
    from tests.eval.builds import add_render, progression

    import numpy as np

    for rid, split in (("w1-r0", "train"), ("w2-r0", "heldout")):
        e = add_render(tmp_path / "build", rid, split, progression(60, 2), ["piano", "strings"], [0, 48], "duo", "C")
        np.save(tmp_path / "build" / "renders" / rid / "curves.npy", np.zeros((3, e.frames), np.float32))  # unused
    out = tmp_path / "out"
    args = ["train", "ae-v2", "--data", str(tmp_path / "build"), "--state", str(tmp_path / "state"), "--out", str(out),
            "--preset", "tiny", "--max-steps", "1", "--set", "batch=1", "--set", "segment=4096", "--workers", "1",
            "--eval-clips", "1", "--eval-seconds", "1", "--no-progress"]
    r = CliRunner().invoke(lmdm, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output[r.output.index("{"):])["step"] == 1
    assert (out / "ckpt" / "config.json").is_file() and (tmp_path / "state").is_dir()
    missing = CliRunner().invoke(lmdm, ["train", "ae-v2"])
    assert missing.exit_code == 2 and "--data" in missing.output


def test_arc_needs_latents_or_data(tmp_path):
    for extra in ([], ["--latents", "a.pt", "--data", "build"]):
        r = CliRunner().invoke(lmdm, ["arc", "--model", str(tmp_path), *extra])
        assert r.exit_code == 2 and "give one of --latents or --data" in r.output


def test_eval_takes_the_options_of_both_former_entries():
    flags = _flags(eval_cli.eval_command)
    assert {"--device", "--classifier-renders", "--no-progress", "--quick", "--parts", "--classifier"} <= flags
    ctx = eval_cli.eval_command.make_context("eval", ["--device", "cuda", "--classifier-renders", "4"])
    assert ctx.params["device"] == "cuda" and ctx.params["classifier_renders"] == 4 and ctx.params["out_dir"] == "eval"


def test_eval_compare_prints_the_table_and_names_a_missing_file(tmp_path):
    from tests.arc.test_compare import _eval_json

    a = _eval_json(tmp_path / "s1" / "eval.json", 1.0)
    r = CliRunner().invoke(lmdm, ["eval", "compare", f"stage1={a}"])
    assert r.exit_code == 0 and "| stage1 | 1.000 | 2.000 | 3.000 |" in r.output
    r = CliRunner().invoke(lmdm, ["eval", "compare", str(tmp_path / "none.json")])
    assert r.exit_code == 1 and "none.json" in r.output and "Traceback" not in r.output


def test_data_build_takes_the_options_of_both_former_entries():
    ctx = data_cli.build.make_context("build", ["--no-progress", "--no-stems", "--no-augment"])
    p = ctx.params
    assert p["no_progress"] and not p["stems"] and not p["augment"] and p["workers"] >= 1


def test_bench_model_and_arc_help():
    for words, flag in (("bench model", "--cuda-graphs"), ("bench arc", "--dit-preset")):
        r = CliRunner().invoke(lmdm, [*words.split(), "--help"])
        assert r.exit_code == 0 and flag in r.output
