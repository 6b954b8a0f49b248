"""Prompt adherence: the instrument classifier applied to audio generated from held-out captions.

Scores per clip: `ensemble_hit` (the classifier's best-fitting ensemble is the prompted one; chance = 1 / ensembles)
and `instrument_auc` (probability that a prompted instrument outranks an unprompted one; chance = 0.5).
Methods: generated; ground_truth (the held-out render itself: the classifier's own ceiling); noise; and
swapped_prompt (the generated audio scored against another clip's prompt: what unrelated audio scores).
"""
from __future__ import annotations

import numpy as np

from lmdm_core.eval.classifier import InstrumentClassifier, default_ensembles
from lmdm_core.eval.drift import noise_like
from lmdm_core.eval.heldout import HeldOut


def instrument_auc(probs: dict[str, float], named: list[str]) -> float | None:
    """Share of (named, unnamed) instrument pairs the probabilities rank right (ties count half); None if either
    side is empty."""
    pos = [p for k, p in probs.items() if k in named]
    neg = [p for k, p in probs.items() if k not in named]
    if not pos or not neg:
        return None
    return float(np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg]))


def score(clf: InstrumentClassifier, audio: np.ndarray, sr: int, ensemble: str, instruments: list[str]) -> dict:
    probs = clf.probabilities(audio, sr)
    scores = clf.ensemble_scores(probs)
    return {"ensemble_hit": float(max(scores, key=scores.get) == ensemble),
            "instrument_auc": instrument_auc(probs, instruments)}


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r[key] is not None]
    return float(np.mean(vals)) if vals else None


def run_adherence(clf: InstrumentClassifier, clips: list[HeldOut], generated: list[np.ndarray], sr: int,
                  seed: int = 0) -> dict:
    """JSON-ready scores per method (means over clips), chance levels and per-clip rows."""
    methods: dict[str, list[dict]] = {"generated": [], "ground_truth": [], "noise": [], "swapped_prompt": []}
    for i, (c, gen) in enumerate(zip(clips, generated)):
        other = clips[(i + 1) % len(clips)]
        truth = c.mix[:, : gen.shape[1]]
        methods["generated"].append(score(clf, gen, sr, c.ensemble, c.instruments))
        methods["ground_truth"].append(score(clf, truth, c.sample_rate, c.ensemble, c.instruments))
        noise = noise_like(truth, gen.shape[1], sr, seed + i)
        methods["noise"].append(score(clf, noise, sr, c.ensemble, c.instruments))
        methods["swapped_prompt"].append(score(clf, gen, sr, other.ensemble, other.instruments))
    return {"chance": {"ensemble_hit": 1.0 / len(default_ensembles()), "instrument_auc": 0.5},
            "methods": {m: {k: _mean(rows, k) for k in ("ensemble_hit", "instrument_auc")}
                        for m, rows in methods.items()},
            "per_clip": [{"id": c.id, "prompt": c.caption, **{m: rows[i] for m, rows in methods.items()}}
                         for i, c in enumerate(clips[: len(generated)])]}
