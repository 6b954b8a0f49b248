"""`lmdm data build`: corpus works -> cleaned MIDI -> several renders each (instrument set, transposition, tempo) ->
44.1 kHz FLAC mix and stems, sketch curves, captions, manifest. Resumable; progress with tqdm.

Runs without click (and, given an exported works folder, without music21):
    PYTHONPATH=. python3 -m lmdm_core.data.build --works data/works --out data/lmdm --workers 16

Output layout under --out:
    renders/<id>/mix.flac, stem<k>.flac   audio, 16-bit, stereo (k = voice, top first)
    renders/<id>/curves.npy               [3, frames] float32 sketch curves of the mix (lmdm_core.features)
    renders/<id>/stem_curves.npy          [voices, 3, frames] curves of each voice alone
    renders/<id>/render.mid               the exact MIDI that was rendered
    manifest.jsonl, summary.json          see manifest.py
    summary.png                           hours per collection, pitch agreement, one render's curves vs its MIDI
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lmdm_core import features
from lmdm_core.config import AutoencoderConfig
from lmdm_core.data import captions, checks, corpus, stems
from lmdm_core.data import midi as midifix
from lmdm_core.data.manifest import Entry, Manifest
from lmdm_core.data.render import DEFAULT_SOUNDFONT, Rendered, render

TRANSPOSE_RANGE = range(-5, 7)
TEMPO_RANGE = (0.8, 1.25)
LOWEST, HIGHEST = 28, 103      # keep transposed notes where GM instruments still sound
PAN_WIDTH = 40                 # voices spread at most this far (CC10 units) either side of centre


@dataclass
class BuildConfig:
    works_dir: Path
    out_dir: Path
    soundfont: Path = DEFAULT_SOUNDFONT
    renders: int = 3                   # renders per work; render 0 keeps the written key and tempo
    sample_rate: int = AutoencoderConfig().sample_rate
    hop: int = AutoencoderConfig().hop
    max_seconds: float = 180.0         # longer works are cut here (the length guard)
    timeout: float = 300.0             # wall-clock guard per render
    with_stems: bool = True
    seed: int = 0
    workers: int = 1
    progress: bool = True
    plot: bool = True                  # summary.png when matplotlib is there
    only: list[str] | None = None      # render only these collections of the exported works


@dataclass
class Variation:
    ensemble: str
    transpose: int
    tempo_factor: float
    pans: list[int]            # CC10 per voice, top first


def _variation(info: corpus.WorkInfo, k: int, seed: int, mid, voices: int) -> Variation:
    """Ensemble, stereo placement, transposition and tempo of render k, seeded by work and k (reruns choose the same).
    Render 0 keeps the written key and tempo."""
    ensembles = sorted(captions.ENSEMBLES)
    random.Random(f"{seed}:{info.id}").shuffle(ensembles)     # a work's renders take different ensembles
    ensemble = ensembles[k % len(ensembles)]
    rng = random.Random(f"{seed}:{info.id}:{k}")
    width = rng.uniform(0, PAN_WIDTH)
    spots = [round(64 + width * (2 * v / (voices - 1) - 1)) if voices > 1 else 64 for v in range(voices)]
    rng.shuffle(spots)
    if k == 0:
        return Variation(ensemble, 0, 1.0, spots)
    lo, hi = midifix.pitch_range(mid)
    shifts = [s for s in TRANSPOSE_RANGE if lo + s >= LOWEST and hi + s <= HIGHEST] or [0]
    return Variation(ensemble, rng.choice(shifts), round(rng.uniform(*TEMPO_RANGE), 3), spots)


def render_orchestrated(midi_path: str | Path, ensemble: str, sample_rate: int, max_seconds: float,
                        soundfont: str | Path = DEFAULT_SOUNDFONT) -> tuple[Rendered, captions.Orchestration]:
    """A work's voices played by `ensemble`, instruments assigned as the training renders assign them (without the
    renders' transposition, tempo change and panning): one stem per voice, in `voice_tracks` order (top first)."""
    mid = midifix.load(Path(midi_path))
    voices = midifix.voice_tracks(mid)
    orch = captions.orchestrate(ensemble, len(voices))
    midifix.set_programs(mid, dict(zip(voices, orch.programs)))
    channels = [midifix.track_channel(mid.tracks[t]) for t in voices]
    return render(mid, soundfont, sample_rate, channels=channels, max_seconds=max_seconds), orch


