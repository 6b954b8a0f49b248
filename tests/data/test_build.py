"""The build: split by work, resumable manifest with counts and durations, captions, and both front ends."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from conftest import HELDOUT, HOP, SMALL_SF, SR
from lmdm_core.data import build, corpus
from lmdm_core.data.manifest import MANIFEST, SUMMARY, Manifest

REPO = Path(__file__).resolve().parents[2]


def test_split_is_by_work_and_stable():
    works = corpus.select_works(["bach", "fiddle"], limit=60, heldout=0.2)
    train = {w.id for w in works if w.split == corpus.TRAIN}
    held = {w.id for w in works if w.split == corpus.HELDOUT}
    assert train and held and not train & held
    assert len(train) + len(held) == len(works) == 120
    assert 0.05 < len(held) / len(works) < 0.4
    again = corpus.select_works(["bach"], limit=60, heldout=0.2)     # a work keeps its side in another selection
    assert all((w.id in held) == (w.split == corpus.HELDOUT) for w in again)
    every_bach = {w.id for w in corpus.select_works(["bach"], heldout=0.1)}    # one format per piece, unique slugs
    assert "bach/bwv366.mxl" in every_bach and "bach/bwv366.krn" not in every_bach
    assert len({corpus.Work(i, "bach").slug for i in every_bach}) == len(every_bach)
    pair = corpus.assign_splits([corpus.Work("a", "bach"), corpus.Work("b", "bach")], 0.01)   # no forced held-out
    assert [w.split for w in pair] == [corpus.split_of(w.key, 0.01) for w in pair]


def _cfg(works_dir: Path, out: Path, **kw) -> build.BuildConfig:
    kw = {"renders": 2, "augment": False, "soundfont": Path(SMALL_SF), "heldout": HELDOUT, **kw}
    return build.BuildConfig(works_dir, out, max_seconds=6.0, progress=False, **kw)


def test_build_manifest_captions_and_resume(works_dir, tmp_path):
    out = tmp_path / "lmdm"
    summary = build.build(_cfg(works_dir, out))
    entries = Manifest(out).entries()
    assert summary["renders"] == 4 and summary["failed"] == 0 and summary["works"] == 2
    assert json.loads((out / SUMMARY).read_text()) == summary
    # Split by work: each work's renders all sit on one side, and the sides share no work.
    sides = {}
    for e in entries:
        sides.setdefault(e.work, set()).add(e.split)
    assert all(len(s) == 1 for s in sides.values())
    assert set(summary["splits"]) == {"train", "heldout"}
    assert sum(v["renders"] for v in summary["splits"].values()) == 4
    # Durations in the manifest are those of the files; curves have one frame per latent.
    total = 0.0
    for e in entries:
        folder = out / "renders" / e.id
        info = sf.info(str(folder / "mix.flac"))
        assert (info.samplerate, info.channels, info.frames) == (SR, 2, e.samples)
        assert e.seconds == round(e.samples / SR, 3) and e.seconds <= 6.0
        curves = np.load(folder / "curves.npy")
        assert curves.shape == (3, e.frames) and e.frames == -(-e.samples // HOP)
        assert np.load(folder / "stem_curves.npy").shape == (4, 3, e.frames)
        assert all((folder / f).is_file() for f in e.files)
        assert e.pitch_agreement is not None and e.pitch_agreement > 0.6
        total += e.seconds
        # Captions carry instruments, key, mode and tempo words.
        assert any(name in e.caption for name in e.instruments)
        assert e.key in e.caption and e.mode in e.caption
        assert any(w in e.caption for w in ("largo", "adagio", "andante", "moderato", "allegro", "presto"))
        assert "BPM" in e.caption
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["seconds"] == round(total, 2)
    assert summary["hours"] == round(total / 3600, 4)
    for work in sides:   # each work's renders differ in instruments; render 1 also in key or tempo
        mine = sorted((e for e in entries if e.work == work), key=lambda e: e.id)
        assert mine[0].ensemble != mine[1].ensemble
        assert (mine[0].transpose, mine[0].tempo_factor) == (0, 1.0) and mine[1].tempo_factor != 1.0
    # Resume: a second run does nothing new.
    lines = (out / MANIFEST).read_text().splitlines()
    stamp = {p: p.stat().st_mtime_ns for p in (out / "renders").rglob("*")}
    assert build.build(_cfg(works_dir, out)) == summary
    assert (out / MANIFEST).read_text().splitlines() == lines
    assert {p: p.stat().st_mtime_ns for p in (out / "renders").rglob("*")} == stamp
    # An interrupted build (last render not recorded) redoes exactly that render, identically.
    (out / MANIFEST).write_text("\n".join(lines[:-1]) + "\n")
    build.build(_cfg(works_dir, out))
    redone = (out / MANIFEST).read_text().splitlines()
    assert len(redone) == 4 and json.loads(redone[-1]) == json.loads(lines[-1])


def test_python_module_runs_without_music21_matplotlib(works_dir, tmp_path):
    """The GPU machine path: `PYTHONPATH=. python3 -m lmdm_core.data.build` (the `lmdm data build` command) without
    music21 or matplotlib (click comes with the carried wheels)."""
    blocker = tmp_path / "blocked"
    for name in ("music21", "matplotlib"):
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"}
    out = tmp_path / "lmdm"
    cmd = [sys.executable, "-m", "lmdm_core.data.build", "--works", str(works_dir), "--out", str(out),
           "--renders", "1", "--workers", "2", "--max-seconds", "3", "--no-stems", "--soundfont", SMALL_SF]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 renders of 2 works" in done.stdout
    entries = Manifest(out).entries()
    assert len(entries) == 2 and all(e.status == "ok" and e.files[0] == "mix.flac" for e in entries)
    assert not list(out.glob("renders/*/stem0.flac")) and not (out / "summary.png").exists()
    # Asking it to export without music21 is a clear error, not a traceback.
    bad = subprocess.run(cmd[:3] + ["--works", str(tmp_path / "empty"), "--out", str(out)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "needs music21" in bad.stderr


def test_cli_exports_then_renders(tmp_path):
    from bridge.cli import main

    args = ["data", "build", "--works", str(tmp_path / "works"), "--out", str(tmp_path / "lmdm"),
            "--collections", "misc", "--limit", "1", "--renders", "1", "--max-seconds", "3", "--only", "misc,bach",
            "--soundfont", SMALL_SF]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 renders of 1 works" in result.output
    works = corpus.read_works(tmp_path / "works")
    assert len(works) == 1 and (tmp_path / "works" / f"{works[0].slug}.mid").is_file()
    none = CliRunner().invoke(main, args[:6] + ["--only", "bach"])       # nothing of that collection exported
    assert none.exit_code != 0 and "no exported works" in none.output
    bad = CliRunner().invoke(main, ["data", "build", "--collections", "nope", "--works", str(tmp_path / "w2")])
    assert bad.exit_code != 0 and "unknown collections" in bad.output


def test_export_survives_bad_repeats_and_crops_long_scores(tmp_path):
    from music21 import corpus as m21corpus

    info = corpus.export_work(corpus.Work("bach/bwv277.krn", "bach"), tmp_path)   # repeats music21 cannot expand
    assert info.status == "ok" and (tmp_path / f"{info.slug}.mid").is_file() and info.seconds > 10
    score = m21corpus.parse("bach/bwv66.6.mxl")
    short, cropped = corpus._crop(score, 8.0)
    assert cropped and 8.0 <= short.highestTime <= 12.0 and len(short.parts) == 4
    assert corpus._crop(score, 1000.0) == (score, False)
