"""Audio statistics for evaluation, numpy only: log-mel spectra, chroma, loudness, Krumhansl-Kessler keys, and the
distances between a generated window and its reference.

Audio is mono or stereo ([samples], [samples, ch] or [ch, samples]) at any rate; analysis runs at ANALYSIS_SR so
numbers do not depend on the model's sample rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from lmdm_core.features import _mono

ANALYSIS_SR = 22050
N_FFT = 4096              # 5.4 Hz bins at 22.05 kHz: semitones are resolved from about 90 Hz up
HOP = 2048
N_MELS = 48
# Four whole octaves, so every pitch class spans the same range; mostly fundamentals: above ~1.3 kHz the harmonics of
# bowed and blown instruments outweigh them and keys of string renders came out wrong.
CHROMA_FMIN, CHROMA_FMAX = 80.0, 1280.0
EPS = 1e-10
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def prepare(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float64 at ANALYSIS_SR (soxr), NaN/Inf replaced by 0."""
    x = np.nan_to_num(_mono(audio).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if sr != ANALYSIS_SR:
        x = soxr.resample(x, sr, ANALYSIS_SR)
    return x


def power_spectrogram(x: np.ndarray) -> np.ndarray:
    """[frames, N_FFT//2+1] Hann-windowed power of mono audio at ANALYSIS_SR (at least one frame)."""
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    n = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT), axis=1)) ** 2


def _freqs() -> np.ndarray:
    return np.fft.rfftfreq(N_FFT, 1.0 / ANALYSIS_SR)


