"""Per-latent-frame sketch curves from audio: pitch (YIN), loudness (dB RMS) and brightness (spectral centroid).

Frame i covers samples [i*hop, (i+1)*hop), the span of latent frame i of a hop-`hop` autoencoder, so the curves line up
with latents one to one (frames = ceil(samples / hop)). Units are the ones a musician would draw: pitch as a MIDI note
number (fractional; 0 = unvoiced or silent), loudness in dBFS (floor -100), brightness in Hz (0 when silent).
"""
from __future__ import annotations

import numpy as np

PITCH, LOUDNESS, BRIGHTNESS = 0, 1, 2
NAMES = ("pitch", "loudness", "brightness")
FLOOR_DB = -100.0
SILENCE_DB = -60.0        # quieter frames have no pitch and no brightness
YIN_THRESHOLD = 0.15      # first dip of the normalised difference below this is the period (de Cheveigné & Kawahara)
YIN_VOICED = 0.35         # a best dip above this means no periodicity worth a pitch
FMAX = 2000.0
_CHUNK = 2048             # frames analysed at once (bounds memory)


def n_frames(samples: int, hop: int) -> int:
    return -(-samples // hop)


def _mono(audio: np.ndarray) -> np.ndarray:
    """[samples], [samples, channels] (soundfile layout) or [channels, samples] with channels <= 2 -> float64 mono."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        return a
    if a.ndim != 2:
        raise ValueError(f"audio must be 1-D or 2-D, got shape {a.shape}")
    if a.shape[0] <= 2 < a.shape[1]:
        a = a.T
    return a.mean(axis=1)


def _frames(x: np.ndarray, hop: int) -> np.ndarray:
    """[frames, hop] view of x zero-padded to a whole number of frames."""
    f = n_frames(len(x), hop)
    padded = np.zeros(f * hop, dtype=x.dtype)
    padded[: len(x)] = x
    return padded.reshape(f, hop)


def loudness_db(frames: np.ndarray) -> np.ndarray:
    power = np.mean(frames**2, axis=1)
    return np.maximum(10.0 * np.log10(power + 1e-30), FLOOR_DB)


def centroid_hz(frames: np.ndarray, sr: int) -> np.ndarray:
    hop = frames.shape[1]
    mag = np.abs(np.fft.rfft(frames * np.hanning(hop), axis=1))
    freqs = np.fft.rfftfreq(hop, 1.0 / sr)
    total = mag.sum(axis=1)
    return np.where(total > 0, mag @ freqs / np.maximum(total, 1e-30), 0.0)


def yin_cmnd(frames: np.ndarray) -> np.ndarray:
    """YIN's cumulative mean normalised difference d'(tau), tau in [0, hop//2), for each frame.

    Integration window W = hop//2 over the frame's first half, lags up to hop - W, so a frame uses only its own samples.
    The difference d(tau) = e(0) + e(tau) - 2 r(tau) comes from running energies and one FFT cross-correlation.
    """
    n, hop = frames.shape
    w = hop // 2
    lags = hop - w
    head = np.zeros_like(frames)
    head[:, :w] = frames[:, :w]
    r = np.fft.irfft(np.conj(np.fft.rfft(head, hop, axis=1)) * np.fft.rfft(frames, hop, axis=1), hop, axis=1)[:, :lags]
    cs = np.concatenate([np.zeros((n, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    e_tau = cs[:, w:w + lags] - cs[:, :lags]
    d = np.maximum(cs[:, w:w + 1] + e_tau - 2.0 * r, 0.0)
    d[:, 0] = 0.0
    running = np.cumsum(d[:, 1:], axis=1) / np.arange(1, lags)
    out = np.ones_like(d)
    out[:, 1:] = d[:, 1:] / np.maximum(running, 1e-30)
    return out


def yin_pitch(frames: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental frequency in Hz (0 where unvoiced) and the dip depth d'(tau) of each frame."""
    cmnd = yin_cmnd(frames)
    n, lags = cmnd.shape
    tau_min = max(2, int(sr / FMAX))
    idx = np.arange(lags)
    valid = idx >= tau_min
    below = (cmnd < YIN_THRESHOLD) & valid
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    # From the first dip below threshold, walk down to its local minimum.
    nxt = np.concatenate([cmnd[:, 1:], np.full((n, 1), np.inf)], axis=1)
    local_min = (cmnd <= nxt) & (idx >= first[:, None])
    tau = np.where(first >= 0, local_min.argmax(axis=1), np.argmin(np.where(valid, cmnd, np.inf), axis=1))
    depth = cmnd[np.arange(n), tau]
    # Parabolic interpolation around the chosen lag for sub-sample precision.
    t = np.clip(tau, 1, lags - 2)
    a, b, c = cmnd[np.arange(n), t - 1], cmnd[np.arange(n), t], cmnd[np.arange(n), t + 1]
    denom = a - 2.0 * b + c
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(np.abs(denom) > 1e-12, denom, 1.0), 0.0)
    period = t + np.clip(shift, -1.0, 1.0)
    f0 = np.where(depth < YIN_VOICED, sr / period, 0.0)
    return f0, depth


def hz_to_midi(f0: np.ndarray) -> np.ndarray:
    return np.where(f0 > 0, 69.0 + 12.0 * np.log2(np.maximum(f0, 1e-9) / 440.0), 0.0)


def curves(audio: np.ndarray, sr: int, hop: int = 2048) -> np.ndarray:
    """[3, frames] float32: pitch (MIDI note, 0 = none), loudness (dBFS), brightness (Hz); frames = ceil(n / hop)."""
    if sr <= 0 or hop < 16:
        raise ValueError(f"need sr > 0 and hop >= 16, got sr={sr}, hop={hop}")
    x = _mono(audio)
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    frames = _frames(x, hop)
    out = np.zeros((3, len(frames)), dtype=np.float32)
    for s in range(0, len(frames), _CHUNK):
        fr = frames[s:s + _CHUNK]
        db = loudness_db(fr)
        loud = db > SILENCE_DB
        f0, _ = yin_pitch(fr, sr)
        out[PITCH, s:s + _CHUNK] = np.where(loud, hz_to_midi(f0), 0.0)
        out[LOUDNESS, s:s + _CHUNK] = db
        out[BRIGHTNESS, s:s + _CHUNK] = np.where(loud, centroid_hz(fr, sr), 0.0)
    return out
