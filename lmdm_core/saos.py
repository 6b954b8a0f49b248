"""Import of Stable Audio Open Small (stable-audio-tools) checkpoints: key mapping, weight-norm folding, configs."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from lmdm_core.checkpoint import CONFIG_NAME, CheckpointError, load_into, save_checkpoint
from lmdm_core.config import AutoencoderConfig, DiTConfig, NumberConfig, SamplerConfig, StreamConfig, TextConfig

log = logging.getLogger(__name__)


# stable-audio-tools' T5Conditioner.T5_MODEL_DIMS: the width of each T5 it takes (the projection's input)
T5_WIDTHS = {"t5-small": 512, "t5-base": 768, "t5-large": 1024, "t5-3b": 1024, "t5-11b": 1024,
             "google/t5-v1_1-xl": 2048, "google/t5-v1_1-xxl": 4096, "google/flan-t5-small": 512,
             "google/flan-t5-base": 768, "google/flan-t5-large": 1024, "google/flan-t5-3b": 1024,
             "google/flan-t5-11b": 1024, "google/flan-t5-xl": 2048, "google/flan-t5-xxl": 4096}


def fold_weight_norm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace `X.weight_g` + `X.weight_v` (or `X.parametrizations.weight.original0/1`) by `X.weight = g·v/‖v‖`,
    the norm over every dim but 0 (torch's weight_norm default, also for ConvTranspose1d)."""
    out = dict(state)
    pairs = [(k[: -len(".weight_g")], ".weight_g", ".weight_v") for k in state if k.endswith(".weight_g")]
    pairs += [(k[: -len(".parametrizations.weight.original0")], ".parametrizations.weight.original0",
               ".parametrizations.weight.original1") for k in state if k.endswith(".parametrizations.weight.original0")]
    for base, g_key, v_key in pairs:
        g, v = out.pop(base + g_key), out.pop(base + v_key)
        wide = torch.promote_types(v.dtype, torch.float32)     # float32 at least; float64 stays float64
        norm = v.to(wide).flatten(1).norm(dim=1).view(-1, *([1] * (v.ndim - 1)))
        out[base + ".weight"] = (g.to(wide) * v.to(wide) / norm).to(v.dtype)
    return out


@dataclass
class SaosConversion:
    configs: dict[str, Any]              # our config dataclasses
    tensors: dict[str, torch.Tensor]     # our prefixed keys (dit.*, autoencoder.*)
    unused: list[str]                    # SAOS keys with no place here (conditioners, ...)


_SAOS_PREFIXES = {"model.model.": "dit.", "pretransform.model.": "autoencoder."}
_INV_FREQ = "model.model.transformer.rotary_pos_emb.inv_freq"


def convert_saos(state: Mapping[str, torch.Tensor], model_config: Mapping[str, Any]) -> SaosConversion:
    """Map a stable-audio-tools SAOS/LMDM state dict + model_config.json onto our configs and key layout.

    `model.model.*` -> DiT (LMDM's split self-attention `to_q` + `to_kv` is fused into `to_qkv`),
    `pretransform.model.*` -> autoencoder (weight norm folded), the number conditioners (seconds_total) -> numbers;
    everything else is reported unused (the T5 conditioner holds no weights in the state dict).
    """
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    configs = saos_configs(model_config)
    if _INV_FREQ in state:
        configs["dit"].rope_dims, configs["dit"].rope_base = rope_of(state[_INV_FREQ])
    prefixes = dict(_SAOS_PREFIXES)
    if "numbers" in configs:
        prefixes.update({f"conditioner.conditioners.{n}.": f"numbers.conditioners.{n}."
                         for n in configs["numbers"].ranges})
    prefixes["conditioner.conditioners.prompt.proj_out."] = "text.proj_out."   # T5 width -> cond_token_dim
    tensors, unused = {}, []
    for k, v in state.items():
        for theirs, ours in prefixes.items():
            if k.startswith(theirs):
                tensors[ours + k[len(theirs):]] = v
                break
        else:
            unused.append(k)
    tensors = _fuse_self_qkv(fold_weight_norm(tensors))
    return SaosConversion(configs, tensors, sorted(unused))


