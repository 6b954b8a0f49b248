"""`lmdm data build`: corpus and generated works -> cleaned MIDI -> renders (instrument set, transposition, tempo,
room and mastering augmentation) -> 44.1 kHz FLAC mix and stems, sketch curves, captions, manifest. Resumable;
progress with tqdm.

`lmdm data build` (data/cli.py) is the command; `python -m` runs the same one (given an exported works folder,
without music21):
    PYTHONPATH=. python3 -m lmdm_core.data.build --works data/works --out data/lmdm --workers 16

Output layout under --out:
    renders/<id>/mix.flac, stem<k>.flac   audio, 16-bit, stereo (k = voice, top first)
    renders/<id>/curves.npy               [3, frames] float32 sketch curves of the mix (lmdm_core.features)
    renders/<id>/stem_curves.npy          [voices, 3, frames] curves of each voice alone (with stems)
    renders/<id>/render.mid               the exact MIDI that was rendered
    manifest.jsonl, summary.json          see manifest.py
    summary.png                           hours per collection, pitch agreement, one render's curves vs its MIDI
"""
from __future__ import annotations

import multiprocessing as mp
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lmdm_core import features
from lmdm_core.config import AutoencoderConfig
from lmdm_core.data import augment, captions, checks, corpus, generator, stems
from lmdm_core.data import midi as midifix
from lmdm_core.data.manifest import Entry, Manifest
from lmdm_core.data.render import DEFAULT_SOUNDFONT, MUSESCORE_SOUNDFONT, Rendered, render

TRANSPOSE_RANGE = range(-5, 7)
TEMPO_RANGE = (0.8, 1.25)
GENERATED_TEMPO_RANGE = (0.92, 1.08)   # generated works already span 60-180 BPM; their styles keep their tempo range
LOWEST, HIGHEST = 28, 103      # keep transposed notes where GM instruments still sound
PAN_WIDTH = 40                 # voices spread at most this far (CC10 units) either side of centre


@dataclass
class BuildConfig:
    works_dir: Path
    out_dir: Path
    soundfont: Path = MUSESCORE_SOUNDFONT
    fallback: Path | None = DEFAULT_SOUNDFONT   # presets the SoundFont lacks (a subset without the piano) come from it
    renders: int = 1                   # renders per work; render 0 keeps the written key and tempo
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
    augment: bool = True               # reverb (and, without stems, compression) drawn per render (augment.py)
    heldout: float = 0.1               # held-out share: each work's side is recomputed from its key (corpus.split_of)
    hours: float | None = None         # render at most about this many hours of audio this run (a device-call cap)


@dataclass
class Variation:
    ensemble: str
    transpose: int
    tempo_factor: float
    pans: list[int]            # CC10 per voice, top first


def _variation(info: corpus.WorkInfo, k: int, seed: int, mid, voices: int) -> Variation:
    """Ensemble, stereo placement, transposition and tempo of render k, seeded by work and k (reruns choose the same).
    Render 0 keeps the written key and tempo. Generated works keep their own instruments and panning (ensemble "")."""
    ensembles = sorted(captions.ENSEMBLES)
    random.Random(f"{seed}:{info.id}").shuffle(ensembles)     # a work's renders take different ensembles
    ensemble = "" if info.source == "generated" else ensembles[k % len(ensembles)]
    rng = random.Random(f"{seed}:{info.id}:{k}")
    width = rng.uniform(0, PAN_WIDTH)
    spots = [round(64 + width * (2 * v / (voices - 1) - 1)) if voices > 1 else 64 for v in range(voices)]
    rng.shuffle(spots)
    if info.source == "generated":
        spots = []
    if k == 0:
        return Variation(ensemble, 0, 1.0, spots)
    lo, hi = midifix.pitch_range(mid)
    shifts = [s for s in TRANSPOSE_RANGE if lo + s >= LOWEST and hi + s <= HIGHEST] or [0]
    tempo = GENERATED_TEMPO_RANGE if info.source == "generated" else TEMPO_RANGE
    return Variation(ensemble, rng.choice(shifts), round(rng.uniform(*tempo), 3), spots)


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


def _orchestrate(info: corpus.WorkInfo, var: Variation, mid, voices: list[int]) -> tuple[list[str], list[int]]:
    """Give the voices their instruments; returns (caption words, GM programs) per voice, top first. Corpus works take
    the variation's ensemble; generated works keep the programs and pans the generator wrote."""
    if info.source != "generated":
        orch = captions.orchestrate(var.ensemble, len(voices))
        midifix.set_programs(mid, dict(zip(voices, orch.programs)))
        midifix.set_pans(mid, dict(zip(voices, var.pans)))
        return orch.names, orch.programs
    names = [mid.tracks[t].name for t in voices]
    programs = [next((m.program for m in mid.tracks[t] if m.type == "program_change"), 0) for t in voices]
    return [info.roles.get(n, n) for n in names], programs


