"""Checks of audio curves against the MIDI they were rendered from."""
from __future__ import annotations

import numpy as np


def single_note_frames(notes: list[tuple[float, float, int]], frames: int, sr: int, hop: int,
                       settle: float = 0.03) -> np.ndarray:
    """Expected MIDI pitch per frame where exactly one note sounds through the whole frame (started at least `settle`
    seconds before it, so the previous note's release has faded a little); 0 elsewhere."""
    t0 = np.arange(frames) * hop / sr
    t1 = t0 + hop / sr
    count = np.zeros(frames, dtype=int)
    touching = np.zeros(frames, dtype=int)
    expect = np.zeros(frames)
    for start, end, pitch in notes:
        covers = (start <= t0 - settle) & (end >= t1)
        count += covers
        touching += (start < t1) & (end > t0)
        expect = np.where(covers, pitch, expect)
    return np.where((count == 1) & (touching == 1), expect, 0.0)


def pitch_agreement(pitch: np.ndarray, notes: list[tuple[float, float, int]], sr: int, hop: int,
                    tolerance: float = 1.0) -> float | None:
    """Share of single-note frames where the pitch curve is within `tolerance` semitones of the note (None if the
    MIDI has no such frame)."""
    expect = single_note_frames(notes, len(pitch), sr, hop)
    mask = expect > 0
    if not mask.any():
        return None
    return float(np.mean(np.abs(pitch[mask] - expect[mask]) <= tolerance))
