"""Text mode through the real worker and Python client: prompt changes mid-stream, interpolation, dry mixing."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bridge.client import Client
from tests.modes.conftest import WEIGHTS, first_difference, pull

RATE = 44100          # the tiny model's own rate: no resampler between, so streams are sample-for-sample comparable
CHUNK = 4096
PROMPT_A, PROMPT_B = "piano", "strings"   # words of every vocabulary (tiny default, v1 and v2 captions)


@pytest.mark.parametrize("which, rate, chunk", [("worker", RATE, CHUNK), ("trained_worker", 22050, 8192)])
def test_prompt_change_takes_effect_within_one_block_without_a_click(request, which, rate, chunk):
    worker = request.getfixturevalue(which)
    start, frames, switch = 3 * chunk, 24 * chunk, 10 * chunk
    with Client(worker.address, stream="ta", rate=rate, channels=2, mode="text", timeout=120) as ca, \
            Client(worker.address, stream="tb", rate=rate, channels=2, mode="text", timeout=120) as cb:
        block = cb.welcome.block
        ref = pull(ca, start, frames, chunk, {0: [("prompt", PROMPT_A)]})
        got = pull(cb, start, frames, chunk, {0: [("prompt", PROMPT_A)], switch: [("prompt", PROMPT_B)]})
    assert np.isfinite(got).all() and np.abs(ref).max() > 0
    d = first_difference(ref, got)
    # Same model, seed and prompt: identical until the change; the change shows within one block of where it was
    # asked for (the worker may already hold one computed block).
    assert switch <= d <= switch + block, (d, switch, block)
    # The seam: no sample-to-sample step near it above the largest step of the uninterrupted stream.
    own = np.abs(np.diff(ref, axis=0)).max()
    seam = np.abs(np.diff(got[max(d - 256, 1) - 1:d + 256], axis=0)).max()
    assert seam <= own, (seam, own)


def test_blend_interpolates_between_the_prompts(worker):
    start, frames = 0, 12 * CHUNK
    runs = {}
    for name, settings in {
        "a": [("prompt", PROMPT_A)],
        "a_blend0": [("prompt", PROMPT_A), ("prompt_b", PROMPT_B), ("blend", 0.0)],
        "half": [("prompt", PROMPT_A), ("prompt_b", PROMPT_B), ("blend", 0.5)],
        "b": [("prompt", PROMPT_B)],
    }.items():
        with Client(worker.address, stream=f"bl-{name}", rate=RATE, channels=2, mode="text", timeout=120) as c:
            runs[name] = pull(c, start, frames, CHUNK, {0: settings})
    assert np.array_equal(runs["a"], runs["a_blend0"])      # blend 0 is prompt A alone
    assert not np.array_equal(runs["half"], runs["a"]) and not np.array_equal(runs["half"], runs["b"])
    assert np.isfinite(runs["half"]).all()


def _classifier(corpus_midi):
    """$LMDM_CLASSIFIER or the file next to the weights; else one trained here (4 s) the way lmdm eval trains it, on
    SoundFont renders of two training works (not held out) in every ensemble of the captions."""
    from lmdm_core.data import captions
    from lmdm_core.data.build import render_orchestrated
    from lmdm_core.eval.classifier import InstrumentClassifier

    path = Path(os.environ.get("LMDM_CLASSIFIER", WEIGHTS / "instruments.safetensors"))
    if path.is_file():
        return InstrumentClassifier.load(path)
    examples = []
    for work in ("bach-bwv1-6", "bach-bwv10-7"):
        for ensemble in captions.ENSEMBLES:
            r, orch = render_orchestrated(corpus_midi(work), ensemble, 22050, 15.0)
            examples.append((r.stems.sum(axis=0), 22050, sorted(set(orch.names))))
    return InstrumentClassifier.train_on_examples(examples, progress=False)


def _weak_instruments() -> bool:
    """v2's instrument adherence is weak (instrument AUC 0.73, docs/model-card.md): it does not tell these two apart."""
    from tests.modes.conftest import trained_weights
    from lmdm_core.checkpoint import read_checkpoint

    try:
        return read_checkpoint(trained_weights()).meta.get("name") == "lmdm-embedded-v2"
    except pytest.skip.Exception:
        return False


@pytest.mark.xfail(_weak_instruments(), strict=True, reason="v2 does not yet separate piano from string quartet "
                   "at seed 1 (model card: instrument AUC 0.73, target 0.93)")
def test_trained_prompts_are_told_apart_by_the_instrument_classifier(trained_worker, corpus_midi):
    """Prompts naming two ensembles of the training captions (words the v1 and v2 captions both have): the
    classifier scores each output higher for its own prompt's ensemble than for the other one."""
    clf = _classifier(corpus_midi)
    ensembles = {"piano": "piano", "string quartet": "string quartet"}
    out = {}
    for name in ensembles:
        with Client(trained_worker.address, stream=f"cls-{name.replace(' ', '-')}", rate=22050, channels=2,
                    mode="text", timeout=300) as c:
            out[name] = pull(c, 0, 22050 * 12, 8192, {0: [("prompt", name), ("seed", 1)]})
    for name, y in out.items():
        scores = clf.ensemble_scores(clf.probabilities(y[22050 * 2:], 22050))
        other = next(n for n in ensembles if n != name)
        assert scores[name] > scores[other], (name, scores[name], other, scores[other])
