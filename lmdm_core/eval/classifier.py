"""A small instrument classifier for evaluation: multi-label logistic regression (torch) over the mean and spread of
loudness-normalised log-mel bands, trained on the renders' instrument labels (each stem: its instrument; each mix: its
ensemble's instruments). Saved as one safetensors file of a few kB that can ship next to a model.

    clf = InstrumentClassifier.train_from_build("data/lmdm", split="train")
    clf.save("instruments.safetensors"); clf = InstrumentClassifier.load("instruments.safetensors")
    p = clf.probabilities(audio, sr)          # {instrument: probability}
    clf.best_ensemble(audio, sr)              # the captions.ENSEMBLES name whose instruments fit best
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lmdm_core.eval import metrics as M

CLIP_S = 3.0           # training clips are cut to this length
SILENT_DB = -50.0      # clips quieter than this carry no label evidence and are skipped


def features(audio: np.ndarray, sr: int) -> np.ndarray:
    """[2 * N_MELS] float32: per-band mean and std of the log-mel spectrum, after removing the clip's overall level
    (so the classifier hears timbre, not loudness)."""
    lm = M.log_mel(M.prepare(audio, sr))
    lm = lm - lm.mean()
    return np.concatenate([lm.mean(axis=0), lm.std(axis=0)]).astype(np.float32)


def clips(audio: np.ndarray, sr: int, clip_s: float = CLIP_S, max_clips: int = 4) -> list[np.ndarray]:
    """Up to max_clips non-silent mono clips of clip_s seconds, spread evenly over the audio."""
    x = np.nan_to_num(M._mono(audio))
    n = int(clip_s * sr)
    if len(x) < n:
        return [x] if audible(x) else []
    return [c for c in (x[s:s + n] for s in clip_starts(len(x), n, max_clips)) if audible(c)]


def clip_starts(samples: int, clip: int, max_clips: int = 4) -> np.ndarray:
    """Start samples of up to max_clips clips of `clip` samples spread evenly over `samples` (none if too short)."""
    if samples < clip:
        return np.zeros(0, int)
    return np.linspace(0, samples - clip, max(1, min(max_clips, samples // clip))).astype(int)


def audible(x: np.ndarray) -> bool:
    """Louder than SILENT_DB (RMS, dBFS)."""
    return bool(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-10) > SILENT_DB)


@dataclass
class ClipClassifier:
    """Multi-label logistic regression over per-clip features: labels are scored one-vs-rest, each by its own sigmoid.
    Subclasses set FEATURES (the saved file's tag), CLIP_S and featurize()."""
    labels: list[str]
    mean: np.ndarray          # feature standardisation
    std: np.ndarray
    weight: np.ndarray        # [labels, features]
    bias: np.ndarray          # [labels]

    FEATURES: ClassVar[str] = ""        # the saved file's tag: a file of one kind does not load as another
    KIND: ClassVar[str] = "classifier"  # what error messages call it
    CLIP_S: ClassVar[float] = CLIP_S

    @staticmethod
    def featurize(audio: np.ndarray, sr: int) -> np.ndarray:
        raise NotImplementedError

    # ----- use -----

    def logits(self, feats: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(feats) - self.mean) / self.std
        return z @ self.weight.T + self.bias

    def probabilities(self, audio: np.ndarray, sr: int) -> dict[str, float]:
        """Label -> probability that it applies to the clip (averaged over the clip's CLIP_S pieces)."""
        pieces = clips(audio, sr, self.CLIP_S, max_clips=8) or [np.zeros(int(self.CLIP_S * sr), np.float32)]
        p = 1.0 / (1.0 + np.exp(-self.logits(np.stack([self.featurize(c, sr) for c in pieces]))))
        return dict(zip(self.labels, p.mean(axis=0).round(6).tolist()))

    # ----- training -----

    @classmethod
    def fit(cls, feats: np.ndarray, targets: np.ndarray, labels: list[str], epochs: int = 300,
            weight_decay: float = 1e-3, seed: int = 0) -> ClipClassifier:
        """Full-batch Adam on binary cross-entropy. feats [n, d], targets [n, labels] in {0, 1}."""
        feats = np.asarray(feats, np.float32)
        mean, std = feats.mean(axis=0), feats.std(axis=0) + 1e-3
        g = torch.Generator().manual_seed(seed)
        x = torch.from_numpy((feats - mean) / std)
        y = torch.from_numpy(np.asarray(targets, np.float32))
        lin = torch.nn.Linear(x.shape[1], y.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.01)
            lin.bias.zero_()
        opt = torch.optim.Adam(lin.parameters(), lr=0.05, weight_decay=weight_decay)
        pos = y.mean(0).clamp(1e-3, 1 - 1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((1 - pos) / pos).clamp(max=20.0))  # rare labels count
        with torch.enable_grad():
            for _ in range(epochs):
                opt.zero_grad()
                loss = loss_fn(lin(x), y)
                loss.backward()
                opt.step()
        return cls(list(labels), mean, std, lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy())

    @classmethod
    def train_on_examples(cls, examples: Iterable[tuple[np.ndarray, int, list[str]]], progress: bool = True,
                          labels: list[str] | None = None, **fit_options) -> ClipClassifier:
        """examples: (audio, sr, label names) each, any iterable (features are taken as it goes, so a generator
        over a large build never holds its audio); every clip of an example carries all its names. `labels`: the
        label set (default: every name seen)."""
        feats, names_of = [], []
        for audio, sr, names in tqdm(examples, desc="classifier features", unit="file", disable=not progress):
            for c in clips(audio, sr, cls.CLIP_S):
                feats.append(cls.featurize(c, sr))
                names_of.append(set(names))
        if len(feats) < 2:
            raise ValueError("need at least two non-silent training clips")
        labels = labels if labels is not None else sorted(set().union(*names_of))
        targets = np.array([[1.0 if lab in names else 0.0 for lab in labels] for names in names_of])
        return cls.fit(np.stack(feats), targets, labels, **fit_options)

    # ----- files -----

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32),
                   "weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32)},
                  str(path), metadata={"labels": json.dumps(self.labels), "features": self.FEATURES})
        return path

    @classmethod
    def load(cls, path: str | Path) -> ClipClassifier:
        from safetensors import safe_open
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("features") != cls.FEATURES:
                raise ValueError(f"{path}: not an lmdm {cls.KIND} (features {meta.get('features')!r}, "
                                 f"expected {cls.FEATURES!r})")
            t = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        return cls(json.loads(meta["labels"]), t["mean"], t["std"], t["weight"], t["bias"])


