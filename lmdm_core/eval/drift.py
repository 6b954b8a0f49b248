"""Drift over a long generation: metrics per window (default 10 s over 60 s) for audio-primed continuation and
text-only generation of held-out works, next to baselines that give the numbers a scale.

    result, text_audio = run_drift(model, clips, seconds=60, window_s=10, context_s=10, steps=4)
    result["audio_primed"]["methods"]["generated"]["chroma_distance"]   # one mean per window

Methods (audio-primed): generated; repeat_context (the context looped); noise (white, at the context's level);
ground_truth (the real continuation: distances 0, the ceiling for key and loudness); other_work (another held-out
work's audio over the same span: what "unrelated music of the corpus" scores). Text-only: generated (prompt = the
render's caption), noise, ground_truth, other_work, all against the work's opening.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from lmdm_core.eval import generation as G
from lmdm_core.eval import metrics as M
from lmdm_core.eval.heldout import HeldOut
from lmdm_core.pipeline import LoadedModel

METRICS = ("spectral_distance_db", "chroma_distance", "loudness_delta_db", "loudness_std_db", "key_score")


def _fit(audio: np.ndarray, samples: int) -> np.ndarray:
    """Cut or loop [channels, n] to exactly `samples`."""
    if audio.shape[1] == 0:
        return np.zeros((audio.shape[0], samples), np.float32)
    reps = -(-samples // audio.shape[1])
    return np.tile(audio, (1, reps))[:, :samples]


def noise_like(audio: np.ndarray, samples: int, sr: int, seed: int = 0) -> np.ndarray:
    """White noise, the same in every channel, [channels, samples], at the level `audio` has once analysed (mono at
    metrics.ANALYSIS_SR), so the noise baseline differs from the music in spectrum, not in loudness."""
    x = np.random.default_rng(seed).standard_normal(samples).astype(np.float32)
    target = float(np.sqrt(np.mean(M.prepare(audio, sr) ** 2))) or 0.1
    got = float(np.sqrt(np.mean(M.prepare(x, sr) ** 2))) or 1.0
    return np.repeat((x * target / got)[None], audio.shape[0], axis=0)


def aggregate(per_clip: list[dict[str, list[dict]]], n_windows: int) -> dict[str, dict[str, list]]:
    """method -> metric -> mean over clips per window (None where no clip has a value)."""
    methods = {m for rows in per_clip for m in rows}
    out: dict[str, dict[str, list]] = {}
    for m in sorted(methods):
        out[m] = {}
        for metric in METRICS:
            curve = []
            for w in range(n_windows):
                vals = [rows[m][w][metric] for rows in per_clip
                        if m in rows and w < len(rows[m]) and rows[m][w][metric] is not None]
                curve.append(float(np.mean(vals)) if vals else None)
            out[m][metric] = curve
    return out


def _score(candidates: dict[str, np.ndarray], ref: np.ndarray, sr: int, key_ref: M.Key, window_s: float):
    return {name: M.window_metrics(a, ref, sr, key_ref, window_s) for name, a in candidates.items()}


def run_drift(model: LoadedModel, clips: list[HeldOut], seconds: float = 60.0, window_s: float = 10.0,
              context_s: float = 10.0, steps: int | None = None, seed: int = 0,
              modes: tuple[str, ...] = ("audio", "text"), progress: bool = True,
              block_size: str = "long") -> tuple[dict, list[np.ndarray]]:
    """Returns (JSON-ready result, the text-only generated audio per clip, for the prompt-adherence check)."""
    sr = model.autoencoder.sample_rate
    n = round(seconds * sr)
    n_windows = int(seconds // window_s)
    ctx_n = G.block_multiple(round(context_s * sr), model, block_size)
    primed, text, text_audio, meta = [], [], [], []
    for i, c in enumerate(tqdm(clips, desc="drift" if "audio" in modes else "text-only", unit="work",
                               disable=not progress)):
        other = clips[(i + 1) % len(clips)] if len(clips) > 1 else None
        context, truth = c.mix[:, :ctx_n], c.mix[:, ctx_n: ctx_n + n]
        key_ref = M.key_of(context, sr)
        meta.append({"id": c.id, "caption": c.caption, "context_key": key_ref.name, "manifest_key": c.key,
                     "truth_seconds": round(truth.shape[1] / sr, 2)})
        if "audio" in modes:
            cands = {"generated": G.continue_audio(model, context, seconds, c.caption, seed + i, steps, block_size),
                     "repeat_context": _fit(context, n), "noise": noise_like(context, n, sr, seed + i),
                     "ground_truth": truth}
            if other is not None:
                cands["other_work"] = other.mix[:, ctx_n: ctx_n + n]
            primed.append(_score(cands, truth, sr, key_ref, window_s))
        if "text" in modes:
            gen = G.text_only(model, seconds, c.caption, seed + i, steps, block_size)
            text_audio.append(gen)
            opening = c.mix[:, :n]
            cands = {"generated": gen, "noise": noise_like(opening, n, sr, seed + i), "ground_truth": opening}
            if other is not None:
                cands["other_work"] = other.mix[:, :n]
            text.append(_score(cands, opening, sr, M.key_of(opening[:, :ctx_n], sr), window_s))
    windows = [round(w * window_s, 3) for w in range(n_windows)]
    result = {"settings": {"seconds": seconds, "window_s": window_s, "context_s": round(ctx_n / sr, 3),
                           "steps": steps if steps is not None else model.sampler.steps, "seed": seed,
                           "sample_rate": sr, "works": len(clips), "block_size": block_size},
              "clips": meta}
    if primed:
        result["audio_primed"] = {"windows_s": windows, "methods": aggregate(primed, n_windows), "per_clip": primed}
    if text:
        result["text_only"] = {"windows_s": windows, "methods": aggregate(text, n_windows), "per_clip": text}
    return result, text_audio