def rope_of(inv_freq: torch.Tensor) -> tuple[int, float]:
    """(rope_dims, base) of a RoPE `inv_freq` buffer (inv_freq[i] = base^(-2i/dims)); the base rounded to 6 digits,
    so a checkpoint's 1e6 reads as 1e6 and not as float32's 999996.3."""
    dims = 2 * int(inv_freq.numel())
    if dims < 4:
        raise CheckpointError(f"{_INV_FREQ}: {dims // 2} frequencies, need at least 2")
    base = float(inv_freq[1].double() ** (-dims / 2))
    return dims, float(f"{base:.6g}")


def _fuse_self_qkv(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for k in [k for k in tensors if k.endswith(".self_attn.to_q.weight")]:
        base = k[: -len("to_q.weight")]
        if base + "to_kv.weight" in tensors:
            tensors[base + "to_qkv.weight"] = torch.cat([tensors.pop(k), tensors.pop(base + "to_kv.weight")], dim=0)
    return tensors


def field_of(mc: Mapping[str, Any], path: str, default: Any = ...) -> Any:
    """model_config value at a dotted path from the root; CheckpointError names a missing required field."""
    node: Any = mc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if default is ...:
                raise CheckpointError(f"model_config.json lacks field {path!r}")
            return default
        node = node[part]
    return node


def saos_configs(mc: Mapping[str, Any]) -> dict[str, Any]:
    """Our dit/stream/sampler/autoencoder/text(/numbers) configs from a stable-audio-tools model_config.json."""
    if field_of(mc, "model_type") != "diffusion_cond":
        raise CheckpointError(f"model_config.json model_type {mc['model_type']!r}: lmdm imports 'diffusion_cond'")
    pre = field_of(mc, "model.pretransform.config")
    dec = field_of(mc, "model.pretransform.config.decoder.config")
    ae = AutoencoderConfig(audio_channels=int(field_of(mc, "model.pretransform.config.io_channels", mc.get("audio_channels", 2))),
                           sample_rate=int(field_of(mc, "sample_rate")),
                           channels=int(field_of(mc, "model.pretransform.config.decoder.config.channels")), c_mults=list(field_of(mc, "model.pretransform.config.decoder.config.c_mults")),
                           strides=list(field_of(mc, "model.pretransform.config.decoder.config.strides")),
                           latent_dim=int(field_of(mc, "model.pretransform.config.latent_dim", field_of(mc, "model.pretransform.config.decoder.config.latent_dim"))),
                           use_snake=bool(dec.get("use_snake", False)), final_tanh=bool(dec.get("final_tanh", True)),
                           latent_scale=float(field_of(mc, "model.pretransform.scale", 1.0)))
    enc = field_of(mc, "model.pretransform.config.encoder.config", {})
    if enc and int(enc.get("latent_dim", 2 * ae.latent_dim)) != 2 * ae.latent_dim:
        raise CheckpointError(f"encoder latent_dim {enc.get('latent_dim')} is not 2 x {ae.latent_dim} (VAE)")
    diff = field_of(mc, "model.diffusion")
    d = field_of(mc, "model.diffusion.config")
    embed, heads = int(field_of(mc, "model.diffusion.config.embed_dim")), int(field_of(mc, "model.diffusion.config.num_heads"))
    conditioning = field_of(mc, "model.conditioning")
    prompt = next((c for c in conditioning.get("configs", []) if c.get("type") == "t5"), {})
    max_tokens = int(field_of(prompt, "config.max_length", 64))
    numbers = _number_config(conditioning, diff)
    dit = DiTConfig(io_channels=int(field_of(mc, "model.diffusion.config.io_channels")), embed_dim=embed, depth=int(field_of(mc, "model.diffusion.config.depth")),
                    num_heads=heads, ff_mult=int(field_of(mc, "model.diffusion.config.ff_kwargs.mult", 4)),
                    rope_dims=max((embed // heads) // 2, 32),
                    cond_token_dim=int(field_of(mc, "model.diffusion.config.cond_token_dim")),
                    max_cond_tokens=max_tokens + (len(numbers.cross_attn) if numbers else 0),
                    global_cond_dim=int(d.get("global_cond_dim", 0)),
                    timestep_features=int(d.get("timestep_features_dim", 256)),
                    input_adds=_input_adds(d.get("input_add_dims") or diff.get("input_add_ids") or []),
                    cross_attn_mask=False)
    stream = _stream_config(mc, ae.hop)
    t5_name = str(prompt.get("config", {}).get("t5_model_name", "t5-base"))
    text = TextConfig(kind="t5", dim=dit.cond_token_dim, max_tokens=max_tokens, t5_model=t5_name,
                      t5_dim=T5_WIDTHS.get(t5_name),
                      project_out=bool(prompt.get("config", {}).get("project_out", False)))
    out = {"dit": dit, "stream": stream, "sampler": SamplerConfig(), "autoencoder": ae, "text": text}
    if numbers:
        if "seconds_total" in numbers.ranges:          # what the window holds, as in training on windows
            numbers.values["seconds_total"] = round(stream.window * ae.hop / ae.sample_rate, 3)
        out["numbers"] = numbers
    return out


def _stream_config(mc: Mapping[str, Any], hop: int) -> StreamConfig:
    """LMDM configs name their attention pattern and chunk (training.inpainting.mask_kwargs) and their window
    (sample_size); a plain SAOS config has none of that and streams as naive outpainting (bidirectional) in the
    paper's 192 + 48 geometry."""
    mask = mc.get("training", {}).get("inpainting", {}).get("mask_kwargs")
    if not mask:
        return StreamConfig(attention="bidirectional")
    window = int(mc.get("sample_size", 491520)) // hop
    block = int(mask.get("block_causal_chunk_size", 48))
    pattern = str(mask.get("context_router_attention_pattern", "bidirectional")).replace("-", "_")
    attention = {"enc_dec": "encdec", "full": "bidirectional"}.get(pattern, pattern)
    if attention not in ("bidirectional", "encdec", "block_causal"):
        raise CheckpointError(f"model_config training.inpainting.mask_kwargs.context_router_attention_pattern "
                              f"{pattern!r} is not one of block-causal, enc-dec")
    return StreamConfig(context=max(window - block, 0), block=block,
                        window_chunks=int(mask.get("block_causal_window_chunks", 4)), attention=attention)


def _number_config(conditioning: Mapping[str, Any], diff: Mapping[str, Any]) -> NumberConfig | None:
    """The "number" conditioners and where the DiT takes them: cross-attention tokens after the prompt's, and the
    global vector. Other conditioners (besides the T5 prompt) have no counterpart here: CheckpointError names them."""
    specs = {c["id"]: c for c in conditioning.get("configs", []) if "id" in c}
    ranges = {i: [float(c.get("config", {}).get("min_val", 0)), float(c.get("config", {}).get("max_val", 1))]
              for i, c in specs.items() if c.get("type") == "number"}
    cross = list(diff.get("cross_attention_cond_ids", []))
    glob = list(diff.get("global_cond_ids", []))
    text = [i for i in cross if specs.get(i, {}).get("type") == "t5"]
    others = [i for i in cross + glob if i not in ranges and i not in text]
    if others:
        raise CheckpointError(f"model_config model.diffusion: conditioners {sorted(set(others))} are neither t5 "
                              f"nor number; lmdm takes a t5 prompt and number conditioners")
    if cross[: len(text)] != text:
        raise CheckpointError(f"model_config model.diffusion.cross_attention_cond_ids {cross}: the t5 prompt must "
                              "come first")
    if not ranges:
        return None
    return NumberConfig(ranges=ranges, dim=int(conditioning.get("cond_dim", 768)), fourier_dim=256,
                        cross_attn=[i for i in cross if i in ranges], global_cond=[i for i in glob if i in ranges])


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
                       dtype: torch.dtype | None = None, meta: Mapping[str, Any] | None = None,
                       progress: bool = False) -> SaosConversion:
    """SAOS `model_config.json` + `.ckpt`/`.safetensors` -> an lmdm checkpoint directory, checked by a strict load."""
    from tqdm import tqdm

    from lmdm_core.pipeline import build_model

    for f in (Path(model_config), Path(weights)):
        if not f.is_file():
            raise FileNotFoundError(f"not found: {f}")
    with tqdm(total=4, desc=f"converting {Path(weights).name}", unit="step", disable=not progress) as bar:
        try:
            mc = json.loads(Path(model_config).read_text())
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{model_config}: not valid JSON ({e})") from e
        if str(weights).endswith(".safetensors"):
            state = load_file(str(weights))
        else:
            state = torch.load(str(weights), map_location="cpu", weights_only=True)
        bar.update()
        conv = convert_saos(state, mc)
        if add_context:
            add_context_input(conv)
        bar.update()
        model = build_model(conv.configs, str(weights))
        # T5 itself is not in the checkpoint; the text module holds only the projection after it, where there is one
        modules = {k: v for k, v in model.modules().items() if k != "text" or len(v.state_dict())}
        load_into(modules, conv.tensors, str(weights))
        bar.update()
        save_checkpoint(out, modules, conv.configs,
                        meta={"converted_from": str(weights), "unused_keys": len(conv.unused), **(meta or {})},
                        dtype=dtype)
        bar.update()
    return conv


SAOS_CONFIG = "model_config.json"
WEIGHT_SUFFIXES = (".safetensors", ".ckpt")


def find_saos(path: str | Path) -> tuple[Path, Path] | None:
    """(model_config.json, weights) of a stable-audio-tools model folder or weights file; None when `path` is neither
    (e.g. an lmdm checkpoint). FileNotFoundError names what a stable-audio-tools model lacks."""
    p = Path(path)
    if p.is_file() and p.suffix in WEIGHT_SUFFIXES:
        mc = p.parent / SAOS_CONFIG
        if not mc.is_file():
            raise FileNotFoundError(f"{p} is a stable-audio-tools weights file but {mc} is missing")
        return mc, p
    if not (p.is_dir() and (p / SAOS_CONFIG).is_file()):
        return None
    named = [p / f"model{s}" for s in WEIGHT_SUFFIXES if (p / f"model{s}").is_file()]
    found = named or sorted(f for s in WEIGHT_SUFFIXES for f in p.glob(f"*{s}"))
    if len(found) != 1 and not named:
        what = "no" if not found else f"{len(found)}"
        raise FileNotFoundError(f"{p}: {what} weight files (.safetensors or .ckpt) beside {SAOS_CONFIG}; "
                                "pass the weights file itself")
    return p / SAOS_CONFIG, found[0]


def _stamp(*files: Path) -> str:
    return ";".join(f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)


def cache_root() -> Path:
    """Where conversions go when the model's folder is read-only: $LMDM_CACHE or ~/.cache/lmdm/converted."""
    return Path(os.environ.get("LMDM_CACHE") or Path.home() / ".cache" / "lmdm" / "converted")


def import_saos(model_config: Path, weights: Path) -> Path:
    """The lmdm checkpoint of a stable-audio-tools model, converted once: `<weights stem>.lmdm/` beside the weights,
    or under `cache_root()` when that folder is read-only; converted again when either file changes."""
    stamp = _stamp(model_config, weights)
    out = weights.parent / f"{weights.stem}.lmdm"
    if not os.access(weights.parent, os.W_OK):
        out = cache_root() / hashlib.sha1(stamp.encode()).hexdigest()[:16]
    try:
        if json.loads((out / CONFIG_NAME).read_text()).get("meta", {}).get("source_stamp") == stamp:
            return out
    except (OSError, json.JSONDecodeError):
        pass
    log.info("converting the stable-audio-tools model %s into %s (once)", weights, out)
    convert_saos_files(model_config, weights, out, meta={"source_stamp": stamp}, progress=True)
    return out