def _mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_filters(n_mels: int = N_MELS, fmin: float = 40.0, fmax: float = 10000.0) -> np.ndarray:
    """[n_mels, bins] triangular filters, equally spaced on the mel scale."""
    edges = 700.0 * (10 ** (np.linspace(_mel(fmin), _mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    f = _freqs()
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))


_MEL = mel_filters()


def log_mel(x: np.ndarray) -> np.ndarray:
    """[frames, N_MELS] log-mel power in dB of prepared audio."""
    return 10.0 * np.log10(power_spectrogram(x) @ _MEL.T + EPS)


def _chroma_matrix() -> np.ndarray:
    """[12, bins]: each bin between CHROMA_FMIN and CHROMA_FMAX goes to its nearest pitch class; rows are scaled by
    their bin count (bins are linear in frequency), so white noise has a flat chroma."""
    f = _freqs()
    keep = (f >= CHROMA_FMIN) & (f <= CHROMA_FMAX)
    pc = np.round(12 * np.log2(np.where(keep, f, 1.0) / 440.0) + 69).astype(int) % 12
    m = np.zeros((12, len(f)))
    m[pc[keep], np.flatnonzero(keep)] = 1.0
    return m / m.sum(axis=1, keepdims=True)


_CHROMA = _chroma_matrix()


def chroma(x: np.ndarray) -> np.ndarray:
    """[frames, 12] chroma of prepared audio (magnitude summed per pitch class, each frame scaled to sum 1; silent
    frames are all zero)."""
    c = np.sqrt(power_spectrogram(x)) @ _CHROMA.T
    total = c.sum(axis=1, keepdims=True)
    return np.where(total > 1e-6, c / np.maximum(total, EPS), 0.0)


def mean_chroma(x: np.ndarray) -> np.ndarray:
    """[12] average chroma of prepared audio, scaled to sum 1 (zeros when silent)."""
    c = chroma(x).sum(axis=0)
    return c / c.sum() if c.sum() > 0 else c


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def spectral_distance(x: np.ndarray, ref: np.ndarray) -> float:
    """RMS difference in dB between the mean log-mel spectra of two prepared clips, each taken relative to its own
    mean over bands: 0 = same spectral balance. Level is left out on purpose (loudness is measured on its own)."""
    a, b = (10 * np.log10(np.mean(10 ** (log_mel(c) / 10), axis=0) + EPS) for c in (x, ref))
    return float(np.sqrt(np.mean(((a - a.mean()) - (b - b.mean())) ** 2)))


def chroma_distance(x: np.ndarray, ref: np.ndarray) -> float:
    """1 - Pearson correlation of the mean chroma of two prepared clips: 0 = same pitch-class profile, about 1 =
    unrelated (noise, whose chroma is flat, lands here), up to 2 = opposite. Correlation rather than cosine because
    every chroma vector is positive, so cosine calls even noise and music fairly similar."""
    return 1.0 - pearson(mean_chroma(x), mean_chroma(ref))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two vectors; 0 when either is constant."""
    return cosine(a - a.mean(), b - b.mean())


def chroma_agreement(x: np.ndarray, ref: np.ndarray) -> float:
    """Mean frame-by-frame Pearson correlation of chroma (time-aligned clips; frames silent in both are skipped):
    1 = the same pitch classes sound at the same time, about 0 = unrelated or noise."""
    a, b = chroma(x), chroma(ref)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(axis=1, keepdims=True), b[:n] - b[:n].mean(axis=1, keepdims=True)
    live = (np.abs(a).sum(axis=1) > 0) | (np.abs(b).sum(axis=1) > 0)
    if not live.any():
        return 0.0
    sims = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), EPS)
    return float(np.mean(sims[live]))


def loudness_curve(x: np.ndarray, frame_s: float = 0.4) -> np.ndarray:
    """Short-term RMS in dBFS (floor -100) over frames of frame_s seconds of prepared audio."""
    n = max(1, int(frame_s * ANALYSIS_SR))
    k = max(1, len(x) // n)
    frames = x[: k * n].reshape(k, n) if len(x) >= n else x[None]
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10)


@dataclass
class Loudness:
    mean_db: float        # RMS level of the clip
    std_db: float         # spread of the short-term level (non-silent frames)
    slope_db_s: float     # linear trend of the short-term level, dB per second
    stable: bool          # |slope| <= max_slope and not silent


def loudness_stability(x: np.ndarray, max_slope_db_s: float = 1.0, frame_s: float = 0.4) -> Loudness:
    """Level, spread and trend of the short-term loudness; `stable` is False for fades/swells steeper than
    max_slope_db_s (a 10-s fade to silence is several dB/s) and for silence (below -60 dBFS)."""
    curve = loudness_curve(x, frame_s)
    mean_db = float(10 * np.log10(np.mean(x ** 2) + 1e-10)) if len(x) else -100.0
    live = curve > -80
    std = float(np.std(curve[live])) if live.any() else 0.0
    if live.sum() >= 2:
        t = np.flatnonzero(live) * frame_s
        slope = float(np.polyfit(t, curve[live], 1)[0])
    else:
        slope = 0.0
    return Loudness(mean_db, std, slope, abs(slope) <= max_slope_db_s and mean_db > -60)


@dataclass
class Key:
    tonic: int            # pitch class, 0 = C
    mode: str             # "major" | "minor"
    correlation: float    # Pearson r of the chroma with the winning profile

    @property
    def name(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.mode}"


def estimate_key(chroma_vector: np.ndarray) -> Key:
    """Krumhansl-Schmuckler: the key whose rotated KK profile correlates best with a [12] chroma vector."""
    c = np.asarray(chroma_vector, dtype=np.float64)
    best = Key(0, "major", -2.0)
    if np.ptp(c) == 0:
        return Key(0, "major", 0.0)
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(c, np.roll(profile, tonic))[0, 1])
            if r > best.correlation:
                best = Key(tonic, mode, r)
    return best


def key_score(est: Key, ref: Key) -> float:
    """MIREX key score: 1 same key, 0.5 a fifth apart (same mode), 0.3 relative, 0.2 parallel, else 0."""
    if est.tonic == ref.tonic and est.mode == ref.mode:
        return 1.0
    if est.mode == ref.mode and (est.tonic - ref.tonic) % 12 in (5, 7):
        return 0.5
    if est.mode != ref.mode:
        rel = (ref.tonic + 9) % 12 if ref.mode == "major" else (ref.tonic + 3) % 12
        if est.tonic == rel:
            return 0.3
        if est.tonic == ref.tonic:
            return 0.2
    return 0.0


def windows(x: np.ndarray, window_s: float) -> list[np.ndarray]:
    """Consecutive whole windows of window_s seconds of prepared audio (a shorter tail is dropped)."""
    n = round(window_s * ANALYSIS_SR)
    return [x[i * n:(i + 1) * n] for i in range(len(x) // n)]


def window_metrics(audio: np.ndarray, reference: np.ndarray | None, sr: int, key_ref: Key,
                   window_s: float = 10.0) -> list[dict]:
    """Per window of `audio`: spectral and chroma distance to the same window of `reference` (None where the
    reference is missing or too short), loudness level/stability, estimated key and its score against key_ref."""
    x = prepare(audio, sr)
    ref_w = windows(prepare(reference, sr), window_s) if reference is not None else []
    rows = []
    for i, w in enumerate(windows(x, window_s)):
        key = estimate_key(mean_chroma(w))
        loud = loudness_stability(w)
        r = ref_w[i] if i < len(ref_w) else None
        rows.append({
            "start_s": i * window_s,
            "spectral_distance_db": spectral_distance(w, r) if r is not None else None,
            "chroma_distance": chroma_distance(w, r) if r is not None else None,
            "loudness_db": loud.mean_db,
            "loudness_delta_db": loud.mean_db - loudness_stability(r).mean_db if r is not None else None,
            "loudness_std_db": loud.std_db,
            "loudness_slope_db_s": loud.slope_db_s,
            "key": key.name,
            "key_score": key_score(key, key_ref),
        })
    return rows


def key_of(audio: np.ndarray, sr: int) -> Key:
    """The estimated key of a whole clip."""
    return estimate_key(mean_chroma(prepare(audio, sr)))