def _caption(info: corpus.WorkInfo, entry: Entry, names: list[str], tonic: int, bpm: float) -> str:
    rng = random.Random(entry.id)
    if info.source == "generated":
        words = [captions.part_words(role, info.roles[role]) for role in generator.ROLES if role in info.roles]
        return captions.generated_caption(info.phrase, words, tonic, info.mode, bpm, info.moods, rng)
    orch = captions.Orchestration(entry.ensemble, entry.programs, names)
    return captions.caption(info.style, orch, tonic, info.mode, bpm, rng)


def render_one(info: corpus.WorkInfo, k: int, cfg: BuildConfig) -> Entry:
    """Render variation k of one work into renders/<id>/; returns its manifest entry (status "failed" on error)."""
    entry = Entry(id=f"{info.slug}-r{k}", work=info.id, collection=info.collection, split=info.split,
                  sample_rate=cfg.sample_rate, hop=cfg.hop, style=info.style, drums=info.drums,
                  soundfont=Path(cfg.soundfont).name)
    try:
        mid = midifix.load(Path(cfg.works_dir) / f"{info.slug}.mid")
        voices = midifix.voice_tracks(mid)
        var = _variation(info, k, cfg.seed, mid, len(voices))
        shift, factor = var.transpose, var.tempo_factor
        names, programs = _orchestrate(info, var, mid, voices)
        midifix.transpose(mid, shift)
        midifix.scale_tempo(mid, factor)
        channels = [midifix.track_channel(mid.tracks[t]) for t in voices]
        # Without stems one synth plays every channel (a mix-only build needs no voice alone: a third of the time).
        out = render(mid, cfg.soundfont, cfg.sample_rate, channels=channels, max_seconds=cfg.max_seconds,
                     timeout=cfg.timeout, fallback=cfg.fallback, separate=cfg.with_stems)
        audio, first_db = stems.level(out.stems)     # augmentation sees a mix at -20 dBFS RMS
        mix = None
        if cfg.augment:
            aug = augment.draw(f"{cfg.seed}:{entry.id}", cfg.with_stems)
            audio, mix = augment.apply(audio, cfg.sample_rate, aug)
            entry.augment = aug.record()
        audio, mix, gain_db = stems.level_with_mix(audio, mix)
        gain_db += first_db
        folder = Path(cfg.out_dir) / "renders" / entry.id
        files = stems.write(folder, audio, cfg.sample_rate, cfg.with_stems, mix)
        mix_curves = features.curves(mix, cfg.sample_rate, cfg.hop)
        np.save(folder / "curves.npy", mix_curves)
        mid.save(str(folder / "render.mid"))
        files += ["curves.npy", "render.mid"]
        scores = []
        if cfg.with_stems:     # per-voice curves and the pitch check need each voice alone
            stem_curves = np.stack([features.curves(a, cfg.sample_rate, cfg.hop) for a in audio])
            np.save(folder / "stem_curves.npy", stem_curves)
            files.append("stem_curves.npy")
            melodic = [c != midifix.DRUM_CHANNEL for c in channels]
            scores = [checks.pitch_agreement(c[features.PITCH], notes, cfg.sample_rate, cfg.hop)
                      for c, notes, keep in zip(stem_curves, midifix.voice_notes(mid), melodic) if keep]
            scores = [s for s in scores if s is not None]
        bpm = info.bpm * factor
        tonic = (info.tonic_pc + shift) % 12
        entry.ensemble, entry.instruments, entry.programs, entry.pans = var.ensemble, names, programs, var.pans
        entry.caption = _caption(info, entry, names, tonic, bpm)
        entry.transpose, entry.tempo_factor, entry.bpm = shift, factor, round(bpm, 2)
        entry.key, entry.mode = captions.key_name(tonic, info.mode), info.mode
        entry.samples = audio.shape[1]
        entry.seconds = round(entry.samples / cfg.sample_rate, 3)
        entry.frames = mix_curves.shape[1]
        entry.gain_db, entry.truncated = round(gain_db, 2), out.truncated
        entry.fallback_presets = [list(p) for p in out.fallback_presets]
        entry.files = files
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


