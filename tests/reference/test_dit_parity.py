"""Stable Audio Open Small built by stable-audio-tools' own factory from its published config, seeded random weights,
saved as stable-audio-tools ships it, loaded through `load_model` (what `lmdm serve --model` runs): the DiT's velocity
matches the reference's in fp32 under real conditioning (stable-audio-tools' own conditioner: T5 tokens zero-padded
to 64 + the seconds_total token, and the global vector). Depth 2 of the real widths; one full-size forward."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.conditions import Conditions
from lmdm_core.pipeline import load_model
from lmdm_core.saos import convert_saos
from tests.reference.conftest import build, save
from tests.reference.configs import saos_base

TOL = 1e-4
META = [{"prompt": "warm strings", "seconds_total": 11.1}, {"prompt": "dark ambient pad fast", "seconds_total": 30.0}]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def reference_inputs(ref, n: int = 48, seed: int = 3):
    """Noisy latents, t and the conditioning exactly as stable-audio-tools builds it for META."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(META), 64, n, generator=g)
    t = torch.tensor([0.83, 0.21])
    with torch.no_grad():
        tensors = ref.conditioner(META, "cpu")
    return x, t, tensors, ref.get_conditioning_inputs(tensors)


def our_velocity(m, x, t, tensors, secs=None):
    """Our path: the T5 tokens in, the model's own number conditioner adds seconds_total (token + global)."""
    tokens, mask = tensors["prompt"]
    cond = m.numbers.condition(Conditions(tokens.float(), mask),
                               {"seconds_total": secs} if secs is not None else None)
    add = torch.zeros(x.shape[0], m.dit.input_add_channels, x.shape[2])
    with torch.no_grad():
        return m.dit(x, t, cond, add), cond


@pytest.fixture(scope="module")
def saos(ref2, tmp_path_factory):
    ref, mc = ref2
    folder = tmp_path_factory.mktemp("saos")
    save(ref, mc, folder / "st", "safetensors")
    save(ref, mc, folder / "ck", "ckpt")
    return ref, folder


@pytest.mark.parametrize("fmt", ["st", "ck"])
def test_saos_velocity_matches_the_reference(saos, fmt):
    ref, folder = saos
    m = load_model(folder / fmt)
    assert m.stream.attention == "bidirectional" and not m.dit.cfg.cross_attn_mask
    assert m.dit.cfg.rope_base == 1e6 and m.dit.cfg.max_cond_tokens == 65
    x, t, tensors, inputs = reference_inputs(ref)
    with torch.no_grad():
        v_ref = ref.model(x, t, **inputs)
    secs = torch.tensor([mt["seconds_total"] for mt in META])
    # per row the seconds of META: run each row with its own value
    v = torch.cat([our_velocity(m, x[i:i + 1], t[i:i + 1], {"prompt": [p[i:i + 1] for p in tensors["prompt"]]},
                                float(secs[i]))[0] for i in range(len(META))])
    assert rel(v, v_ref) <= TOL, rel(v, v_ref)


def test_number_conditioner_matches(saos):
    """seconds_total: the same embedding as the reference's NumberConditioner, as the 65th token and the global."""
    ref, folder = saos
    m = load_model(folder / "st")
    _, _, tensors, inputs = reference_inputs(ref)
    for i, meta in enumerate(META):
        emb = m.numbers.embed({"seconds_total": meta["seconds_total"]}, 1)["seconds_total"]
        assert rel(emb, tensors["seconds_total"][0][i, 0]) <= 1e-6
        assert rel(emb[0], inputs["global_cond"][i]) <= 1e-6


def test_masking_the_padding_would_diverge(saos):
    """The rule matters: with lmdm's own rule (padding masked out) the same weights compute something else."""
    ref, folder = saos
    m = load_model(folder / "st")
    x, t, tensors, inputs = reference_inputs(ref)
    m.dit.cfg.cross_attn_mask = True
    try:
        v, _ = our_velocity(m, x[:1], t[:1], {"prompt": [p[:1] for p in tensors["prompt"]]}, META[0]["seconds_total"])
    finally:
        m.dit.cfg.cross_attn_mask = False
    with torch.no_grad():
        v_ref = ref.model(x[:1], t[:1], **{k: (v_[:1] if v_ is not None else None) for k, v_ in inputs.items()})
    assert rel(v, v_ref) > 1e-2


def test_full_size_saos_dit_forward(sat):
    """All 16 layers of SAOS's DiT (341 M parameters): the in-memory conversion of the state dict computes the
    reference's velocity (a tiny autoencoder stands in: this is the DiT's check)."""
    from lmdm_core.checkpoint import section
    from lmdm_core.pipeline import build_model

    mc = saos_base(depth=16, ae_channels=4)
    ref = build(sat, mc, seed=2)
    conv = convert_saos(ref.state_dict(), mc)
    with torch.device("meta"):                         # no init of 341 M parameters: the state dict is assigned
        m = build_model(conv.configs, "full-size")
    for name, mod in m.modules().items():
        if name != "text":
            mod.load_state_dict(section(conv.tensors, name), strict=True, assign=True)
    m.dit.eval()
    assert sum(p.numel() for p in m.dit.parameters()) > 3.4e8
    x, t, tensors, inputs = reference_inputs(ref, n=16)
    with torch.no_grad():
        v_ref = ref.model(x[:1], t[:1], **{k: (v_[:1] if v_ is not None else None) for k, v_ in inputs.items()})
        cond = m.numbers.condition(Conditions(tensors["prompt"][0][:1].float(), tensors["prompt"][1][:1]),
                                   {"seconds_total": META[0]["seconds_total"]})
        v = m.dit(x[:1], t[:1], cond)
    assert rel(v, v_ref) <= TOL, rel(v, v_ref)
