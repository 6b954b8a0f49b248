"""Import of Stable Audio Open Small (stable-audio-tools) checkpoints: key mapping, weight-norm folding, configs."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from lmdm_core.checkpoint import CheckpointError, load_into, save_checkpoint
from lmdm_core.config import AutoencoderConfig, DiTConfig, SamplerConfig, StreamConfig, TextConfig


def fold_weight_norm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace `X.weight_g` + `X.weight_v` (or `X.parametrizations.weight.original0/1`) by `X.weight = g·v/‖v‖`,
    the norm over every dim but 0 (torch's weight_norm default, also for ConvTranspose1d)."""
    out = dict(state)
    pairs = [(k[: -len(".weight_g")], ".weight_g", ".weight_v") for k in state if k.endswith(".weight_g")]
    pairs += [(k[: -len(".parametrizations.weight.original0")], ".parametrizations.weight.original0",
               ".parametrizations.weight.original1") for k in state if k.endswith(".parametrizations.weight.original0")]
    for base, g_key, v_key in pairs:
        g, v = out.pop(base + g_key), out.pop(base + v_key)
        norm = v.float().flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))
        out[base + ".weight"] = (g.float() * v.float() / norm).to(v.dtype)
    return out


@dataclass
class SaosConversion:
    configs: dict[str, Any]              # our config dataclasses
    tensors: dict[str, torch.Tensor]     # our prefixed keys (dit.*, autoencoder.*)
    unused: list[str]                    # SAOS keys with no place here (conditioners, ...)


_SAOS_PREFIXES = {"model.model.": "dit.", "pretransform.model.": "autoencoder."}


def convert_saos(state: Mapping[str, torch.Tensor], model_config: Mapping[str, Any]) -> SaosConversion:
    """Map a stable-audio-tools SAOS/LMDM state dict + model_config.json onto our configs and key layout.

    `model.model.*` -> DiT (LMDM's split self-attention `to_q` + `to_kv` is fused into `to_qkv`),
    `pretransform.model.*` -> autoencoder (weight norm folded); everything else (conditioners) is reported unused.
    """
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    configs = saos_configs(model_config)
    tensors, unused = {}, []
    for k, v in state.items():
        for theirs, ours in _SAOS_PREFIXES.items():
            if k.startswith(theirs):
                tensors[ours + k[len(theirs):]] = v
                break
        else:
            unused.append(k)
    tensors = _fuse_self_qkv(fold_weight_norm(tensors))
    return SaosConversion(configs, tensors, sorted(unused))


