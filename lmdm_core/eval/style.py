"""A style classifier for prompt adherence: does the clip have drums, and which groove style (the generator's
styles: house, techno, hip hop, breakbeat, rock, bossa nova, half time, ambient) is it? Trained on a data build's
train renders (manifest `style`, `drums`), scored one-vs-rest by AUC on held-out renders.

    clf = StyleClassifier.train_from_build("data/lmdm", split="train")
    clf.save("styles.safetensors"); clf = StyleClassifier.load("styles.safetensors")
    clf.probabilities(audio, sr)      # {"drums": p, "house": p, ...}
    clf.best_style(audio, sr)         # the likeliest groove style

Features (`rhythm_features`): the instrument classifier's level-free log-mel mean and spread (timbre: an 808 kit, a
distorted guitar, a pad), plus, for three bands (below 200 Hz: kick and bass; 200 Hz-3 kHz: snare, chords; above
3 kHz: hats, shakers), the autocorrelation of the band's onset envelope (librosa's spectral flux, 23 ms frames) read
at 24 log-spaced lags from 0.1 to 3 s, and the envelope's mean and spread. Why: the styles differ less in timbre
than in where the hits fall: a kick on every beat (house, techno) puts a peak at the beat lag in the low band, a
half-time snare on every other bar's 3 moves the mid band's peak to two beats, swung hats and bossa's clave change
the high band's short lags, and ambient has no periodic onsets at all. On a log-lag axis a change of tempo shifts
the pattern instead of stretching it, which a linear model handles better; the tempo ranges of the styles overlap
only partly, so where a peak sits also says something. Clips are 6 s long (at 80 BPM two bars) so a bar-long
pattern repeats within one.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from lmdm_core.eval import metrics as M
from lmdm_core.eval.classifier import ClipClassifier, audible, clip_starts, features, roc_auc

DRUMS = "drums"
STYLE_CLIP_S = 6.0
ONSET_HOP = 512                       # 23 ms at ANALYSIS_SR
BAND_EDGES_HZ = (200.0, 3000.0)
LAGS_S = np.geomspace(0.1, 3.0, 24)


@lru_cache(maxsize=1)
def _band_channels() -> list[int]:
    """Mel-bin boundaries of librosa's 128 default mel bands at ANALYSIS_SR for the three bands."""
    import librosa

    f = librosa.mel_frequencies(n_mels=128, fmax=M.ANALYSIS_SR / 2)
    return [0, *(int(np.searchsorted(f, e)) for e in BAND_EDGES_HZ), 128]


def onset_envelopes(x: np.ndarray) -> np.ndarray:
    """[3, frames] onset strength (librosa.onset.onset_strength_multi: log-mel spectral flux) per band of prepared
    audio."""
    import librosa

    return librosa.onset.onset_strength_multi(y=x.astype(np.float32), sr=M.ANALYSIS_SR, hop_length=ONSET_HOP,
                                              channels=_band_channels())


def periodicity(env: np.ndarray) -> np.ndarray:
    """[len(LAGS_S)] autocorrelation of a mean-removed envelope over lag 0 (1 at lag 0, 0 for an aperiodic or flat
    envelope), linearly interpolated at LAGS_S."""
    import librosa

    e = env - env.mean()
    ac = librosa.autocorrelate(e)
    if ac[0] <= 1e-12:
        return np.zeros(len(LAGS_S))
    lags = LAGS_S * M.ANALYSIS_SR / ONSET_HOP
    return np.interp(lags, np.arange(len(ac)), ac / ac[0], right=0.0)


def rhythm_features(audio: np.ndarray, sr: int) -> np.ndarray:
    """[96 + 3 * (24 + 2)] float32: features() (timbre), then per band the periodicity at LAGS_S and the onset
    envelope's mean and std (see the module docstring)."""
    envs = onset_envelopes(M.prepare(audio, sr))
    per_band = [np.concatenate([periodicity(e), [e.mean(), e.std()]]) for e in envs]
    return np.concatenate([features(audio, sr), *per_band]).astype(np.float32)


