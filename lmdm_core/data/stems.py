"""Stems for accompaniment: each voice alone, and the mix without it.

One gain scales the mix and every stem, so stems still sum to the mix after levelling. Files are 16-bit FLAC:
`mix.flac` and `stem{k}.flac` (k = voice, top first). The mix without voice k is `mix - stem k`, exact to 16-bit
rounding (about (voices + 1) / 2 LSB at worst), so it is computed on load rather than stored a second time.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

TARGET_DB = -20.0        # mix RMS after levelling
PEAK = 0.95              # never above this (no clipping in 16 bit)


def level(stems: np.ndarray, target_db: float = TARGET_DB, peak: float = PEAK) -> tuple[np.ndarray, float]:
    """Scale float32 [voices, samples, channels] stems in place so their sum sits at target_db RMS with peak <= `peak`;
    returns (the stems, gain in dB)."""
    stems, _, gain_db = level_with_mix(stems, None, target_db, peak)
    return stems, gain_db


def level_with_mix(stems: np.ndarray, mix: np.ndarray | None, target_db: float = TARGET_DB,
                   peak: float = PEAK) -> tuple[np.ndarray, np.ndarray, float]:
    """Like `level` for a mix that is not the stems' sum (compressed): one gain brings `mix` (default: the sum) to
    target_db RMS, peak <= `peak`, and scales the stems alike; returns (stems, mix, gain in dB)."""
    mix = stems.sum(axis=0) if mix is None else mix
    flat = mix.ravel()
    if not flat.size:
        return stems, mix, 0.0
    rms = float(np.sqrt(np.vdot(flat, flat) / flat.size))
    top = float(max(flat.max(), -flat.min()))
    if rms <= 0 or top <= 0:
        return stems, mix, 0.0
    gain = np.float32(min(10 ** (target_db / 20) / rms, peak / top))
    stems *= gain
    return stems, mix * gain, float(20 * np.log10(gain))


def stem_name(k: int) -> str:
    return f"stem{k}.flac"


def write(folder: Path, stems: np.ndarray, sample_rate: int, with_stems: bool = True,
          mix: np.ndarray | None = None) -> list[str]:
    """Write mix.flac (and stem files) into folder; returns the file names written. `mix` defaults to the stems' sum."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ["mix.flac"]
    _flac(folder / "mix.flac", stems.sum(axis=0) if mix is None else mix, sample_rate)
    if with_stems and len(stems) > 1:
        for k, stem in enumerate(stems):
            _flac(folder / stem_name(k), stem, sample_rate)
            names.append(stem_name(k))
    return names


def _flac(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    sf.write(path, audio, sample_rate, format="FLAC", subtype="PCM_16", compression_level=0.0)


def read(folder: Path, name: str = "mix.flac") -> tuple[np.ndarray, int]:
    audio, sr = sf.read(Path(folder) / name, dtype="float32", always_2d=True)
    return audio, sr


def mix_without(folder: Path, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(voice k alone, the mix without voice k, sample rate) for accompaniment training."""
    mix, sr = read(folder)
    stem, sr_stem = read(folder, stem_name(k))
    if sr_stem != sr or stem.shape != mix.shape:
        raise ValueError(f"{folder}: stem {k} does not match the mix ({stem.shape} vs {mix.shape})")
    return stem, mix - stem, sr
