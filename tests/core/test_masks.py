"""Attention masks: what each mode lets a token see, checked on the mask and on the model's outputs."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.conditions import Conditions
from lmdm_core.masks import attention_mask, sequence_layout

from .conftest import make_model

BLOCK, W = 4, 3


def forward(model, x, t, add, mode, window_chunks=W):
    cond = Conditions.empty(x.shape[0], model.cfg)
    return model(x, t, cond, add, mode=mode, block=BLOCK, window_chunks=window_chunks)


def inputs(n_chunks, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = n_chunks * BLOCK
    lat = torch.randn(1, 64, n, generator=g)
    flag = torch.ones(1, 1, n)
    flag[..., -BLOCK:] = 0
    x = torch.randn(1, 64, n, generator=g) * (1 - flag)
    return x, torch.tensor([0.7]), lat, flag


def add_of(lat, flag):
    return torch.cat([flag, lat * flag], dim=1)


def test_mask_rules():
    lay = sequence_layout(4 * BLOCK, BLOCK)
    bc = attention_mask(lay, lay, "block_causal", 2)
    n = 4 * BLOCK
    # chunk 1 (tokens 4..7) sees chunks 0 and 1 only; the postpend token (last) sees the target and one chunk before
    assert bc[5, :8].all() and not bc[5, 8:].any()
    assert bc[-1, 2 * BLOCK:].all() and not bc[-1, :2 * BLOCK].any()
    assert not bc[:n - BLOCK, -1].any()          # only the target chunk sees the postpend token
    ed = attention_mask(lay, lay, "encdec", 2)
    assert ed[:n - BLOCK, :n - BLOCK].all() and not ed[:n - BLOCK, n - BLOCK:].any()
    assert ed[n - BLOCK:].all()
    assert attention_mask(lay, lay, "bidirectional", 2).all()
    with pytest.raises(ValueError):
        attention_mask(lay, lay, "sideways", 2)


def test_block_causal_later_change_leaves_earlier_blocks():
    model = make_model()
    x, t, lat, flag = inputs(6)
    base = forward(model, x, t, add_of(lat, flag), "block_causal")
    lat2 = lat.clone()
    lat2[..., 3 * BLOCK + 1] += 3.0                     # a latent in chunk 3
    out = forward(model, x, t, add_of(lat2, flag), "block_causal")
    diff = (out - base).abs().amax(dim=(0, 1))
    assert diff[:3 * BLOCK].max() == 0                  # earlier chunks untouched, bit for bit
    assert diff[3 * BLOCK:].max() > 1e-4                # the change itself and later chunks move
    # bidirectional attention, by contrast, lets it reach the earlier chunks
    b0 = forward(model, x, t, add_of(lat, flag), "bidirectional")
    b1 = forward(model, x, t, add_of(lat2, flag), "bidirectional")
    assert (b1 - b0)[..., :3 * BLOCK].abs().max() > 1e-4


def test_block_causal_outside_window():
    """Depth 1: the target sees only window_chunks chunks; depth 2 reaches 2*(window_chunks-1) chunks back."""
    one = make_model(depth=1)
    x, t, lat, flag = inputs(6)
    base = forward(one, x, t, add_of(lat, flag), "block_causal")
    far = lat.clone()
    far[..., 2 * BLOCK] += 3.0                          # chunk 2: outside the target's window (chunks 3..5)
    out = forward(one, x, t, add_of(far, flag), "block_causal")
    assert (out - base)[..., -BLOCK:].abs().max() == 0
    near = lat.clone()
    near[..., 3 * BLOCK] += 3.0                         # chunk 3: inside
    out = forward(one, x, t, add_of(near, flag), "block_causal")
    assert (out - base)[..., -BLOCK:].abs().max() > 1e-4
    two = make_model(depth=2)
    base = forward(two, x, t, add_of(lat, flag), "block_causal")
    out = forward(two, x, t, add_of(far, flag), "block_causal")
    assert (out - base)[..., -BLOCK:].abs().max() > 1e-4   # two layers reach it through chunk 3 and 4
    very_far = lat.clone()
    very_far[..., 0] += 3.0                             # chunk 0: beyond 2 layers * 2 chunks
    out = forward(two, x, t, add_of(very_far, flag), "block_causal")
    assert (out - base)[..., -BLOCK:].abs().max() == 0


def test_encdec_context_ignores_target_and_timestep():
    model = make_model()
    x, t, lat, flag = inputs(4)
    base = forward(model, x, t, add_of(lat, flag), "encdec")
    x2 = x.clone()
    x2[..., -1] += 3.0
    out = forward(model, x2, torch.tensor([0.2]), add_of(lat, flag), "encdec")
    assert (out - base)[..., :-BLOCK].abs().max() == 0
    assert (out - base)[..., -BLOCK:].abs().max() > 1e-4


def test_context_router_hides_noisy_input_on_context():
    model = make_model()
    x, t, lat, flag = inputs(4)
    base = forward(model, x, t, add_of(lat, flag), "bidirectional")
    x2 = x + torch.randn_like(x) * flag                 # noise only where the inpaint mask is 1
    out = forward(model, x2, t, add_of(lat, flag), "bidirectional")
    assert (out - base).abs().max() < 1e-5


def test_exit_layer_hidden_states():
    """exit_layer=k returns the latents' hidden states after layer k: a 1-layer model's output head applied to
    layer 0 of the 2-layer model with the same first layer gives the 1-layer model's velocity."""
    two, one = make_model(depth=2), make_model(depth=1)
    x, t, lat, flag = inputs(4)
    cond = Conditions.empty(1, two.cfg)
    h = two(x, t, cond, add_of(lat, flag), mode="block_causal", block=BLOCK, window_chunks=W, exit_layer=0)
    assert h.shape == (1, 4 * BLOCK, two.cfg.embed_dim)
    v1 = forward(one, x, t, add_of(lat, flag), "block_causal")
    assert torch.allclose(one.head(h), v1, atol=1e-5)
    assert not torch.allclose(two.head(h), forward(two, x, t, add_of(lat, flag), "block_causal"), atol=1e-3)
