"""The instrument classifier tells two clearly different GM instruments apart on renders it has not seen."""
from __future__ import annotations

import numpy as np
import pytest

from lmdm_core.data import midi as Mid
from lmdm_core.data.render import render
from lmdm_core.eval.adherence import instrument_auc
from lmdm_core.eval.classifier import InstrumentClassifier

from .builds import SR, midi_of

PROGRAMS = {"piano": 0, "flute": 73}


def melody(seed: int) -> list[tuple[float, float, int]]:
    """Eight random notes (half to one beat each) in a random two-octave register."""
    rng = np.random.default_rng(seed)
    low = int(rng.integers(55, 70))
    t, notes = 0.0, []
    for _ in range(8):
        d = float(rng.choice([0.5, 1.0]))
        notes.append((t, d, low + int(rng.integers(0, 24))))
        t += d
    return notes


def rendered(seed: int, name: str) -> np.ndarray:
    mid = midi_of([melody(seed)])
    Mid.set_programs(mid, {t: PROGRAMS[name] for t in Mid.voice_tracks(mid)})
    return render(mid, separate=False, tail=0.5).mix


@pytest.fixture(scope="module")
def trained():
    examples = [(rendered(s, name), SR, [name]) for s in range(8) for name in PROGRAMS]
    return InstrumentClassifier.train_on_examples(examples, progress=False)


def test_tells_piano_from_flute_on_heldout_melodies(trained, tmp_path):
    # 24 unseen melodies (other seeds, so other notes and registers), 12 per instrument. Guessing gets 12 right on
    # average; 21 or more right by chance has probability sum_{k>=21} C(24,k)/2^24 = 1.5e-4.
    right = 0
    for s in range(100, 112):
        for name in PROGRAMS:
            p = trained.probabilities(rendered(s, name), SR)
            right += max(p, key=p.get) == name
    assert right >= 21, right
    print("held-out accuracy", right, "/ 24")
    path = trained.save(tmp_path / "instruments.safetensors")
    assert path.stat().st_size <= 1_000_000
    again = InstrumentClassifier.load(path)
    audio = rendered(200, "flute")
    assert again.labels == trained.labels
    assert again.probabilities(audio, SR) == pytest.approx(trained.probabilities(audio, SR), abs=1e-5)


def test_ensemble_choice_and_auc(trained):
    ensembles = {"piano": ["piano"], "woodwind": ["flute"]}
    assert trained.best_ensemble(rendered(300, "piano"), SR, ensembles) == "piano"
    assert trained.best_ensemble(rendered(300, "flute"), SR, ensembles) == "woodwind"
    assert instrument_auc({"piano": 0.9, "flute": 0.1, "oboe": 0.2}, ["piano"]) == 1.0
    assert instrument_auc({"piano": 0.1, "flute": 0.9}, ["piano"]) == 0.0
    assert instrument_auc({"piano": 0.5}, ["piano"]) is None


def test_load_rejects_other_files(tmp_path):
    from safetensors.numpy import save_file
    save_file({"x": np.zeros(2, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not an lmdm instrument classifier"):
        InstrumentClassifier.load(tmp_path / "other.safetensors")
