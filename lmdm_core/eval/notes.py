"""Note lists and their agreement: basic-pitch transcription of audio, notes of a MIDI file, mir_eval note F1.

Needs the `eval` extra (docs/evaluation.md "Reconstruction"): mir_eval and pretty_midi for the lists and scores,
basic-pitch 0.4.0 (installed with --no-deps, run on onnxruntime; its model ships inside the wheel) for transcription.
"""
from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from lmdm_core.features import _mono

TRANSCRIBE_SR = 22050           # basic-pitch's own rate: audio is written at it so librosa does no resampling
ONSET_TOLERANCE = 0.05          # mir_eval's defaults: 50 ms onsets, 50 cents pitch, offsets within 20 % or 50 ms
PITCH_TOLERANCE = 50.0
OFFSET_RATIO = 0.2
MISSING = ("basic-pitch is not installed: `pip install --no-deps basic-pitch==0.4.0` plus the `eval` extra "
           "(scripts/install.sh --test installs both)")


@dataclass
class Notes:
    intervals: np.ndarray       # [n, 2] onset, offset in seconds
    pitches: np.ndarray         # [n] MIDI note numbers

    def __len__(self) -> int:
        return len(self.pitches)

    @classmethod
    def of(cls, rows) -> Notes:
        """From (onset, offset, pitch) rows."""
        a = np.asarray(list(rows), dtype=np.float64).reshape(-1, 3)
        return cls(a[:, :2].copy(), a[:, 2].copy())

    def shifted(self, seconds: float = 0.0, semitones: int = 0) -> Notes:
        return Notes(self.intervals + seconds, self.pitches + semitones)

    def within(self, end: float) -> Notes:
        """Notes starting before `end`, cut there (the notes an excerpt of that length holds)."""
        keep = self.intervals[:, 0] < end
        iv = self.intervals[keep].copy()
        iv[:, 1] = np.minimum(iv[:, 1], end)
        return Notes(iv, self.pitches[keep])


def note_f1(ref: Notes, est: Notes, offsets: bool = False) -> float | None:
    """mir_eval transcription F1 of est against ref: onset within 50 ms and pitch within 50 cents; with offsets, the
    offset too (within 20 % of the note or 50 ms). None when ref has no notes (nothing to find)."""
    import mir_eval

    if len(ref) == 0:
        return None
    if len(est) == 0:
        return 0.0
    hz = mir_eval.util.midi_to_hz
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref.intervals, hz(ref.pitches), est.intervals, hz(est.pitches), onset_tolerance=ONSET_TOLERANCE,
        pitch_tolerance=PITCH_TOLERANCE, offset_ratio=OFFSET_RATIO if offsets else None)
    return float(f)


def midi_notes(path: str | Path) -> Notes:
    """Pitched notes of a MIDI file (drum tracks left out), in seconds as rendered."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    rows = [(n.start, n.end, n.pitch) for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    return Notes.of(sorted(rows))


@lru_cache(maxsize=1)
def _model():
    logging.disable(logging.WARNING)   # its import warns about every backend it does not find (tf, coreml, tflite)
    try:
        from basic_pitch import ICASSP_2022_MODEL_PATH
        from basic_pitch.inference import Model
    except ImportError as err:
        raise ImportError(MISSING) from err
    finally:
        logging.disable(logging.NOTSET)
    return Model(ICASSP_2022_MODEL_PATH)


def transcribe(audio: np.ndarray, sr: int) -> Notes:
    """basic-pitch's notes of a clip (mono or stereo, any rate) with its default thresholds."""
    model = _model()
    from basic_pitch.inference import predict

    x = np.nan_to_num(_mono(audio).astype(np.float32))
    if sr != TRANSCRIBE_SR:
        x = soxr.resample(x, sr, TRANSCRIBE_SR)
    with tempfile.TemporaryDirectory() as tmp:      # basic-pitch 0.4.0 reads a file, not an array
        path = Path(tmp) / "clip.wav"
        sf.write(path, x, TRANSCRIBE_SR, subtype="FLOAT")
        with contextlib.redirect_stdout(io.StringIO()):    # it prints a line per file
            _, _, events = predict(path, model)
    return Notes.of(sorted((s, e, p) for s, e, p, *_ in events))
