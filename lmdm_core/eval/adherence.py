"""Prompt adherence: the instrument classifier applied to audio generated from held-out captions.

Scores per clip: `ensemble_hit` (the classifier's best-fitting ensemble is the prompted one; chance = 1 / ensembles)
and `instrument_auc` (probability that a prompted instrument outranks an unprompted one; chance = 0.5).
Methods: generated; ground_truth (the held-out render itself: the classifier's own ceiling); noise; and
swapped_prompt (the generated audio scored against another clip's prompt: what unrelated audio scores).
The style classifier's check (drums, groove style) follows the same methods: run_style_adherence.
"""
from __future__ import annotations

import numpy as np

from lmdm_core.eval.classifier import InstrumentClassifier, default_ensembles, roc_auc
from lmdm_core.eval.drift import noise_like
from lmdm_core.eval.heldout import HeldOut
from lmdm_core.eval.style import StyleClassifier, auc_summary, per_class_auc, style_examples


def instrument_auc(probs: dict[str, float], named: list[str]) -> float | None:
    """Share of (named, unnamed) instrument pairs the probabilities rank right (ties count half); None if either
    side is empty."""
    return roc_auc(list(probs.values()), [k in named for k in probs])


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


def prompted_styles(c: HeldOut) -> list[str]:
    """The style classifier's labels a held-out render's caption names: its groove style (generated works) and
    "drums" when its drums play."""
    return ([c.style] if c.collection == "generated" and c.style else []) + (["drums"] if c.drums else [])


def _style_scores(clf: StyleClassifier, probs: list[dict[str, float]], named: list[list[str]]) -> dict:
    auc = per_class_auc(clf, probs, named)
    hits = [float(max(clf.styles, key=p.get) == n[0]) for p, n in zip(probs, named) if n and n[0] in clf.styles]
    return {**auc_summary(auc), "style_hit": float(np.mean(hits)) if hits else None, "auc": auc}


def run_style_adherence(clf: StyleClassifier, clips: list[HeldOut], generated: list[np.ndarray], sr: int,
                        seed: int = 0) -> dict:
    """Per label, one-vs-rest AUC over the clips: do the clips whose prompt names it score higher on it than those
    whose prompt does not? `style_auc` is the mean over the groove styles, `style_hit` the share of generated-work
    prompts whose style is the classifier's best. Methods: generated, ground_truth (the held-out renders: the
    classifier's own ceiling), noise, swapped_prompt (each generation scored against the next clip's prompt)."""
    clips = clips[: len(generated)]
    named = [prompted_styles(c) for c in clips]
    gen = [clf.probabilities(g, sr) for g in generated]
    truth = [clf.probabilities(c.mix[:, : g.shape[1]], c.sample_rate) for c, g in zip(clips, generated)]
    noise = [clf.probabilities(noise_like(c.mix, g.shape[1], sr, seed + i), sr)
             for i, (c, g) in enumerate(zip(clips, generated))]
    swapped = named[1:] + named[:1]
    methods = {"generated": _style_scores(clf, gen, named), "ground_truth": _style_scores(clf, truth, named),
               "noise": _style_scores(clf, noise, named), "swapped_prompt": _style_scores(clf, gen, swapped)}
    return {"chance": {"drums_auc": 0.5, "style_auc": 0.5, "style_hit": 1.0 / max(1, len(clf.styles))},
            "labels": clf.labels, "methods": methods,
            "per_clip": [{"id": c.id, "prompt": c.caption, "named": n, "generated": g, "ground_truth": t}
                         for c, n, g, t in zip(clips, named, gen, truth)]}


def classifier_auc(clf: StyleClassifier, data_dir, split: str = "heldout", limit: int | None = None) -> dict:
    """The style classifier on every clip of a split's renders (not only the works the eval generates from):
    one-vs-rest AUC per label, the figure the issue's target (style AUC >= 0.9) is about."""
    from lmdm_core.data import manifest

    entries = manifest.load(data_dir, split)[:limit]
    probs, labels = [], []
    for audio, sr, y in style_examples(data_dir, entries):
        probs.append(clf.probabilities(audio, sr))
        labels.append(y)
    auc = per_class_auc(clf, probs, labels)
    return {"clips": len(probs), "renders": len(entries), **auc_summary(auc), "auc": auc}