def _fuse_self_qkv(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for k in [k for k in tensors if k.endswith(".self_attn.to_q.weight")]:
        base = k[: -len("to_q.weight")]
        if base + "to_kv.weight" in tensors:
            tensors[base + "to_qkv.weight"] = torch.cat([tensors.pop(k), tensors.pop(base + "to_kv.weight")], dim=0)
    return tensors


def saos_configs(mc: Mapping[str, Any]) -> dict[str, Any]:
    """Our dit/stream/sampler/autoencoder/text configs from a stable-audio-tools model_config.json."""
    model = mc.get("model", {})
    pre = model.get("pretransform", {}).get("config", {})
    enc, dec = pre.get("encoder", {}).get("config", {}), pre.get("decoder", {}).get("config", {})
    ae = AutoencoderConfig(audio_channels=int(pre.get("io_channels", mc.get("audio_channels", 2))),
                           sample_rate=int(mc.get("sample_rate", 44100)),
                           channels=int(dec.get("channels", 128)), c_mults=list(dec.get("c_mults", [1, 2, 4, 8, 16])),
                           strides=list(dec.get("strides", [2, 4, 4, 8, 8])),
                           latent_dim=int(pre.get("latent_dim", dec.get("latent_dim", 64))),
                           use_snake=bool(dec.get("use_snake", False)), final_tanh=bool(dec.get("final_tanh", True)),
                           latent_scale=float(model.get("pretransform", {}).get("scale", 1.0)))
    if enc and int(enc.get("latent_dim", 2 * ae.latent_dim)) != 2 * ae.latent_dim:
        raise CheckpointError(f"encoder latent_dim {enc.get('latent_dim')} is not 2 x {ae.latent_dim} (VAE)")
    diff = model.get("diffusion", {})
    d = diff.get("config", {})
    embed, heads = int(d.get("embed_dim", 1024)), int(d.get("num_heads", 8))
    prompt = next((c for c in model.get("conditioning", {}).get("configs", []) if c.get("type") == "t5"), {})
    max_tokens = int(prompt.get("config", {}).get("max_length", 64))
    dit = DiTConfig(io_channels=int(d.get("io_channels", 64)), embed_dim=embed, depth=int(d.get("depth", 16)),
                    num_heads=heads, ff_mult=int(d.get("ff_kwargs", {}).get("mult", 4)),
                    rope_dims=max((embed // heads) // 2, 32),
                    cond_token_dim=int(d.get("cond_token_dim", 768)), max_cond_tokens=max_tokens,
                    global_cond_dim=int(d.get("global_cond_dim", 0)),
                    timestep_features=int(d.get("timestep_features_dim", 256)),
                    input_adds=_input_adds(d.get("input_add_dims") or diff.get("input_add_ids") or []))
    mask = mc.get("training", {}).get("inpainting", {}).get("mask_kwargs", {})
    window = int(mc.get("sample_size", 491520)) // ae.hop
    block = int(mask.get("block_causal_chunk_size", 48))
    pattern = str(mask.get("context_router_attention_pattern", "block-causal")).replace("-", "_")
    stream = StreamConfig(context=max(window - block, 0), block=block,
                          window_chunks=int(mask.get("block_causal_window_chunks", 4)),
                          attention={"enc_dec": "encdec"}.get(pattern, pattern))
    text = TextConfig(kind="t5", dim=dit.cond_token_dim, max_tokens=max_tokens)
    return {"dit": dit, "stream": stream, "sampler": SamplerConfig(), "autoencoder": ae, "text": text}


def _input_adds(groups: list) -> dict[str, int]:
    """SAOS input_add_dims [[name, ch], ...] -> ours; inpaint_mask + inpaint_masked_input become "context"."""
    out: dict[str, int] = {}
    for name, ch in groups:
        if name in ("inpaint_mask", "inpaint_masked_input"):
            out["context"] = out.get("context", 0) + int(ch)
        else:
            out[str(name)] = int(ch)
    return out


def add_context_input(conv: SaosConversion) -> None:
    """Give a plain SAOS DiT (no input-add groups) LMDM's "context" group with a zero-initialised projection, so it
    computes exactly what SAOS did until fine-tuned (the stage-1 starting point)."""
    dit = conv.configs["dit"]
    if "context" in dit.input_adds:
        return
    if dit.input_adds:
        raise CheckpointError(f"cannot add a context input next to existing groups {sorted(dit.input_adds)}")
    dit.input_adds = {"context": dit.io_channels + 1}
    ref = conv.tensors["dit.transformer.project_in.weight"]
    conv.tensors["dit.to_input_add_embed.weight"] = ref.new_zeros(dit.embed_dim, dit.io_channels + 1)


def convert_saos_files(model_config: str | Path, weights: str | Path, out: str | Path, add_context: bool = True,
                       dtype: torch.dtype | None = None) -> SaosConversion:
    """SAOS `model_config.json` + `.ckpt`/`.safetensors` -> an lmdm checkpoint directory, checked by a strict load."""
    from lmdm_core.autoencoder import Autoencoder
    from lmdm_core.dit import DiT

    for f in (Path(model_config), Path(weights)):
        if not f.is_file():
            raise FileNotFoundError(f"not found: {f}")
    mc = json.loads(Path(model_config).read_text())
    if str(weights).endswith(".safetensors"):
        state = load_file(str(weights))
    else:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
    conv = convert_saos(state, mc)
    if add_context:
        add_context_input(conv)
    modules = {"dit": DiT(conv.configs["dit"]), "autoencoder": Autoencoder(conv.configs["autoencoder"])}
    load_into(modules, conv.tensors, str(weights))
    save_checkpoint(out, modules, conv.configs, meta={"converted_from": str(weights), "unused_keys": len(conv.unused)},
                    dtype=dtype)
    return conv
