"""The rollout's gradient reaches the weights only through the chosen step of each chunk, and never crosses chunks.

A probe wraps the DiT and records every call (which chunk, whether autograd was on) and, with a tensor hook on its
output, whether any gradient arrived there during backward.
"""
from __future__ import annotations

import torch
from torch import nn

from lmdm_core.arc.rollout import denoise_chunk, rollout, window_inputs
from lmdm_core.conditions import Conditions
from lmdm_core.sampler import sample_pingpong
from tests.arc.conftest import tiny_model


class Probe(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.cfg = model, model.cfg
        self.calls: list[dict] = []

    def forward(self, x, t, cond, input_add, **kw):
        rec = {"grad_enabled": torch.is_grad_enabled(), "got_grad": False}
        v = self.model(x, t, cond, input_add, **kw)
        if v.requires_grad:
            def hook(g, rec=rec):
                rec["got_grad"] = rec["got_grad"] or bool(g.abs().sum() > 0)
            v.register_hook(hook)
        self.calls.append(rec)
        return v


def _run(stream, seed=0, blocks=3, steps=5, kmax=4):
    model = tiny_model()
    probe = Probe(model)
    gen = torch.Generator().manual_seed(seed)
    context = torch.randn(2, model.cfg.io_channels, stream.context, generator=gen)
    cond = Conditions.empty(2, model.cfg)
    ro = rollout(probe, context, cond, stream, blocks, steps, kmax, gen)
    return model, probe, ro


def _per_chunk(calls, chosen):
    out, i = [], 0
    for k in chosen:
        out.append(calls[i:i + k])
        i += k
    assert i == len(calls)
    return out


def test_gradient_flows_only_through_the_chosen_step(stream):
    model, probe, ro = _run(stream, seed=3)
    assert all(1 <= k <= 4 for k in ro.chosen)
    assert len(set(ro.chosen)) > 1                                   # seed 3 draws different ks: the test covers both
    ro.latents[..., ro.context:].square().sum().backward()
    for k, calls in zip(ro.chosen, _per_chunk(probe.calls, ro.chosen)):
        assert len(calls) == k                                       # steps after k are skipped
        assert [c["grad_enabled"] for c in calls] == [False] * (k - 1) + [True]
        assert [c["got_grad"] for c in calls] == [False] * (k - 1) + [True]
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_next_chunk_context_is_detached(stream):
    _, probe, ro = _run(stream, seed=5)
    last = ro.context + (len(ro.chosen) - 1) * stream.block
    ro.latents[..., last:].sum().backward()                          # loss on the LAST chunk only
    chunks = _per_chunk(probe.calls, ro.chosen)
    assert not any(c["got_grad"] for calls in chunks[:-1] for c in calls)
    assert chunks[-1][-1]["got_grad"]


def test_no_gradient_rollout_builds_no_graph(stream):
    model = tiny_model()
    gen = torch.Generator().manual_seed(0)
    ro = rollout(model, torch.randn(2, 64, stream.context), Conditions.empty(2, model.cfg), stream, 2, 4, 3, gen,
                 grad=False)
    assert not ro.latents.requires_grad
    assert ro.latents.shape == (2, 64, stream.context + 2 * stream.block)


def test_all_steps_equal_the_ping_pong_sampler(stream):
    """With k = steps the chunk is the sampler's output for the same window and noise."""
    model = tiny_model().eval()
    ctx = torch.randn(1, 64, stream.context, generator=torch.Generator().manual_seed(1))
    cond = Conditions.empty(1, model.cfg)
    inputs = window_inputs(model, ctx, stream, None, stream.context)
    with torch.no_grad():
        ours = denoise_chunk(model, inputs, cond, stream, 4, 4, torch.Generator().manual_seed(7), grad=False)

        def velocity(x, t, i):
            full = torch.cat([x.new_zeros(1, 64, stream.context), x], dim=-1)
            return model(full, torch.full((1,), t), cond, inputs, mode=stream.attention, block=stream.block,
                         window_chunks=stream.window_chunks, window=stream.window)[..., -stream.block:]
        ref = sample_pingpong(velocity, (1, 64, stream.block), 4, torch.Generator().manual_seed(7))
    torch.testing.assert_close(ours, ref)


def test_window_inputs_mark_only_present_context(stream):
    model = tiny_model()
    history = torch.randn(1, 64, 10)                                  # shorter than the stream's context (24)
    add = window_inputs(model, history, stream, None, 10)
    flag = add[0, 0]
    assert flag[: stream.context - 10].sum() == 0 and flag[stream.context - 10: stream.context].sum() == 10
    assert flag[stream.context:].sum() == 0
    torch.testing.assert_close(add[0, 1:, stream.context - 10: stream.context], history[0])
