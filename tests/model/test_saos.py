"""convert_saos on a synthetic stable-audio-tools state dict built from our own modules, renamed into SAOS layout."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lmdm_core.checkpoint import CheckpointError, load_into, read_checkpoint, save_checkpoint
from lmdm_core.saos import convert_saos
from lmdm_core.t5 import T5Unavailable
from lmdm_core.conditions import Conditions
from lmdm_core.pipeline import build_model


# A shrunken copy of LMDM's saos_block_causal.json (same keys, tiny sizes).
MODEL_CONFIG = {
    "model_type": "diffusion_cond", "sample_size": 32 * 2048, "sample_rate": 44100, "audio_channels": 2,
    "model": {
        "pretransform": {"type": "autoencoder", "config": {
            "encoder": {"type": "oobleck", "config": {"in_channels": 2, "channels": 8, "c_mults": [1, 2, 2, 4, 4],
                                                      "strides": [2, 4, 4, 8, 8], "latent_dim": 128,
                                                      "use_snake": True}},
            "decoder": {"type": "oobleck", "config": {"out_channels": 2, "channels": 8, "c_mults": [1, 2, 2, 4, 4],
                                                      "strides": [2, 4, 4, 8, 8], "latent_dim": 64,
                                                      "use_snake": True, "final_tanh": False}},
            "bottleneck": {"type": "vae"}, "latent_dim": 64, "downsampling_ratio": 2048, "io_channels": 2}},
        "conditioning": {"configs": [{"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base",
                                                                               "max_length": 8}},
                                     {"id": "seconds_total", "type": "number", "config": {"min_val": 0,
                                                                                          "max_val": 256}}],
                         "cond_dim": 32},
        "diffusion": {"type": "dit", "cross_attention_cond_ids": ["prompt", "seconds_total"],
                      "global_cond_ids": ["seconds_total"], "input_add_ids": [["inpaint_mask", 1], ["inpaint_masked_input", 64]],
                      "config": {"io_channels": 64, "embed_dim": 64, "depth": 2, "num_heads": 2,
                                 "cond_token_dim": 32, "global_cond_dim": 32, "postpend": True,
                                 "timestep_features_dim": 16,
                                 "input_add_dims": [["inpaint_mask", 1], ["inpaint_masked_input", 64]],
                                 "transformer_type": "continuous_transformer", "attn_kwargs": {"qk_norm": "ln"}}},
        "io_channels": 64},
    "training": {"inpainting": {"mask_kwargs": {"context_router_attention_pattern": "block-causal",
                                                "block_causal_chunk_size": 8, "block_causal_window_chunks": 3}}},
}
# stable-audio-tools' names of the seconds_total NumberConditioner's weights
CONDITIONER_KEYS = ["conditioner.conditioners.seconds_total.embedder.embedding.0.weights",
                    "conditioner.conditioners.seconds_total.embedder.embedding.1.bias",
                    "conditioner.conditioners.seconds_total.embedder.embedding.1.weight"]
STRAY = "model_ema.step"       # a key with no place here, reported unused


def _saos_state(dit: nn.Module, ae: nn.Module, numbers: nn.Module, text: nn.Module) -> dict[str, torch.Tensor]:
    """Our weights under SAOS names: convs weight-normed (g, v), layer 0 self-attention split as LMDM stores it, the
    T5 conditioner's projection (t5-base's 768 -> cond_dim 32: stable-audio-tools projects whenever they differ)."""
    g = torch.Generator().manual_seed(5)
    out = {}
    for k, v in dit.state_dict().items():
        if k == "transformer.layers.0.self_attn.to_qkv.weight":
            d = v.shape[1]
            out["model.model.transformer.layers.0.self_attn.to_q.weight"] = v[:d].clone()
            out["model.model.transformer.layers.0.self_attn.to_kv.weight"] = v[d:].clone()
        else:
            out["model.model." + k] = v.clone()
    convs = {name for name, m in ae.named_modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))}
    for k, v in ae.state_dict().items():
        base = k[: -len(".weight")]
        if k.endswith(".weight") and base in convs:
            scale = torch.rand(v.shape[0], *([1] * (v.ndim - 1)), generator=g) + 0.5   # v is any rescaled weight
            out[f"pretransform.model.{base}.weight_v"] = v * scale
            out[f"pretransform.model.{base}.weight_g"] = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))
        else:
            out["pretransform.model." + k] = v.clone()
    for k, v in numbers.state_dict().items():
        out["conditioner." + k] = v.clone()
    for k, v in text.state_dict().items():
        out["conditioner.conditioners.prompt." + k] = v.clone()
    out[STRAY] = torch.zeros(1)
    return out


def _weighted(model) -> dict[str, nn.Module]:
    """The modules a SAOS conversion fills (T5 itself is not in the checkpoint: the text module holds only the
    projection after it)."""
    return dict(model.modules())


@pytest.fixture(scope="module")
def converted():
    from lmdm_core.saos import saos_configs
    torch.manual_seed(1)
    ref = build_model(saos_configs(MODEL_CONFIG), "reference")
    return ref, convert_saos(_saos_state(ref.dit, ref.autoencoder, ref.numbers, ref.text), MODEL_CONFIG)


def test_configs_follow_model_config(converted):
    _, conv = converted
    dit, ae, stream, text = (conv.configs[s] for s in ("dit", "autoencoder", "stream", "text"))
    assert (dit.embed_dim, dit.depth, dit.num_heads, dit.cond_token_dim, dit.global_cond_dim) == (64, 2, 2, 32, 32)
    assert dit.input_adds == {"context": 65} and dit.max_cond_tokens == 9 and dit.rope_dims == 32
    assert not dit.cross_attn_mask                    # stable-audio-tools attends to the padding too
    assert (ae.channels, ae.c_mults, ae.latent_dim, ae.use_snake, ae.final_tanh) == (8, [1, 2, 2, 4, 4], 64, True,
                                                                                      False)
    assert (stream.context, stream.block, stream.window_chunks, stream.attention) == (24, 8, 3, "block_causal")
    assert (text.kind, text.dim, text.max_tokens) == ("t5", 32, 8)
    assert (text.t5_model, text.t5_dim) == ("t5-base", 768)     # T5_MODEL_DIMS: a projection 768 -> 32 follows


def test_conversion_reproduces_the_modules(converted):
    ref, conv = converted
    assert conv.unused == [STRAY]
    assert sorted(k for k in conv.tensors if k.startswith("numbers.")) == sorted(
        "numbers." + k[len("conditioner."):] for k in CONDITIONER_KEYS)
    fresh = build_model(conv.configs, "converted")
    load_into(_weighted(fresh), conv.tensors, "SAOS")
    g = torch.Generator().manual_seed(2)
    z = torch.randn(1, 64, 3, generator=g)
    x = torch.randn(1, 64, 8, generator=g)
    cond = Conditions(torch.randn(1, 4, 32, generator=g), torch.ones(1, 4, dtype=torch.bool),
                      torch.randn(1, 32, generator=g))
    with torch.no_grad():
        assert torch.allclose(fresh.autoencoder.decode(z), ref.autoencoder.decode(z), atol=1e-5)
        audio = ref.autoencoder.decode(z)
        assert torch.allclose(fresh.autoencoder.encode(audio), ref.autoencoder.encode(audio), atol=1e-5)
        t = torch.full((1,), 0.3)
        assert torch.allclose(fresh.dit(x, t, cond), ref.dit(x, t, cond), atol=1e-5)


def test_converted_weights_save_as_an_lmdm_checkpoint(converted, tmp_path):
    _, conv = converted
    fresh = build_model(conv.configs, "converted")
    load_into(_weighted(fresh), conv.tensors, "SAOS")
    save_checkpoint(tmp_path / "ck", _weighted(fresh), conv.configs)
    ck = read_checkpoint(tmp_path / "ck")
    assert ck.configs["text"].kind == "t5" and set(ck.tensors) == set(conv.tensors)


def test_unfoldable_state_is_reported(converted):
    ref, conv = converted
    broken = dict(conv.tensors)
    del broken["autoencoder.decoder.layers.1.layers.1.weight"]
    fresh = build_model(conv.configs, "converted")
    with pytest.raises(CheckpointError, match="missing key autoencoder.decoder.layers.1.layers.1.weight"):
        load_into(_weighted(fresh), broken, "SAOS")


@pytest.mark.parametrize("make", [nn.Conv1d, nn.ConvTranspose1d])
def test_fold_matches_torch_weight_norm(make):
    """Both torch spellings of weight norm (old weight_g/_v and parametrizations) fold to the weight torch uses."""
    import warnings

    from lmdm_core.saos import fold_weight_norm
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = nn.utils.weight_norm(make(4, 3, 5))
    new = nn.utils.parametrizations.weight_norm(make(4, 3, 5))
    for m in (old, new):
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.rand_like(p))      # g no longer equals ‖v‖
        sd = {f"conv.{k}": v for k, v in m.state_dict().items()}
        folded = fold_weight_norm(sd)
        assert set(folded) == {"conv.weight", "conv.bias"}
        x = torch.randn(1, 4, 16)
        plain = make(4, 3, 5)
        plain.load_state_dict({k[len("conv."):]: v for k, v in folded.items()})
        with torch.no_grad():
            assert torch.allclose(plain(x), m(x), atol=1e-5)


def test_plain_saos_files_convert_to_a_streamable_checkpoint(tmp_path):
    """Files on disk -> `lmdm convert-saos` -> load_model: the added context input starts at zero, so the DiT
    computes what SAOS computed; the stream then runs on the T5 text encoder."""
    import copy
    import json

    import numpy as np
    from click.testing import CliRunner
    from safetensors.torch import save_file

    from bridge.cli import main
    from lmdm_core.saos import saos_configs
    from lmdm_core.pipeline import AudioStream, load_model

    mc = copy.deepcopy(MODEL_CONFIG)
    for d in (mc["model"]["diffusion"], mc["model"]["diffusion"]["config"]):
        d.pop("input_add_ids", None), d.pop("input_add_dims", None)
    torch.manual_seed(4)
    ref = build_model(saos_configs(mc), "reference")
    assert ref.dit.cfg.input_adds == {}
    (tmp_path / "model_config.json").write_text(json.dumps(mc))
    save_file(_saos_state(ref.dit, ref.autoencoder, ref.numbers, ref.text), str(tmp_path / "model.safetensors"))
    res = CliRunner().invoke(main, ["convert-saos", str(tmp_path / "model_config.json"),
                                    str(tmp_path / "model.safetensors"), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "unused SAOS keys (1)" in res.output
    m = load_model(tmp_path / "out")
    assert m.dit.cfg.input_adds == {"context": 65} and m.text.cfg.kind == "t5"
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 64, 8, generator=g)
    cond = Conditions(torch.randn(1, 4, 32, generator=g), torch.ones(1, 4, dtype=torch.bool),
                      torch.randn(1, 32, generator=g))
    add = torch.randn(1, 65, 8, generator=g)
    add[:, 0] = 0                                              # no context frames: the router passes x through
    with torch.no_grad():
        t = torch.full((1,), 0.7)
        assert torch.allclose(m.dit(x, t, cond, add), ref.dit(x, t, cond), atol=1e-5)
    s = AudioStream(m, seed=0)
    s.set_param("steps", 1)
    # the prompt goes through T5 (here one that is not on the machine): refused in one line, the stream goes on
    assert m.text.t5.source == "t5-base"
    m.text.use("lmdm-tests/absent-t5")
    with pytest.raises(T5Unavailable, match="hf download lmdm-tests/absent-t5"):
        s.set_param("prompt", "warm strings")
    out = s.process(np.zeros((2, s.block_samples), np.float32))
    assert out.shape == (2, s.block_samples) and np.isfinite(out).all()


def test_missing_saos_files_are_named(tmp_path):
    from lmdm_core.saos import convert_saos_files
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "model_config.json")):
        convert_saos_files(tmp_path / "model_config.json", tmp_path / "model.ckpt", tmp_path / "out")
