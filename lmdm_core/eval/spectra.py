"""Spectral distances of a reconstruction to its original: the autoencoder training's own MR-STFT distance and
log-spectral distance (lmdm_core.training.ae), and a log-mel distance. Audio: [channels, samples] at one rate."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from lmdm_core.training.ae import log_spectral_distance, mrstft, stft_mag

EPS_POWER = 1e-10        # the floor of log_spectral_distance: a band the reconstruction lacks costs up to 100 dB


def frame_size(sr: int) -> int:
    """FFT size of about 46 ms at sr (1024 at 22.05 kHz, 2048 at 44.1 kHz): the same time span at every rate."""
    return 1 << int(round(np.log2(0.0464 * sr)))


@lru_cache(maxsize=8)
def _mel_bank(sr: int, n_fft: int, n_mels: int) -> torch.Tensor:
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)).float()


def log_mel_distance(x: torch.Tensor, ref: torch.Tensor, sr: int, n_mels: int = 80) -> float:
    """Mean |dB difference| of the mel power spectrograms ([.., T] signals, Hann frames of about 46 ms, hop a
    quarter, n_mels Slaney mel bands from 0 Hz to sr/2)."""
    n_fft = frame_size(sr)
    bank = _mel_bank(sr, n_fft, n_mels)
    a, b = (bank @ stft_mag(s.float().reshape(-1, s.shape[-1]), n_fft, n_fft // 4).pow(2) for s in (x, ref))
    return float((10 * torch.log10(a + EPS_POWER) - 10 * torch.log10(b + EPS_POWER)).abs().mean())


def distances(y: np.ndarray, x: np.ndarray, sr: int, n_mels: int) -> dict[str, float]:
    """MR-STFT, LSD (dB) and log-mel (dB) distance of y to x, both [channels, samples] at sr (cut to the shorter)."""
    n = min(y.shape[-1], x.shape[-1])
    a, b = torch.from_numpy(np.ascontiguousarray(y[..., :n])), torch.from_numpy(np.ascontiguousarray(x[..., :n]))
    return {"mrstft": float(mrstft(a[None], b[None])), "lsd_db": float(log_spectral_distance(a, b)),
            "log_mel_db": log_mel_distance(a, b, sr, n_mels)}
