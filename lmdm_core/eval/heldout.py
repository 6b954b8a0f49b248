"""Held-out renders of a data build, as the evaluation needs them: mix (and one voice) at the model's rate."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import soxr

from lmdm_core.data import manifest, stems


@dataclass
class HeldOut:
    id: str
    caption: str
    ensemble: str
    instruments: list[str]
    key: str                       # the manifest's key name, e.g. "F minor"
    sample_rate: int
    mix: np.ndarray                # [channels, samples] float32
    voice: int = -1                # which voice `stem` holds (-1: none)
    stem: np.ndarray | None = None
    style: str = ""                # the manifest's style ("techno", "Bach chorale", ...)
    drums: bool = False
    collection: str = ""

    @property
    def seconds(self) -> float:
        return self.mix.shape[1] / self.sample_rate

    def accompaniment(self) -> np.ndarray:
        """The mix without the chosen voice (what jam mode should play)."""
        return self.mix - self.stem


def to_rate(audio: np.ndarray, sr: int, target_sr: int, channels: int) -> np.ndarray:
    """soundfile [samples, ch] -> [channels, samples] float32 at target_sr (soxr); other channel counts become the
    mean repeated."""
    a = soxr.resample(audio, sr, target_sr) if sr != target_sr else audio
    a = np.asarray(a, np.float32).T
    if a.shape[0] != channels:
        a = np.repeat(a.mean(axis=0, keepdims=True), channels, axis=0)
    return np.ascontiguousarray(a)


def load_heldout(data_dir: str | Path, sample_rate: int, channels: int, limit: int | None = None,
                 min_seconds: float = 0.0, split: str = "heldout", with_stem: bool = False,
                 max_seconds: float | None = None, spread_by: str | None = None) -> list[HeldOut]:
    """Up to `limit` renders of `split` at least min_seconds long (longest first when too few are), one per work, cut
    to max_seconds. with_stem: only renders with stems and 2+ voices, each with its top voice (voice 0, the melody a
    player would jam) as `stem`. spread_by: a manifest field ("style"): take works from its values in turn (values in
    name order), so a few works cover the corpus styles and the generated ones rather than the first names."""
    if spread_by is not None and spread_by not in {f.name for f in fields(manifest.Entry)}:
        raise ValueError(f"unknown manifest field {spread_by!r} to spread the works by; the fields are "
                         f"{[f.name for f in fields(manifest.Entry)]}")
    entries = manifest.load(data_dir, split)
    if not entries:
        raise FileNotFoundError(f"no {split!r} renders in {data_dir} (run `lmdm data build`)")
    if with_stem:
        entries = [e for e in entries if stems.stem_name(0) in e.files and len(e.instruments) > 1]
    seen, picked = set(), []
    for e in sorted(entries, key=lambda e: (e.seconds < min_seconds, e.id)):
        if e.work not in seen:
            seen.add(e.work)
            picked.append(e)
    if spread_by is not None:
        picked = _round_robin(picked, spread_by)
    out = []
    for e in picked[:limit]:
        folder = Path(data_dir) / "renders" / e.id
        mix, sr = stems.read(folder)
        cut = None if max_seconds is None else int(max_seconds * sr)
        item = HeldOut(e.id, e.caption, e.ensemble, list(e.instruments), e.key, sample_rate,
                       to_rate(mix[:cut], sr, sample_rate, channels), style=e.style, drums=e.drums,
                       collection=e.collection)
        if with_stem:
            item.voice = 0
            item.stem = to_rate(stems.read(folder, stems.stem_name(0))[0][:cut], sr, sample_rate, channels)
        out.append(item)
    return out


def _round_robin(entries: list, field: str) -> list:
    """The entries reordered: the first of each group (by `field`, groups in name order), then the second, ...; within
    a group the order is kept (long-enough renders first, then by id)."""
    groups: dict[str, list] = {}
    for e in entries:
        groups.setdefault(str(getattr(e, field)), []).append(e)
    ordered = [groups[k] for k in sorted(groups)]
    return [g[i] for i in range(max(map(len, ordered), default=0)) for g in ordered if i < len(g)]
