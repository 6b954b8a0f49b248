"""A tiny model trained a few hundred steps on a toy signal lowers its loss; dropout helpers do what they say."""
from __future__ import annotations

import torch

from lmdm_core.config import stream_preset
from lmdm_core.objective import context_flags, drop_conditions, toy_run

from .conftest import make_model, random_conditions


def test_toy_training_lowers_the_loss():
    losses = toy_run(steps=200, batch=8, lr=3e-3, seed=0)
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert all(l == l for l in losses)          # no NaN
    assert last < 0.6 * first, (first, last)


def test_context_dropout():
    s = stream_preset("tiny")
    g = torch.Generator().manual_seed(0)
    assert torch.equal(context_flags(4, s, 0.0, 0.0, g)[..., :s.context], torch.ones(4, 1, s.context))
    f = context_flags(64, s, 0.0, 1.0, g)
    assert (f[..., s.context:] == 0).all()
    kept = f[:, 0, :s.context]
    assert (kept[:, -s.block:] == 1).all() and (kept[:, 0] == 0).all()   # oldest chunks dropped, newest kept
    assert (torch.diff(kept, dim=1) >= 0).all()                            # never a hole in the middle
    assert (context_flags(8, s, 1.0, 0.0, g) == 0).all()


def test_condition_dropout():
    model = make_model()
    c = random_conditions(model, 32, seed=0)
    d = drop_conditions(c, 0.5, torch.Generator().manual_seed(0))
    dropped = ~d.mask.any(dim=1)
    assert 0 < int(dropped.sum()) < 32
    assert (d.tokens[dropped] == 0).all() and torch.equal(d.tokens[~dropped], c.tokens[~dropped])
