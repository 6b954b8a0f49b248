"""ARC's three losses on per-frame discriminator logits (any matching shapes; each returns the mean).

With d = D(real) - D(fake) (same context, same conditions, same re-noising):
- discriminator: softplus(-d)  (real should score above its fake);
- generator:     softplus(d)   (the fake should catch up with the real);
- contrastive (discriminator only): softplus(-(D(real, c) - D(real, c')) with c' the conditions rolled by one in the
  batch, so the discriminator must also judge whether the audio fits its prompt, which keeps prompt adherence.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"logit shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    _check(real, fake)
    return F.softplus(-(real - fake)).mean()


def generator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    _check(real, fake)
    return F.softplus(real - fake).mean()


def contrastive_loss(matched: torch.Tensor, mismatched: torch.Tensor) -> torch.Tensor:
    """matched = D(real, c), mismatched = D(real, c rolled by one in the batch)."""
    _check(matched, mismatched)
    return F.softplus(-(matched - mismatched)).mean()
