"""Jam mode: the model accompanies a held-out voice (the top voice, played in as the "stem" input); its output is
compared with the real accompaniment (mix without that voice) by frame-wise chroma agreement.

Methods: generated; repeat_context (the real accompaniment of the context, looped: right key, wrong chords);
shuffled (the real accompaniment with its 1-s pieces in random order: right key and timbre, no alignment);
echo_player (the player's own part: what a model that just copies its input scores); noise.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from lmdm_core.eval import generation as G
from lmdm_core.eval import metrics as M
from lmdm_core.eval.drift import _fit, noise_like
from lmdm_core.eval.heldout import HeldOut
from lmdm_core.modes import MODES
from lmdm_core.pipeline import LoadedModel

METHODS = ("generated", "repeat_context", "shuffled", "echo_player", "noise")


def shuffled(audio: np.ndarray, sr: int, piece_s: float = 1.0, seed: int = 0) -> np.ndarray:
    """[channels, n] with its piece_s pieces in a random order (a shorter tail stays last)."""
    p = max(1, int(piece_s * sr))
    k = audio.shape[1] // p
    order = np.random.default_rng(seed).permutation(k)
    head = audio[:, : k * p].reshape(audio.shape[0], k, p)[:, order].reshape(audio.shape[0], k * p)
    return np.concatenate([head, audio[:, k * p:]], axis=1)


def run_accompaniment(model: LoadedModel, clips: list[HeldOut], seconds: float = 30.0, context_s: float = 10.0,
                      steps: int | None = None, seed: int = 0, progress: bool = True,
                      block_size: str = "long") -> dict:
    """Chroma agreement of each method with the real accompaniment, per clip and averaged (JSON-ready)."""
    if "jam" not in model.modes:
        return {"skipped": f"model has no {MODES['jam'].group!r} input (inputs {sorted(model.dit.cfg.input_adds)})"}
    clips = [c for c in clips if c.stem is not None]
    if not clips:
        return {"skipped": "no held-out render with stems"}
    sr = model.autoencoder.sample_rate
    n = round(seconds * sr)
    ctx_n = G.block_multiple(round(context_s * sr), model, block_size)
    per_clip = []
    for i, c in enumerate(tqdm(clips, desc="accompaniment", unit="work", disable=not progress)):
        acc = c.accompaniment()
        player, truth, context = c.stem[:, ctx_n: ctx_n + n], acc[:, ctx_n: ctx_n + n], acc[:, :ctx_n]
        if truth.shape[1] < sr:
            continue                      # under a second left after the context: nothing to compare
        cands = {"generated": G.jam(model, player, context, c.caption, seed + i, steps, block_size),
                 "repeat_context": _fit(context, truth.shape[1]), "shuffled": shuffled(truth, sr, seed=seed + i),
                 "echo_player": player, "noise": noise_like(truth, truth.shape[1], sr, seed + i)}
        ref = M.prepare(truth, sr)
        row = {name: M.chroma_agreement(M.prepare(a, sr), ref) for name, a in cands.items()}
        per_clip.append({"id": c.id, "seconds": round(truth.shape[1] / sr, 2), **row})
    if not per_clip:
        return {"skipped": f"no held-out render longer than the {context_s} s context plus 1 s"}
    return {"settings": {"seconds": seconds, "context_s": round(ctx_n / sr, 3), "seed": seed,
                         "steps": steps if steps is not None else model.sampler.steps, "works": len(per_clip),
                         "block_size": block_size},
            "chroma_agreement": {m: float(np.mean([r[m] for r in per_clip])) for m in METHODS},
            "per_clip": per_clip}
