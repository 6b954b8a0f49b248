"""Autoencoder shapes (tiny, SAOS and v2 sizes), receptive field, exact block-by-block streaming, v1 still loading."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.autoencoder import Autoencoder, Snake
from lmdm_core.config import autoencoder_preset


@pytest.fixture(scope="module")
def tiny() -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(autoencoder_preset("tiny")).eval()


@pytest.fixture(scope="module", params=["tiny", "embedded-v2"])
def streamed(request) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(autoencoder_preset(request.param)).eval()


def _snakes(m: torch.nn.Module) -> int:
    return sum(isinstance(x, Snake) for x in m.modules())


def test_v2_preset_geometry_and_snake_only_in_the_decoder():
    ae = Autoencoder(autoencoder_preset("embedded-v2"))
    assert (ae.sample_rate, ae.hop, ae.audio_channels, ae.latent_dim) == (44100, 2048, 2, 64)
    assert 48 * ae.hop / ae.sample_rate == pytest.approx(2.229, abs=1e-3)     # the paper's block of 48 latents
    assert _snakes(ae.encoder) == 0 and _snakes(ae.decoder) > 0
    assert any(isinstance(x, torch.nn.ELU) for x in ae.encoder.modules())


def test_a_v1_checkpoint_still_loads_with_elu_everywhere(tmp_path):
    """v1 (no longer shipped) wrote no `decoder_snake` key: such a checkpoint loads strictly, ELU everywhere."""
    import json
    import lmdm_core.pipeline as pipeline

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "WEIGHTS_DIR", tmp_path / "no-weights")
        m = pipeline.load_model(None)
    torch.manual_seed(0)
    m.autoencoder = Autoencoder(autoencoder_preset("embedded")).eval()     # v1's geometry
    m.save(tmp_path / "v1")
    cfg = json.loads((tmp_path / "v1" / "config.json").read_text())
    del cfg["autoencoder"]["decoder_snake"]
    (tmp_path / "v1" / "config.json").write_text(json.dumps(cfg))
    ae = pipeline.load_model(str(tmp_path / "v1")).autoencoder     # strict load: any key or shape change would raise
    assert ae.cfg.decoder_snake is None and _snakes(ae) == 0
    assert (ae.sample_rate, ae.hop, ae.latent_dim) == (22050, 1024, 32)
    with torch.no_grad():
        y = ae.decode(ae.encode(0.1 * torch.randn(1, 2, 8 * ae.hop)))
    assert y.shape == (1, 2, 8 * ae.hop) and torch.isfinite(y).all()


def test_tiny_shapes_and_properties(tiny):
    hop = tiny.hop
    assert (tiny.sample_rate, hop, tiny.audio_channels, tiny.latent_dim) == (44100, 2048, 2, 64)
    audio = torch.randn(2, 2, 3 * hop + 100)
    with torch.no_grad():
        z = tiny.encode(audio)
        y = tiny.decode(z)
    assert z.shape == (2, 64, 3)        # trailing 100 samples (less than a hop) are dropped
    assert y.shape == (2, 2, 3 * hop)
    assert torch.isfinite(y).all() and y.abs().max() > 0


def test_saos_shapes_on_short_input():
    torch.manual_seed(0)
    ae = Autoencoder(autoencoder_preset("saos")).eval()
    n_params = sum(p.numel() for p in ae.parameters())
    assert 150e6 < n_params < 160e6      # the SAOS Oobleck VAE is ~156M parameters
    assert ae.encoder.layers[-1].out_channels == 128    # mean and scale
    with torch.no_grad():
        z = ae.encode(torch.randn(1, 2, 2 * 2048))
        y = ae.decode(z)
    assert z.shape == (1, 64, 2) and y.shape == (1, 2, 4096)
    assert torch.isfinite(y).all()


def test_sampling_uses_the_scale_and_the_mean_is_deterministic(tiny):
    audio = torch.randn(1, 2, 4 * tiny.hop)
    with torch.no_grad():
        a, b = tiny.encode(audio), tiny.encode(audio)
        s1 = tiny.encode(audio, sample=True, generator=torch.Generator().manual_seed(1))
        s2 = tiny.encode(audio, sample=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and torch.equal(s1, s2)
    assert (s1 - a).abs().max() > 1e-3


def test_bad_shapes_are_refused(tiny):
    with pytest.raises(ValueError, match="encode expects audio"):
        tiny.encode(torch.randn(1, 1, 4096))
    with pytest.raises(ValueError, match="at least one hop"):
        tiny.encode(torch.randn(1, 2, 100))
    with pytest.raises(ValueError, match="decode expects latents"):
        tiny.decode(torch.randn(1, 32, 4))


def test_receptive_field_bounds_the_real_dependence(tiny):
    """A change in latent j moves decoder output only within the computed reach around j."""
    left, right = tiny.receptive_field()["decoder"]
    z = torch.randn(1, 64, 32)
    z2 = z.clone()
    z2[..., 16] += 1.0
    with torch.no_grad():
        d = (tiny.decode(z2) - tiny.decode(z)).abs()[0].amax(0)
    changed = torch.nonzero(d > 0).flatten()
    hop = tiny.hop
    assert changed.numel() > 0
    assert changed.min() >= (16 - right) * hop and changed.max() < (17 + left) * hop
    assert changed.min() < 16 * hop and changed.max() >= 17 * hop   # it really reaches both ways


def _stream(st, x, step):
    outs = [st.push(x[..., i:i + step]) for i in range(0, x.shape[-1], step)]
    y = torch.cat(outs, dim=-1)
    return torch.cat([y[..., st.latency:], st.flush()], dim=-1), outs


def test_streaming_decode_equals_whole_decode(streamed):
    ae = streamed
    z = torch.randn(2, 64, 30)
    with torch.no_grad():
        whole = ae.decode(z)
    st = ae.stream_decoder()
    y, outs = _stream(st, z, 6)
    assert all(o.shape == (2, 2, 6 * ae.hop) for o in outs)     # one block out per block in
    assert y.shape == whole.shape
    exact_err = (y - whole).abs().max().item()
    assert exact_err < 1e-5 * whole.abs().max().item() + 1e-6
    # without lookahead the block joins show: proves the comparison can fail
    y0, _ = _stream(ae.stream_decoder(lookahead=0), z, 6)
    assert (y0 - whole).abs().max().item() > 1e-2 * whole.abs().max().item()


def test_streaming_encode_equals_whole_encode(streamed):
    ae = streamed
    audio = torch.randn(1, 2, 24 * ae.hop) * 0.3
    with torch.no_grad():
        whole = ae.encode(audio)
    y, outs = _stream(ae.stream_encoder(lookahead=None), audio, 6 * ae.hop)
    assert all(o.shape == (1, 64, 6) for o in outs)
    assert (y - whole).abs().max().item() < 1e-5 * whole.abs().max().item() + 1e-6
    # too little left context breaks the match
    y1, _ = _stream(ae.stream_encoder(context=0, lookahead=None), audio, 6 * ae.hop)
    assert (y1 - whole).abs().max().item() > 1e-3 * whole.abs().max().item()


def test_stream_refuses_partial_blocks(tiny):
    with pytest.raises(ValueError, match="multiple of 2048"):
        tiny.stream_encoder().push(torch.randn(1, 2, 3000))


def test_skipped_blocks_still_serve_as_left_context(tiny):
    """skip() computes nothing but keeps the input: the next push equals the one after a real push, and matches
    the whole encode where the lookahead allows."""
    audio = torch.randn(1, 2, 24 * tiny.hop) * 0.3
    head, tail = audio[..., : 12 * tiny.hop], audio[..., 12 * tiny.hop:]
    with torch.no_grad():
        whole = tiny.encode(audio)
    skipped = tiny.stream_encoder(lookahead=0)
    skipped.skip(head)
    z = skipped.push(tail)
    pushed = tiny.stream_encoder(lookahead=0)
    pushed.push(head)
    assert torch.allclose(z, pushed.push(tail), atol=1e-6)
    exact = 12 - tiny.receptive_field()["encoder"][1]       # latents whose right reach stays inside the block
    assert torch.allclose(z[..., :exact], whole[..., 12:12 + exact], atol=1e-5)
    cold = tiny.stream_encoder(lookahead=0).push(tail)      # no history: the left edge differs
    assert not torch.allclose(cold[..., :exact], whole[..., 12:12 + exact], atol=1e-3)
