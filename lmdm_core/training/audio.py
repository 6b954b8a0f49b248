"""Rendered training audio in memory: each render's mix and one chosen voice (stem) as int16 tensors, read from a
`lmdm data build` folder with a thread pool (libsndfile decodes outside the GIL)."""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lmdm_core.data import manifest
from lmdm_core.data.manifest import Entry
from lmdm_core.data.stems import read, stem_name


@dataclass
class Clip:
    entry: Entry
    mix: torch.Tensor            # [channels, samples] int16
    stem: torch.Tensor | None    # voice `voice` alone, same shape (None for single-voice works)
    voice: int                   # which voice (top first); -1 when there is no stem
    curves: np.ndarray           # [3, frames] sketch curves of the mix

    @property
    def accompaniment(self) -> torch.Tensor:
        """The mix without the chosen voice (int32 to avoid overflow, as stems sum to the mix)."""
        return self.mix.to(torch.int32) - self.stem.to(torch.int32)


def _int16(audio: np.ndarray) -> torch.Tensor:
    """soundfile's float32 [samples, channels] -> int16 [channels, samples]."""
    return torch.from_numpy(np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).T.copy())


def pick_voice(entry: Entry, seed: int = 0) -> int:
    """The stem a render contributes (stable per render id): -1 when it has no stem files."""
    n = sum(1 for f in entry.files if f.startswith("stem") and f.endswith(".flac"))
    return random.Random(f"{seed}:{entry.id}").randrange(n) if n else -1


def _load(folder: Path, entry: Entry, sample_rate: int, with_stem: bool, seed: int) -> Clip:
    mix, sr = read(folder)
    if sr != sample_rate:
        raise ValueError(f"{folder}: {sr} Hz, the autoencoder wants {sample_rate} Hz (render with that rate)")
    voice = pick_voice(entry, seed) if with_stem else -1
    stem = _int16(read(folder, stem_name(voice))[0]) if voice >= 0 else None
    curves = np.load(folder / "curves.npy")
    return Clip(entry, _int16(mix), stem, voice, curves)


def load_clips(data_dir: str | Path, split: str | None, sample_rate: int, with_stems: bool = True,
               limit: int | None = None, workers: int = 8, seed: int = 0) -> list[Clip]:
    """The finished renders of one split (in manifest order, at most `limit`)."""
    entries = manifest.load(Path(data_dir), split)[:limit]
    if not entries:
        raise FileNotFoundError(f"no finished renders of split {split!r} in {data_dir}")
    root = Path(data_dir) / "renders"
    with ThreadPoolExecutor(max(1, workers)) as pool:
        return list(pool.map(lambda e: _load(root / e.id, e, sample_rate, with_stems, seed), entries))


def to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 32767.0