def export_generated(count: int, works_dir: Path, heldout: float = 0.1, first_seed: int = 0,
                     workers: int = 1, progress: bool = True) -> list[corpus.WorkInfo]:
    """Generated works of seeds first_seed .. first_seed+count-1 not yet in works_dir (pure Python, no music21)."""
    works_dir = Path(works_dir)
    works_dir.mkdir(parents=True, exist_ok=True)
    done = {w.seed for w in corpus.read_works(works_dir) if w.source == "generated" and w.status == "ok"}
    todo = [(seed, works_dir, heldout) for seed in range(first_seed, first_seed + count) if seed not in done]
    for info in _pool_map(_generate_job, todo, workers, "generate", progress):
        corpus.append_work(works_dir, info)
    return corpus.read_works(works_dir)


def _generate_job(job: tuple[int, Path, float]) -> corpus.WorkInfo:
    return generator.export(*job)


def _selected(cfg: BuildConfig) -> list[corpus.WorkInfo]:
    """The exported works to render, each on the side its key hashes to (not the side works.jsonl recorded: a folder
    exported in several runs by different code kept each run's rule, which is how the first model's split went
    astray), in a fixed order."""
    infos = [w for w in corpus.read_works(cfg.works_dir)
             if w.status == "ok" and (cfg.only is None or w.collection in cfg.only)]
    for w in infos:
        w.split = corpus.split_of(w.split_key, cfg.heldout)
    return sorted(infos, key=lambda w: w.id)


def _capped(jobs: list, hours: float | None, max_seconds: float) -> list:
    """The first jobs (in a seeded shuffle, so a capped run covers every collection) adding up to about `hours`."""
    if hours is None:
        return jobs
    jobs = list(jobs)
    random.Random("cap").shuffle(jobs)
    out, total = [], 0.0
    for job in jobs:
        if total >= hours * 3600:
            break
        out.append(job)
        total += min(job[0].seconds, max_seconds)
    return out


def build(cfg: BuildConfig) -> dict:
    """Render every exported work `cfg.renders` times, skipping renders already in the manifest; returns the summary."""
    infos = _selected(cfg)
    if not infos:
        raise FileNotFoundError(f"no exported works in {cfg.works_dir}; run the export first (needs music21)")
    if not Path(cfg.soundfont).is_file():
        raise FileNotFoundError(f"SoundFont {cfg.soundfont} not found")
    if cfg.fallback is not None and not Path(cfg.fallback).is_file():
        cfg.fallback = None
    manifest = Manifest(cfg.out_dir)
    done = manifest.done()
    jobs = [(info, k, cfg) for info in infos for k in range(cfg.renders) if f"{info.slug}-r{k}" not in done]
    for entry in _pool_map(_render_job, _capped(jobs, cfg.hours, cfg.max_seconds), cfg.workers, "render",
                           cfg.progress):
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
        heldout: float = 0.1, export_only: bool = False, generated: int = 0, **options) -> dict:
    """Export (when collections are named or nothing was exported yet), generate `generated` works, then render.
    The work of `lmdm data build` (data/cli.py)."""
    cfg = BuildConfig(works_dir=Path(works_dir), out_dir=Path(out_dir), heldout=heldout, **options)
    if collections is not None or (not corpus.read_works(cfg.works_dir) and not generated):
        try:
            works = corpus.select_works(collections, limit, heldout)
        except ImportError as err:
            raise SystemExit(f"{err}: exporting works needs music21; or carry an exported works folder "
                             f"(works.jsonl + *.mid) and point --works at it") from err
        export(works, cfg.works_dir, cfg.workers, cfg.progress)
    if generated:
        export_generated(generated, cfg.works_dir, heldout, workers=cfg.workers, progress=cfg.progress)
    if export_only:
        ok = [i for i in corpus.read_works(cfg.works_dir) if i.status == "ok"]
        return {"works": len(ok), "failed": len(corpus.read_works(cfg.works_dir)) - len(ok),
                "seconds": round(sum(i.seconds for i in ok), 1)}
    return build(cfg)


def format_summary(summary: dict) -> str:
    """A few readable lines: totals, then works/renders/hours per split."""
    if "splits" not in summary:  # export-only
        return f"exported {summary['works']} works ({summary['seconds'] / 3600:.2f} h), {summary['failed']} failed"
    lines = [f"{summary['renders']} renders of {summary['works']} works, {summary['hours']:.2f} h, "
             f"{summary['failed']} failed, pitch agreement {summary['pitch_agreement_mean']}"]
    for name, row in summary["splits"].items():
        lines.append(f"  {name:8s} {row['works']:5d} works {row['renders']:6d} renders {row['hours']:8.2f} h")
    lines.append(f"  with drums {summary.get('drums_hours', 0.0):.2f} h")
    return "\n".join(lines)


if __name__ == "__main__":
    from lmdm_core.data.cli import build as command
    command(prog_name="python -m lmdm_core.data.build")
