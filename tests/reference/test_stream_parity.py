"""A whole 4-block naive-outpainting stream (bidirectional attention over [192 context | 48 target], uncached) of an
LMDM-layout checkpoint against stable-audio-tools' own ping-pong sampler (`sample_rf(..., sampler_type="pingpong")`,
its logSNR schedule) driving the fork's forward, with the same noise: the context handed from block to block as
stable-audio-tools' inpainting inputs (`inpaint_mask`, `inpaint_masked_input`). Depth 2 of the real widths, 2 steps (ping-pong re-noising once per block)."""
from __future__ import annotations

from unittest import mock

import torch

from lmdm_core.conditions import Conditions
from lmdm_core.pipeline import load_model
from lmdm_core.sampler import draw_noise
from lmdm_core.streaming import StreamingGenerator
from tests.reference.conftest import save_lmdm
from tests.reference.configs import lmdm
from tests.reference.test_dit_parity import META, reference_inputs, rel
from tests.reference.test_lmdm_parity import fork_forward

BLOCKS, STEPS, SEED = 4, 2, 3


def reference_stream(ref, add, inputs, context: int, block: int) -> torch.Tensor:
    """stable-audio-tools' sampler, one block at a time, the generated latents becoming the next block's context."""
    from stable_audio_tools.inference.sampling import sample_rf

    g = torch.Generator().manual_seed(SEED)
    made = torch.zeros(1, 64, 0)
    for _ in range(BLOCKS):
        noise = draw_noise((1, 64, block), STEPS, g)        # the draws our generator makes, in its order
        ctx = torch.zeros(1, 64, context)
        mask = torch.zeros(1, 1, context + block)
        n = min(made.shape[2], context)
        if n:
            ctx[..., context - n:] = made[..., -n:]
            mask[..., context - n:context] = 1
        input_add = torch.cat([mask, torch.cat([ctx, torch.zeros(1, 64, block)], 2) * mask], dim=1)

        def model_fn(x, t):
            full = torch.cat([ctx, x], dim=2)
            return fork_forward(ref.model.model, add, full, t, inputs, input_add, None)[..., context:]

        later = iter(list(noise[1:]) + [torch.zeros(1, 64, block)])   # its re-noising; the last one is scaled by 0
        with mock.patch("torch.randn_like", lambda x: next(later)), torch.no_grad():
            y = sample_rf(model_fn, noise[0], steps=STEPS, sampler_type="pingpong", device="cpu")
        made = torch.cat([made, y], dim=2)
    return made


def test_naive_outpainting_stream_matches_the_references_sampler(ref2, tmp_path):
    mc = lmdm("saos_block_causal", depth=2, ae_channels=8)
    mc["training"]["inpainting"]["mask_kwargs"]["context_router_attention_pattern"] = "bidirectional"
    ref = ref2[0]
    add = save_lmdm(ref, mc, tmp_path)
    m = load_model(tmp_path)
    assert m.stream.attention == "bidirectional"
    _, _, tensors, inputs = reference_inputs(ref)
    inputs = {k: (v[:1] if v is not None else None) for k, v in inputs.items()}
    m.sampler.steps = STEPS
    gen = StreamingGenerator(m.dit, m.stream, m.sampler, cached=False, seed=SEED)
    gen.set_conditions(m.numbers.condition(Conditions(tensors["prompt"][0][:1].float(), tensors["prompt"][1][:1]),
                                           {"seconds_total": META[0]["seconds_total"]}))
    ours = torch.cat([gen.next_block() for _ in range(BLOCKS)], dim=2)
    theirs = reference_stream(ref, add, inputs, m.stream.context, m.stream.block)
    for b in range(BLOCKS):                      # block by block: an error would grow through the context
        sl = slice(b * m.stream.block, (b + 1) * m.stream.block)
        assert rel(ours[..., sl], theirs[..., sl]) <= 1e-4, (b, rel(ours[..., sl], theirs[..., sl]))