def render_one(info: corpus.WorkInfo, k: int, cfg: BuildConfig) -> Entry:
    """Render variation k of one work into renders/<id>/; returns its manifest entry (status "failed" on error)."""
    entry = Entry(id=f"{info.slug}-r{k}", work=info.id, collection=info.collection, split=info.split,
                  sample_rate=cfg.sample_rate, hop=cfg.hop)
    try:
        mid = midifix.load(Path(cfg.works_dir) / f"{info.slug}.mid")
        voices = midifix.voice_tracks(mid)
        var = _variation(info, k, cfg.seed, mid, len(voices))
        shift, factor = var.transpose, var.tempo_factor
        orch = captions.orchestrate(var.ensemble, len(voices))
        midifix.set_programs(mid, dict(zip(voices, orch.programs)))
        midifix.set_pans(mid, dict(zip(voices, var.pans)))
        midifix.transpose(mid, shift)
        midifix.scale_tempo(mid, factor)
        channels = [midifix.track_channel(mid.tracks[t]) for t in voices]
        out = render(mid, cfg.soundfont, cfg.sample_rate, channels=channels, max_seconds=cfg.max_seconds,
                     timeout=cfg.timeout)
        audio, gain_db = stems.level(out.stems)
        folder = Path(cfg.out_dir) / "renders" / entry.id
        mix = audio.sum(axis=0)
        files = stems.write(folder, audio, cfg.sample_rate, cfg.with_stems, mix)
        mix_curves = features.curves(mix, cfg.sample_rate, cfg.hop)
        stem_curves = np.stack([features.curves(a, cfg.sample_rate, cfg.hop) for a in audio])
        np.save(folder / "curves.npy", mix_curves)
        np.save(folder / "stem_curves.npy", stem_curves)
        mid.save(str(folder / "render.mid"))
        scores = [checks.pitch_agreement(c[features.PITCH], notes, cfg.sample_rate, cfg.hop)
                  for c, notes in zip(stem_curves, midifix.voice_notes(mid))]
        scores = [s for s in scores if s is not None]
        bpm = info.bpm * factor
        tonic = (info.tonic_pc + shift) % 12
        entry.caption = captions.caption(info.style, orch, tonic, info.mode, bpm, random.Random(entry.id))
        entry.ensemble, entry.instruments, entry.programs, entry.pans = var.ensemble, orch.names, orch.programs, var.pans
        entry.transpose, entry.tempo_factor, entry.bpm = shift, factor, round(bpm, 2)
        entry.key, entry.mode = captions.key_name(tonic, info.mode), info.mode
        entry.samples = audio.shape[1]
        entry.seconds = round(entry.samples / cfg.sample_rate, 3)
        entry.frames = mix_curves.shape[1]
        entry.gain_db, entry.truncated = round(gain_db, 2), out.truncated
        entry.files = files + ["curves.npy", "stem_curves.npy", "render.mid"]
        entry.pitch_agreement = round(float(np.mean(scores)), 4) if scores else None
    except Exception as err:  # one bad render must not stop a build of thousands
        entry.status, entry.error = "failed", f"{type(err).__name__}: {err}"[:300]
    return entry


def _render_job(job: tuple[corpus.WorkInfo, int, BuildConfig]) -> Entry:
    return render_one(*job)


def _export_job(job: tuple[corpus.Work, Path]) -> corpus.WorkInfo:
    return corpus.export_work(*job)


def _pool_map(fn, jobs: list, workers: int, desc: str, progress: bool):
    """Yield fn(job) for each job (any order), in worker processes when workers > 1, with a progress bar."""
    bar = tqdm(total=len(jobs), desc=desc, unit="job", disable=not progress)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job)
            bar.update()
    else:
        with mp.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
            for result in pool.imap_unordered(fn, jobs):
                yield result
                bar.update()
    bar.close()


def export(works: list[corpus.Work], works_dir: Path, workers: int = 1, progress: bool = True) -> list[corpus.WorkInfo]:
    """Export the works not yet exported well to works_dir (needs music21; failures are retried); returns every
    record there."""
    works_dir = Path(works_dir)
    works_dir.mkdir(parents=True, exist_ok=True)
    done = {w.id for w in corpus.read_works(works_dir) if w.status == "ok"}
    todo = [(w, works_dir) for w in works if w.id not in done]
    for info in _pool_map(_export_job, todo, workers, "export", progress):
        corpus.append_work(works_dir, info)
    return corpus.read_works(works_dir)


