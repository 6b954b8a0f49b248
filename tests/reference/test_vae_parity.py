"""The Oobleck VAE of SAOS built by stable-audio-tools from its published config (seeded random weights, weight-normed
convolutions as it stores them), loaded through `load_model`: encode (the VAE mean) and decode agree with the
reference within 2x the reference's own fp32-vs-float64 error, and to float64 rounding in float64. The published
c_mults, strides, snake activations and latent sizes; channels 32 instead of 128 (CPU time)."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.checkpoint import section
from lmdm_core.pipeline import load_model
from lmdm_core.saos import convert_saos
from tests.reference.conftest import build, save
from tests.reference.configs import saos_base
from tests.reference.test_dit_parity import rel


@pytest.fixture(scope="module")
def vaes(sat, tmp_path_factory):
    mc = saos_base(depth=1, ae_channels=32)
    mc["model"]["diffusion"]["config"] |= {"embed_dim": 64, "num_heads": 2}
    ref = build(sat, mc, seed=11)
    folder = tmp_path_factory.mktemp("vae")
    save(ref, mc, folder)
    ours = load_model(folder).autoencoder
    # float64: the same seed gives the same weights (weight-normed modules cannot be deep-copied); our float64 copy
    # converts the float64 state dict, so weight norm is folded in float64 too
    ref64 = build(sat, mc, seed=11).double()
    conv = convert_saos(ref64.state_dict(), mc)
    ours64 = Autoencoder(conv.configs["autoencoder"]).double()
    ours64.load_state_dict(section(conv.tensors, "autoencoder"))
    return ref.pretransform.model, ref64.pretransform.model, ours, ours64.eval()


def _ref_encode(ae, audio):
    """The reference's deterministic encoding: the encoder's mean (the VAE bottleneck samples around it)."""
    return ae.encode(audio, skip_bottleneck=True).chunk(2, dim=1)[0]


def test_decode_matches_the_reference(vaes):
    theirs, theirs64, ours, ours64 = vaes
    z = torch.randn(1, 64, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y64 = theirs64.decode(z.double())
        own_error = rel(theirs.decode(z).double(), y64)
        assert rel(ours.decode(z).double(), y64) <= 2 * own_error
        assert rel(ours64.decode(z.double()), y64) <= 1e-10
    assert own_error > 0


def test_encode_matches_the_reference(vaes):
    theirs, theirs64, ours, ours64 = vaes
    audio = 0.5 * torch.randn(1, 2, 2048 * 6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        m64 = _ref_encode(theirs64, audio.double())
        own_error = rel(_ref_encode(theirs, audio).double(), m64)
        assert rel(ours.encode(audio).double(), m64) <= 2 * own_error
        assert rel(ours64.encode(audio.double()), m64) <= 1e-10
    assert own_error > 0
