"""The three ARC losses against values computed by hand (softplus(x) = log(1 + e^x))."""
from __future__ import annotations

import math

import pytest
import torch

from lmdm_core.arc.losses import contrastive_loss, discriminator_loss, generator_loss
from lmdm_core.arc.trainer import rolled
from lmdm_core.conditions import Conditions

REAL = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
FAKE = torch.tensor([[0.5, 1.0], [0.0, -1.0]])       # d = real - fake = [[0.5, -3], [0, 4]]


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


def test_discriminator_loss_by_hand():
    want = (sp(-0.5) + sp(3.0) + sp(0.0) + sp(-4.0)) / 4
    assert discriminator_loss(REAL, FAKE).item() == pytest.approx(want, rel=1e-6)


def test_generator_loss_by_hand():
    want = (sp(0.5) + sp(-3.0) + sp(0.0) + sp(4.0)) / 4
    assert generator_loss(REAL, FAKE).item() == pytest.approx(want, rel=1e-6)


def test_contrastive_loss_by_hand():
    matched = torch.tensor([2.0, -1.0, 0.25])
    mismatched = torch.tensor([1.0, 1.0, 0.25])      # differences 1, -2, 0
    want = (sp(-1.0) + sp(2.0) + sp(0.0)) / 3
    assert contrastive_loss(matched, mismatched).item() == pytest.approx(want, rel=1e-6)


def test_losses_are_relativistic_and_reject_mismatched_shapes():
    # only the difference matters: shifting both logits changes nothing
    assert discriminator_loss(REAL + 7.0, FAKE + 7.0).item() == pytest.approx(discriminator_loss(REAL, FAKE).item())
    assert generator_loss(REAL - 3.0, FAKE - 3.0).item() == pytest.approx(generator_loss(REAL, FAKE).item())
    with pytest.raises(ValueError, match="logit shapes differ"):
        discriminator_loss(REAL, FAKE[:, :1])


def test_rolled_conditions_take_the_previous_row():
    tokens = torch.arange(3.0)[:, None, None].expand(3, 2, 4).clone()
    mask = torch.tensor([[True, False], [True, True], [False, True]])
    r = rolled(Conditions(tokens, mask, torch.arange(3.0)[:, None]))
    assert r.tokens[:, 0, 0].tolist() == [2.0, 0.0, 1.0]
    assert r.mask.tolist() == [[False, True], [True, False], [True, True]]
    assert r.global_vec[:, 0].tolist() == [2.0, 0.0, 1.0]