class InstrumentClassifier(ClipClassifier):
    """Instruments from loudness-normalised log-mel statistics (3 s clips), plus the ensembles they make up."""

    FEATURES: ClassVar[str] = "logmel-meanstd-v1"
    KIND: ClassVar[str] = "instrument classifier"

    @staticmethod
    def featurize(audio: np.ndarray, sr: int) -> np.ndarray:
        return features(audio, sr)

    def ensemble_scores(self, probs: dict[str, float],
                        ensembles: dict[str, list[str]] | None = None) -> dict[str, float]:
        """Mean log-likelihood per ensemble: its instruments present, the others absent."""
        ensembles = ensembles or default_ensembles()
        out = {}
        for name, members in ensembles.items():
            present = set(members)
            ll = [np.log(max(p, 1e-6)) if lab in present else np.log(max(1 - p, 1e-6)) for lab, p in probs.items()]
            out[name] = float(np.mean(ll))
        return out

    def best_ensemble(self, audio: np.ndarray, sr: int, ensembles: dict[str, list[str]] | None = None) -> str:
        scores = self.ensemble_scores(self.probabilities(audio, sr), ensembles)
        return max(scores, key=scores.get)

    @classmethod
    def train_from_build(cls, data_dir: str | Path, split: str = "train", limit: int | None = None,
                         progress: bool = True, **fit_options) -> InstrumentClassifier:
        """Train on a data build's renders of one split: every stem with its instrument, every mix with all of its."""
        return cls.train_on_examples(build_examples(data_dir, split, limit), progress, **fit_options)


def default_ensembles() -> dict[str, list[str]]:
    """captions.ENSEMBLES as instrument-name sets."""
    from lmdm_core.data.captions import ENSEMBLES
    return {name: sorted({n for _, n in members}) for name, members in ENSEMBLES.items()}


def build_examples(data_dir: str | Path, split: str, limit: int | None = None
                   ) -> Iterator[tuple[np.ndarray, int, list[str]]]:
    """(audio, sr, instruments) for each mix and each stem of a build's split (renders in manifest order), read
    lazily."""
    from lmdm_core.data import manifest, stems
    root = Path(data_dir) / "renders"
    entries = manifest.load(data_dir, split)[:limit]
    if not entries:
        raise FileNotFoundError(f"no {split!r} renders in {data_dir} (run `lmdm data build`)")
    for e in entries:
        mix, sr = stems.read(root / e.id)
        yield mix, sr, sorted(set(e.instruments))
        for k, name in enumerate(e.instruments):
            if stems.stem_name(k) in e.files:
                yield stems.read(root / e.id, stems.stem_name(k))[0], sr, [name]


def roc_auc(scores: list[float], positive: list[bool]) -> float | None:
    """Area under the ROC curve: the probability that a positive outscores a negative (ties half; Mann-Whitney U
    over ranks). None without both classes."""
    from scipy.stats import rankdata

    y = np.asarray(positive, bool)
    if y.all() or not y.any():
        return None
    ranks = rankdata(np.asarray(scores, np.float64))   # ties share their mean rank
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
