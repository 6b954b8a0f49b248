"""`lmdm eval reconstruction`: autoencoders (checkpoints at their own sample rates) on held-out renders of a data
build, grouped by a manifest field (collection by default). docs/evaluation.md "Reconstruction" has the why of each
choice.

Each excerpt (the first `seconds` of a render, at the build's rate, 44.1 kHz) is resampled with soxr to each model's
rate and channel count, encoded and decoded (VAE mean). Measures per model:
- at the model's rate, against the original resampled to it: MR-STFT, LSD, log-mel (80 mels) distance, the figures
  autoencoder training reports (lmdm_core.training.ae);
- at the build's rate, the reconstruction resampled back against the original itself: the same three (128 mels),
  so a band a model cannot carry (above 11.025 kHz for 22.05 kHz v1) counts;
- note F1 of basic-pitch's transcription of the reconstruction against its transcription of the original, onsets
  only and with offsets; onset F1 of the mix; drum-onset F1 of the drum stem (the mix of a drum-only render).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lmdm_core.checkpoint import load_autoencoder
from lmdm_core.eval.heldout import to_rate

MEASURES = {            # key -> label (the markdown table's rows, in this order)
    "mrstft": "MR-STFT distance (model rate)",
    "lsd_db": "LSD dB (model rate)",
    "log_mel_db": "log-mel L1 dB, 80 mels (model rate)",
    "mrstft_full": "MR-STFT distance vs the 44.1 kHz original",
    "lsd_db_full": "LSD dB vs the 44.1 kHz original",
    "log_mel_db_full": "log-mel L1 dB, 128 mels, vs the 44.1 kHz original",
    "note_f1": "note F1, onsets (vs transcription of the original)",
    "note_f1_offset": "note F1, onsets + offsets",
    "onset_f1": "onset F1 of the mix (50 ms)",
    "drum_onset_f1": "drum-onset F1 (50 ms)",
}
PARTS = {"spectral": ("mrstft", "lsd_db", "log_mel_db", "mrstft_full", "lsd_db_full", "log_mel_db_full"),
         "notes": ("note_f1", "note_f1_offset"), "onsets": ("onset_f1", "drum_onset_f1")}
MIN_SECONDS = 1.0


@dataclass
class ReconConfig:
    data_dir: Path
    out_dir: Path
    models: dict[str, str | None] = field(default_factory=lambda: {"v1": None})   # name -> checkpoint (None: shipped)
    works: int | None = 8               # held-out works per group (one render each)
    seconds: float = 10.0               # excerpt from the start of each render
    group_by: str = "collection"        # manifest field(s), comma-separated, that name a render's group
    split: str = "heldout"
    parts: tuple[str, ...] = tuple(PARTS)
    examples: int = 2                   # WAV pairs and spectrogram PNGs for this many excerpts (one per group first)
    example_seconds: float = 3.0
    progress: bool = True


@dataclass
class Excerpt:
    id: str
    work: str
    group: str
    sample_rate: int
    mix: np.ndarray                     # [channels, samples] float32 at the build's rate
    drums: np.ndarray | None = None     # the drum part alone (a stem sum or the mix), when the render has drums
    drum_source: str = ""               # "stems" | "mix" | ""
    midi: Path | None = None


def drum_voices(midi_path: Path) -> tuple[list[int], int]:
    """(voices on the General-MIDI drum channel, voice count) of a render.mid, voices in stem order."""
    from lmdm_core.data import midi as M
    from lmdm_core.data.render import DRUM_CHANNEL

    mid = M.load(midi_path)
    voices = M.voice_tracks(mid)
    return [k for k, t in enumerate(voices) if M.track_channel(mid.tracks[t]) == DRUM_CHANNEL], len(voices)


def _group_of(entry, fields: list[str]) -> str:
    missing = [f for f in fields if not hasattr(entry, f)]
    if missing:
        raise ValueError(f"manifest entries have no field {missing[0]!r} to group by (fields: "
                         f"{', '.join(vars(entry))})")
    return "/".join(str(getattr(entry, f)) for f in fields)


def _drums(folder: Path, entry, cut: int) -> tuple[np.ndarray | None, str]:
    from lmdm_core.data import stems

    midi = folder / "render.mid"
    if not midi.is_file():
        return None, ""
    drums, voices = drum_voices(midi)
    if not drums:
        return None, ""
    if len(drums) == voices:
        return stems.read(folder)[0][:cut].T, "mix"
    if all(stems.stem_name(k) in entry.files for k in drums):
        return sum(stems.read(folder, stems.stem_name(k))[0][:cut] for k in drums).T, "stems"
    return None, ""


def load_excerpts(cfg: ReconConfig) -> list[Excerpt]:
    """Up to cfg.works renders per group (one per work, first by id) of cfg.split, their first cfg.seconds."""
    from lmdm_core.data import manifest, stems

    entries = manifest.load(cfg.data_dir, cfg.split)
    if not entries:
        raise FileNotFoundError(f"no {cfg.split!r} renders in {cfg.data_dir} (run `lmdm data build`)")
    fields = [f.strip() for f in cfg.group_by.split(",") if f.strip()]
    seen, per_group, out = set(), {}, []
    for e in sorted(entries, key=lambda e: (_group_of(e, fields), e.id)):
        group = _group_of(e, fields)
        if e.work in seen or e.seconds < MIN_SECONDS or per_group.get(group, 0) >= (cfg.works or len(entries)):
            continue
        seen.add(e.work)
        per_group[group] = per_group.get(group, 0) + 1
        folder = Path(cfg.data_dir) / "renders" / e.id
        mix, sr = stems.read(folder)
        cut = int(cfg.seconds * sr)
        drums, source = _drums(folder, e, cut)
        midi = folder / "render.mid"
        out.append(Excerpt(e.id, e.work, group, sr, np.ascontiguousarray(mix[:cut].T), drums, source,
                           midi if midi.is_file() else None))
    return out


@torch.no_grad()
def reconstruct(ae, audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, reconstruction) at the model's rate and channels, [channels, samples] cut to whole hops."""
    x = to_rate(audio.T, sr, ae.sample_rate, ae.audio_channels)
    x = x[:, : x.shape[1] // ae.hop * ae.hop]
    if x.shape[1] == 0:
        raise ValueError(f"excerpt shorter than one hop ({ae.hop} samples at {ae.sample_rate} Hz)")
    y = ae.decode(ae.encode(torch.from_numpy(x)[None]))[0].float().numpy()
    return x, y


class _Reference:
    """What is measured once per excerpt whatever the model: transcription and onsets of the original."""

    def __init__(self, ex: Excerpt, parts: tuple[str, ...]):
        from lmdm_core.eval import notes, onsets

        self.row: dict = {"id": ex.id, "work": ex.work, "group": ex.group, "seconds": ex.mix.shape[1] / ex.sample_rate,
                          "drums": ex.drum_source or None}
        if "notes" in parts:
            self.notes = notes.transcribe(ex.mix, ex.sample_rate)
            self.row["notes_in_original"] = len(self.notes)
            if ex.midi is not None:
                truth = notes.midi_notes(ex.midi).within(self.row["seconds"])
                self.row["transcriber_f1"] = notes.note_f1(truth, self.notes)
                self.row["transcriber_f1_offset"] = notes.note_f1(truth, self.notes, offsets=True)
        if "onsets" in parts:
            self.onsets = onsets.detect(ex.mix, ex.sample_rate)
            self.drum_onsets = onsets.detect(ex.drums, ex.sample_rate) if ex.drums is not None else None
            self.row["onsets_in_original"] = len(self.onsets)


def measure(ae, ex: Excerpt, ref: _Reference, parts: tuple[str, ...]) -> tuple[dict, np.ndarray, np.ndarray]:
    """One model on one excerpt: the measures of the parts chosen, the reconstruction at the model's rate and back
    at the build's rate."""
    from lmdm_core.eval import notes, onsets
    from lmdm_core.eval.spectra import distances

    x, y = reconstruct(ae, ex.mix, ex.sample_rate)
    full = to_rate(y.T, ae.sample_rate, ex.sample_rate, ae.audio_channels)
    row: dict = {}
    if "spectral" in parts:
        row.update(distances(y, x, ae.sample_rate, n_mels=80))
        original = to_rate(ex.mix.T, ex.sample_rate, ex.sample_rate, ae.audio_channels)
        row.update({f"{k}_full": v for k, v in distances(full, original, ex.sample_rate, n_mels=128).items()})
    if "notes" in parts:
        est = notes.transcribe(y, ae.sample_rate)
        row["note_f1"] = notes.note_f1(ref.notes, est)
        row["note_f1_offset"] = notes.note_f1(ref.notes, est, offsets=True)
    if "onsets" in parts:
        row["onset_f1"] = onsets.onset_f1(ref.onsets, onsets.detect(full, ex.sample_rate))
        row["drum_onset_f1"] = None
        if ex.drums is not None:
            drums = full if ex.drum_source == "mix" else to_rate(reconstruct(ae, ex.drums, ex.sample_rate)[1].T,
                                                                 ae.sample_rate, ex.sample_rate, ae.audio_channels)
            row["drum_onset_f1"] = onsets.onset_f1(ref.drum_onsets, onsets.detect(drums, ex.sample_rate))
    return row, y, full


def _mean(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 4) if vals else None


def summarize(rows: list[dict], names: list[str]) -> dict:
    """Per group (and "all"): excerpt count, each model's mean of every measure (None where no excerpt has it, e.g.
    drum onsets without drums) and the transcriber's own F1 against the MIDI."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    groups["all"] = rows
    out = {}
    for g, rs in groups.items():
        keys = [k for k in MEASURES if any(k in r["models"][names[0]] for r in rs)]
        out[g] = {"excerpts": len(rs),
                  "models": {n: {k: _mean([r["models"][n].get(k) for r in rs]) for k in keys} for n in names},
                  "with_drums": sum(1 for r in rs if r["drums"]),
                  "transcriber_f1": _mean([r.get("transcriber_f1") for r in rs]),
                  "transcriber_f1_offset": _mean([r.get("transcriber_f1_offset") for r in rs])}
    return out


def _source(name: str, cfg: ReconConfig, given: dict | None) -> str:
    if given:
        return "passed in"
    return str(cfg.models[name]) if cfg.models[name] else "lmdm_core/weights (shipped)"


def evaluate_reconstruction(cfg: ReconConfig, autoencoders: dict | None = None) -> dict:
    """Run every model on every excerpt; writes reconstruction.json, reconstruction.md, WAV pairs and spectrogram
    PNGs under cfg.out_dir; returns the result. autoencoders: name -> Autoencoder, instead of loading cfg.models."""
    from tqdm import tqdm

    from lmdm_core.eval import reconstruction_report as report

    bad = [p for p in cfg.parts if p not in PARTS]
    if bad:
        raise ValueError(f"unknown measures {bad}; choose from {list(PARTS)}")
    t0 = time.time()
    aes = autoencoders or {n: load_autoencoder(p) for n, p in cfg.models.items()}
    excerpts = load_excerpts(cfg)
    rows, kept = [], {}
    show = {ex.id: ex for ex in report.pick_examples(excerpts, cfg.examples)}
    for ex in tqdm(excerpts, desc="reconstruction", disable=not cfg.progress):
        ref = _Reference(ex, cfg.parts)
        row = {**ref.row, "models": {}}
        for name, ae in aes.items():
            row["models"][name], y, full = measure(ae, ex, ref, cfg.parts)
            if ex.id in show:
                kept.setdefault(ex.id, {})[name] = (ae.sample_rate, y, full)
        rows.append(row)
    result = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
              "models": {n: {"source": _source(n, cfg, autoencoders), "sample_rate": ae.sample_rate,
                             "channels": ae.audio_channels, "hop": ae.hop} for n, ae in aes.items()},
              "measures": {k: v for k, v in MEASURES.items() if any(k in PARTS[p] for p in cfg.parts)},
              "groups": summarize(rows, list(aes)), "excerpts": rows}
    result["seconds_taken"] = round(time.time() - t0, 1)
    result["files"] = [str(p) for p in report.write(result, {i: (show[i], m) for i, m in kept.items()}, cfg)]
    return result
