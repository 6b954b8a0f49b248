"""RoPE: SAOS's rotate-half layout, partial rotation, relative positions, re-rotation of cached keys."""
from __future__ import annotations

import torch

from lmdm_core.rope import RotaryEmbedding, apply_rope


def saos_reference(t, positions, rope_dims, base=10000.0):
    """The stable-audio-tools formulation: freqs = cat(f, f); t*cos + rotate_half(t)*sin on the first dims."""
    inv = 1.0 / (base ** (torch.arange(0, rope_dims, 2).float() / rope_dims))
    f = positions[:, None].float() * inv[None]
    f = torch.cat([f, f], -1)
    r, rest = t[..., :rope_dims], t[..., rope_dims:]
    x1, x2 = r.chunk(2, -1)
    return torch.cat([r * f.cos() + torch.cat([-x2, x1], -1) * f.sin(), rest], -1)


def test_matches_saos_layout():
    rope = RotaryEmbedding(16)
    t = torch.randn(2, 3, 10, 32)
    pos = torch.arange(10).float() - 3
    out = apply_rope(t, rope.rotation(pos))
    assert torch.allclose(out, saos_reference(t, pos, 16), atol=1e-5)
    assert torch.equal(out[..., 16:], t[..., 16:])          # partial: the other dims untouched
    assert not torch.allclose(out[..., :16], t[..., :16])


def test_scores_depend_on_relative_position_and_rerotation_composes():
    rope = RotaryEmbedding(32)
    q, k = torch.randn(1, 1, 1, 32), torch.randn(1, 1, 1, 32)

    def score(pq, pk):
        return (apply_rope(q, rope.rotation(torch.tensor([pq]))) * apply_rope(k, rope.rotation(torch.tensor([pk])))).sum()

    assert torch.allclose(score(200.0, 150.0), score(50.0, 0.0), atol=1e-4)
    assert not torch.allclose(score(200.0, 150.0), score(50.0, 10.0), atol=1e-3)
    k_at_100 = apply_rope(k, rope.rotation(torch.tensor([100.0])))
    slid = apply_rope(k_at_100, rope.rotation(torch.tensor([-48.0])))
    assert torch.allclose(slid, apply_rope(k, rope.rotation(torch.tensor([52.0]))), atol=1e-5)