class StyleClassifier(ClipClassifier):
    """Labels: "drums" and each groove style of the train split's generated works (one-vs-rest sigmoids)."""

    FEATURES: ClassVar[str] = "rhythm-v1"
    KIND: ClassVar[str] = "style classifier"
    CLIP_S: ClassVar[float] = STYLE_CLIP_S

    @staticmethod
    def featurize(audio: np.ndarray, sr: int) -> np.ndarray:
        return rhythm_features(audio, sr)

    @property
    def styles(self) -> list[str]:
        return [lab for lab in self.labels if lab != DRUMS]

    def best_style(self, audio: np.ndarray, sr: int) -> str:
        p = self.probabilities(audio, sr)
        return max(self.styles, key=p.get)

    @classmethod
    def train_from_build(cls, data_dir: str | Path, split: str = "train", limit: int | None = None,
                         progress: bool = True, **fit_options) -> StyleClassifier:
        """Train on the mixes of a build's split, one example per clip (labels: see style_examples)."""
        from lmdm_core.data import manifest

        entries = manifest.load(data_dir, split)[:limit]
        if not entries:
            raise FileNotFoundError(f"no {split!r} renders in {data_dir} (run `lmdm data build`)")
        styles = sorted({e.style for e in entries if e.collection == "generated" and e.style})
        return cls.train_on_examples(style_examples(data_dir, entries), progress, labels=[DRUMS, *styles],
                                     **fit_options)


def drum_voice(entry) -> int | None:
    """The voice whose instrument is a drum kit ("808 drums", "acoustic drums", ...), or None."""
    return next((k for k, name in enumerate(entry.instruments) if name.endswith(DRUMS)), None)


def clip_labels(entry, drum_clip: np.ndarray | None) -> list[str]:
    """A clip's labels: its work's style when the work is generated (a corpus work has none of the groove styles),
    and "drums" when its drum stem is audible in the clip (a techno breakdown has none), or, without a stem, when the
    render has drums at all."""
    labels = [entry.style] if entry.collection == "generated" and entry.style else []
    has = entry.drums if drum_clip is None else entry.drums and audible(drum_clip)
    return labels + ([DRUMS] if has else [])


def style_examples(data_dir: str | Path, entries, max_clips: int = 4) -> Iterator[tuple[np.ndarray, int, list[str]]]:
    """(mono clip of STYLE_CLIP_S, sr, labels) for up to max_clips clips of each render's mix, read lazily."""
    from lmdm_core.data import stems

    root = Path(data_dir) / "renders"
    for e in entries:
        mix, sr = stems.read(root / e.id)
        mix = M._mono(mix)
        k = drum_voice(e) if e.drums else None
        drum = M._mono(stems.read(root / e.id, stems.stem_name(k))[0]) if (
            k is not None and stems.stem_name(k) in e.files) else None
        n = int(STYLE_CLIP_S * sr)
        for s in clip_starts(len(mix), n, max_clips):
            if audible(mix[s:s + n]):
                yield mix[s:s + n], sr, clip_labels(e, None if drum is None else drum[s:s + n])


def per_class_auc(clf: StyleClassifier, probs: list[dict[str, float]], labels: list[list[str]]
                  ) -> dict[str, float | None]:
    """One-vs-rest AUC per label of the classifier over clips with their true labels."""
    return {lab: roc_auc([p[lab] for p in probs], [lab in y for y in labels]) for lab in clf.labels}


def auc_summary(auc: dict[str, float | None]) -> dict[str, float | None]:
    """drums_auc, and style_auc: the mean over the groove styles that have one."""
    styles = [v for k, v in auc.items() if k != DRUMS and v is not None]
    return {"drums_auc": auc.get(DRUMS), "style_auc": float(np.mean(styles)) if styles else None}
