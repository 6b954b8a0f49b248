"""LMDM-layout checkpoints (the fork's saos_block_causal, saos_encdec, saos_arc_forcing_* configs) import, and our
uncached forward equals the fork's forward layout on the same weights; cached == uncached for a stream.

stable-audio-tools 0.0.19 has no LMDM layout, so the fork's forward is reproduced here from its code
(models/dit.py `_forward`, models/transformer.py `ContinuousTransformer.forward`) on stable-audio-tools' own modules:
context router `x * (1 - inpaint_mask)` after preprocess_conv, `to_input_add_embed` added after project_in, the
global token postpended with the RoPE table rolled by one (latents at positions 1..N, the token at 0), and the
block-causal / enc-dec self-attention mask through flex attention's block mask (eager here) as the fork trains it.
Depth 2 of the real widths."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lmdm_core.conditions import Conditions
from lmdm_core.dit import pack_input_add
from lmdm_core.pipeline import load_model
from lmdm_core.streaming import StreamingGenerator
from tests.reference.conftest import save_lmdm
from tests.reference.configs import PATTERNS, lmdm
from tests.reference.test_dit_parity import META, TOL, reference_inputs, rel

CHUNK, WINDOW, CONTEXT = 48, 240, 192


def mask_mod(pattern: str):
    """The fork's attention patterns over [240 latents | postpend token]: chunks of 48 from the window's start, the
    postpend token in the target chunk; block-causal: chunk j sees chunks j-3..j; enc-dec: context queries see
    context keys only."""
    def chunk(i):
        return torch.where(i >= WINDOW, WINDOW // CHUNK - 1, i // CHUNK)

    def block_causal(b, h, q, k):
        d = chunk(q) - chunk(k)
        return (d >= 0) & (d < 4)

    def enc_dec(b, h, q, k):
        return (q >= CONTEXT) | (k < CONTEXT)

    return block_causal if pattern == "block-causal" else enc_dec


def fork_forward(dt, add_embed: nn.Linear, x, t, inputs, input_add, pattern: str | None) -> torch.Tensor:
    """The fork's DiffusionTransformer._forward (no cache, no CFG) on stable-audio-tools 0.0.19 modules `dt`;
    pattern None: no self-attention mask (bidirectional)."""
    import stable_audio_tools.models.transformer as sat_transformer
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    n = x.shape[2]
    cross = dt.to_cond_embed(inputs["cross_attn_cond"])
    g = dt.to_global_embed(inputs["global_cond"]) + dt.to_timestep_embed(dt.timestep_features(t[:, None]))
    h = (dt.preprocess_conv(x) + x) * (1 - input_add[:, :1])                     # the context router
    h = dt.transformer.project_in(h.transpose(1, 2)) + add_embed(input_add.transpose(1, 2))
    h = torch.cat([h, g[:, None]], dim=1)                                         # postpend
    freqs, _ = dt.transformer.rotary_pos_emb.forward_from_seq_len(n + 1)
    rot = (torch.roll(freqs, shifts=-1, dims=0), 1.0)
    block_mask = None if pattern is None else create_block_mask(mask_mod(pattern), None, None, n + 1, n + 1,
                                                                device="cpu")
    compiled = sat_transformer.flex_attention_compiled
    sat_transformer.flex_attention_compiled = flex_attention                     # eager: no compile on the CPU
    try:
        for layer in dt.transformer.layers:
            h = layer(h, context=cross, rotary_pos_emb=rot, self_attention_block_mask=block_mask)
    finally:
        sat_transformer.flex_attention_compiled = compiled
    out = dt.transformer.project_out(h[:, :n]).transpose(1, 2)
    return dt.postprocess_conv(out) + out


@pytest.fixture(scope="module")
def weights(ref2):
    return ref2[0]


def _save_lmdm(ref, name: str, folder, split_qkv: bool) -> nn.Linear:
    return save_lmdm(ref, lmdm(name, depth=2, ae_channels=8), folder, split_qkv)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_lmdm_configs_import(weights, name, tmp_path):
    _save_lmdm(weights, name, tmp_path, split_qkv=name.endswith("encdec"))
    m = load_model(tmp_path)
    want = {"block-causal": "block_causal", "enc-dec": "encdec"}[PATTERNS[name]]
    assert (m.stream.attention, m.stream.context, m.stream.block) == (want, CONTEXT, CHUNK)
    assert m.dit.cfg.input_adds == {"context": 65} and not m.dit.cfg.cross_attn_mask
    assert m.numbers.cfg.values["seconds_total"] == pytest.approx(WINDOW * 2048 / 44100, abs=1e-3)


@pytest.mark.parametrize("pattern", ["block-causal", "enc-dec"])
def test_uncached_forward_is_the_forks(weights, pattern, tmp_path):
    name = "saos_block_causal" if pattern == "block-causal" else "saos_encdec"
    add = _save_lmdm(weights, name, tmp_path, split_qkv=pattern == "block-causal")
    m = load_model(tmp_path)
    x, t, tensors, inputs = reference_inputs(weights, n=WINDOW)
    x, t = x[:1], t[:1]
    inputs = {k: (v[:1] if v is not None else None) for k, v in inputs.items()}
    flag = torch.zeros(1, 1, WINDOW)
    flag[..., :CONTEXT] = 1
    clean = torch.randn(1, 64, WINDOW, generator=torch.Generator().manual_seed(8))
    input_add = pack_input_add(m.dit.cfg, flag, clean)
    with torch.no_grad():
        v_ref = fork_forward(weights.model.model, add, x, t, inputs, input_add, pattern)
        cond = m.numbers.condition(Conditions(tensors["prompt"][0][:1].float(), tensors["prompt"][1][:1]),
                                   {"seconds_total": META[0]["seconds_total"]})
        v = m.dit(x, t, cond, input_add, mode=m.stream.attention, block=CHUNK, window_chunks=m.stream.window_chunks)
    assert rel(v[..., CONTEXT:], v_ref[..., CONTEXT:]) <= TOL, rel(v[..., CONTEXT:], v_ref[..., CONTEXT:])
    assert rel(v, v_ref) <= TOL                      # context positions too: the same mask everywhere
    other = "enc-dec" if pattern == "block-causal" else "block-causal"
    with torch.no_grad():                            # and the pattern matters: the other one computes otherwise
        assert rel(v, fork_forward(weights.model.model, add, x, t, inputs, input_add, other)) > 1e-2


@pytest.mark.parametrize("name", ["saos_block_causal", "saos_encdec"])
def test_cached_equals_uncached(weights, name, tmp_path):
    """Two blocks of a stream under a T5-shaped prompt with seconds_total: the cached engine computes what the
    full masked forward computes."""
    _save_lmdm(weights, name, tmp_path, split_qkv=False)
    m = load_model(tmp_path)
    _, _, tensors, _ = reference_inputs(weights)
    cond = m.condition(Conditions(tensors["prompt"][0][:1].float(), tensors["prompt"][1][:1]))
    outs = []
    for cached in (True, False):
        m.sampler.steps = 2
        gen = StreamingGenerator(m.dit, m.stream, m.sampler, cached=cached, seed=3)
        gen.set_conditions(cond)
        outs.append(torch.cat([gen.next_block() for _ in range(2)], dim=2))
    assert rel(outs[0], outs[1]) <= 1e-4, rel(outs[0], outs[1])
