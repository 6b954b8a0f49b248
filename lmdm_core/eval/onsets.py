"""Onsets of a clip (librosa's spectral-flux onset detector) and their F1 against a reference (mir_eval, 50 ms).

Used for transients the autoencoder may smear: the onsets of a drum stem (or of the mix of a drum render) in the
original against the same in the reconstruction. Needs the `eval` extra (librosa, mir_eval).
"""
from __future__ import annotations

import numpy as np

from lmdm_core.features import _mono

WINDOW_S = 0.05          # mir_eval.onset's default: an estimate within 50 ms of a reference onset is a hit


def detect(audio: np.ndarray, sr: int) -> np.ndarray:
    """Onset times in seconds (librosa.onset.onset_detect, its defaults: log-mel spectral flux, 512-sample hop,
    peak picking) of a mono or stereo clip; silence gives none."""
    import librosa

    x = np.nan_to_num(_mono(audio).astype(np.float32))
    if not np.any(np.abs(x) > 1e-6):
        return np.zeros(0)
    return librosa.onset.onset_detect(y=x, sr=sr, units="time")


def onset_f1(ref: np.ndarray, est: np.ndarray, window: float = WINDOW_S) -> float | None:
    """mir_eval.onset.f_measure of est against ref; None when ref has no onsets (nothing to find)."""
    import mir_eval

    if len(ref) == 0:
        return None
    if len(est) == 0:
        return 0.0
    return float(mir_eval.onset.f_measure(np.asarray(ref), np.asarray(est), window=window)[0])
