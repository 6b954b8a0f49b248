"""The style classifier on real renders of generated works: a tiny build of the generator's techno (drums, four on
the floor), hip hop (boom-bap drums) and ambient (no drums) seeds rendered by the data pipeline with TimGM6mb, trained
on some seeds and scored on held-out ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmdm_core.data import build, corpus, generator
from lmdm_core.data.manifest import Manifest
from lmdm_core.eval.adherence import classifier_auc
from lmdm_core.eval.classifier import InstrumentClassifier, roc_auc
from lmdm_core.eval.style import DRUMS, LAGS_S, StyleClassifier, periodicity, rhythm_features

pytest.importorskip("librosa")
SMALL_SF = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
STYLES = ("ambient", "hip hop", "techno")
TRAIN, HELD = 3, 2           # seeds per style


def seeds_of(style: str, n: int) -> list[int]:
    """The first n seeds the generator gives `style` (styles go round the sorted names)."""
    k = sorted(generator.STYLES).index(style)
    return [k + 8 * i for i in range(n)]


@pytest.fixture(scope="module")
def style_build(tmp_path_factory) -> Path:
    """Per style TRAIN train and HELD held-out works, the first 12 s of each rendered with stems, no augmentation."""
    works, out = tmp_path_factory.mktemp("works"), tmp_path_factory.mktemp("build")
    cfg = build.BuildConfig(works, out, soundfont=SMALL_SF, fallback=None, max_seconds=12.0, augment=False,
                            progress=False, plot=False)
    manifest = Manifest(out)
    for style in STYLES:
        for i, seed in enumerate(seeds_of(style, TRAIN + HELD)):
            info = generator.export(seed, works, heldout=0.0)
            info.split = "train" if i < TRAIN else "heldout"
            corpus.append_work(works, info)
            entry = build.render_one(info, 0, cfg)
            assert entry.status == "ok", entry.error
            manifest.append(entry)
    return out


def test_periodicity_peaks_at_the_beat_of_a_click_track():
    env = np.zeros(2000)
    beat = 22                                   # frames: 22 * 512 / 22050 = 0.51 s, about 117 BPM
    env[::beat] = 1.0
    p = periodicity(env)
    lag_s = beat * 512 / 22050
    at_beat = p[np.argmin(np.abs(LAGS_S - lag_s))]
    off_beat = p[np.argmin(np.abs(LAGS_S - 0.75 * lag_s))]
    assert at_beat > 0.8 and off_beat < 0.2, (at_beat, off_beat)
    assert not periodicity(np.ones(500)).any()      # a flat envelope has no periodicity


def test_roc_auc_counts_ranked_pairs():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5            # a tie counts half
    assert roc_auc([0.1, 0.2], [True, True]) is None            # no negatives: undefined


def test_drum_grooves_and_pads_are_told_apart_on_held_out_seeds(style_build, tmp_path):
    clf = StyleClassifier.train_from_build(style_build, "train", progress=False)
    assert clf.labels == [DRUMS, *STYLES]
    held = classifier_auc(clf, style_build, "heldout")
    assert held["renders"] == len(STYLES) * HELD and held["clips"] >= len(STYLES) * HELD
    assert held["drums_auc"] >= 0.9, held
    assert held["style_auc"] >= 0.85, held
    entries = Manifest(style_build).entries()
    from lmdm_core.data import stems
    picks = {e.id: clf.best_style(stems.read(style_build / "renders" / e.id)[0], 44100)
             for e in entries if e.split == "heldout"}
    right = sum(picks[e.id] == e.style for e in entries if e.split == "heldout")
    assert right >= len(picks) - 1, picks       # chance: a third

    loaded = StyleClassifier.load(clf.save(tmp_path / "styles.safetensors"))
    audio = stems.read(style_build / "renders" / entries[0].id)[0]
    assert loaded.probabilities(audio, 44100) == clf.probabilities(audio, 44100)
    with pytest.raises(ValueError, match="not an lmdm style classifier"):     # another kind's file is refused by name
        StyleClassifier.load(InstrumentClassifier.fit(np.eye(3), np.eye(3), ["a", "b", "c"], epochs=2).save(
            tmp_path / "inst.safetensors"))


def test_rhythm_features_are_level_free_and_finite():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6 * 22050).astype(np.float32) * 0.1
    a, b = rhythm_features(x, 22050), rhythm_features(0.1 * x, 22050)
    assert np.isfinite(a).all() and a.shape == (96 + 3 * (len(LAGS_S) + 2),)
    np.testing.assert_allclose(a[:96], b[:96], atol=1e-3)        # timbre part: level removed