def build(cfg: BuildConfig) -> dict:
    """Render every exported work `cfg.renders` times, skipping renders already in the manifest; returns the summary."""
    infos = [w for w in corpus.read_works(cfg.works_dir)
             if w.status == "ok" and (cfg.only is None or w.collection in cfg.only)]
    if not infos:
        raise FileNotFoundError(f"no exported works in {cfg.works_dir}; run the export first (needs music21)")
    if not Path(cfg.soundfont).is_file():
        raise FileNotFoundError(f"SoundFont {cfg.soundfont} not found")
    manifest = Manifest(cfg.out_dir)
    done = manifest.done()
    jobs = [(info, k, cfg) for info in infos for k in range(cfg.renders) if f"{info.slug}-r{k}" not in done]
    for entry in _pool_map(_render_job, jobs, cfg.workers, "render", cfg.progress):
        manifest.append(entry)
    summary = manifest.summary()
    if cfg.plot:
        try:
            from lmdm_core.data.plot import plot_summary
            plot_summary(cfg.out_dir)
        except ImportError:  # no matplotlib (the GPU machine): the numbers are in summary.json
            pass
    return summary


def run(works_dir: Path, out_dir: Path, collections: list[str] | None = None, limit: int | None = None,
        heldout: float = 0.1, export_only: bool = False, **options) -> dict:
    """Export (when collections are named or nothing was exported yet) and then render. Shared by both CLIs."""
    cfg = BuildConfig(works_dir=Path(works_dir), out_dir=Path(out_dir), **options)
    if collections is not None or not corpus.read_works(cfg.works_dir):
        try:
            works = corpus.select_works(collections, limit, heldout)
        except ImportError as err:
            raise SystemExit(f"{err}: exporting works needs music21; or carry an exported works folder "
                             f"(works.jsonl + *.mid) and point --works at it") from err
        infos = export(works, cfg.works_dir, cfg.workers, cfg.progress)
        if export_only:
            ok = [i for i in infos if i.status == "ok"]
            return {"works": len(ok), "failed": len(infos) - len(ok), "seconds": round(sum(i.seconds for i in ok), 1)}
    return build(cfg)


def format_summary(summary: dict) -> str:
    """A few readable lines: totals, then works/renders/hours per split."""
    if "splits" not in summary:  # export-only
        return f"exported {summary['works']} works ({summary['seconds'] / 3600:.2f} h), {summary['failed']} failed"
    lines = [f"{summary['renders']} renders of {summary['works']} works, {summary['hours']:.2f} h, "
             f"{summary['failed']} failed, pitch agreement {summary['pitch_agreement_mean']}"]
    for name, row in summary["splits"].items():
        lines.append(f"  {name:8s} {row['works']:5d} works {row['renders']:6d} renders {row['hours']:8.2f} h")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m lmdm_core.data.build", description=__doc__.split("\n\n")[0])
    p.add_argument("--works", default="data/works", help="folder of exported works (works.jsonl + *.mid)")
    p.add_argument("--out", default="data/lmdm", help="output folder (renders/, manifest.jsonl, summary.json)")
    p.add_argument("--collections", default=None,
                   help=f"comma list to export first, 'all' for every one: {','.join(corpus.COLLECTIONS)}")
    p.add_argument("--limit", type=int, default=None, help="at most this many works per collection")
    p.add_argument("--heldout", type=float, default=0.1, help="held-out share of works (split by work)")
    p.add_argument("--export-only", action="store_true")
    p.add_argument("--renders", type=int, default=3)
    p.add_argument("--workers", type=int, default=max(1, (mp.cpu_count() or 2) - 1))
    p.add_argument("--max-seconds", type=float, default=180.0)
    p.add_argument("--soundfont", default=str(DEFAULT_SOUNDFONT))
    p.add_argument("--no-stems", action="store_true")
    p.add_argument("--only", default=None, help="render only these collections (comma list) of the exported works")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    cols = None if a.collections is None else (list(corpus.COLLECTIONS) if a.collections == "all"
                                               else a.collections.split(","))
    summary = run(a.works, a.out, cols, a.limit, a.heldout, a.export_only, renders=a.renders, workers=a.workers,
                  max_seconds=a.max_seconds, soundfont=Path(a.soundfont), with_stems=not a.no_stems, seed=a.seed,
                  only=None if a.only is None else a.only.split(","))
    print(format_summary(summary))


if __name__ == "__main__":
    main()
