"""lmdm checkpoints: a directory of safetensors weights plus one JSON config; and conversion from SAOS.

Layout (a directory, so it can hold several shards):

    NAME/config.json                 {"format": "lmdm-checkpoint", "format_version": 1,
                                      "dit": {...}, "stream": {...}, "sampler": {...}, "autoencoder": {...},
                                      "text": {...}, "weights": [shard file names], "split": {key: parts}, "meta": {...}}
    NAME/model.safetensors           when everything fits in one shard, else
    NAME/model-00001-of-00003.safetensors ...

Each config section is the `to_dict` of its dataclass (config.py). Tensor keys carry the section as prefix
(`dit.transformer.layers.0...`, `autoencoder.decoder.layers.1...`, `text.embed.weight`). Shards stay under
`max_shard_bytes` (default 15 MiB: the GPU machine returns files of at most 16 MiB); a single tensor larger than that
is cut along dim 0 into `KEY#0`, `KEY#1`, ... and listed under "split", and joined again on load.

Loading is strict: `load_into` raises one CheckpointError naming every missing, unexpected and shape-mismatched key.
Weight-normed convolutions (SAOS `weight_g`/`weight_v`) are folded into plain `weight` by `fold_weight_norm`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lmdm_core.config import (AutoencoderConfig, DiTConfig, SamplerConfig, StreamConfig, TextConfig, from_dict,
                              to_dict)

FORMAT = "lmdm-checkpoint"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
SINGLE_NAME = "model.safetensors"
MAX_SHARD_BYTES = 15 * 2**20
SECTIONS: dict[str, type] = {"dit": DiTConfig, "stream": StreamConfig, "sampler": SamplerConfig,
                             "autoencoder": AutoencoderConfig, "text": TextConfig}


class CheckpointError(Exception):
    """A checkpoint that exists but does not fit: bad format or version, or keys/shapes that do not match."""


@dataclass
class Checkpoint:
    configs: dict[str, Any]                    # section -> config dataclass
    tensors: dict[str, torch.Tensor]           # prefixed keys, split tensors joined
    meta: dict[str, Any] = field(default_factory=dict)


# ----- saving -----

def state_of(modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """Prefixed state dict of several modules: {"dit": m} -> {"dit.<key>": tensor}."""
    return {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}


def save_checkpoint(path: str | Path, modules: Mapping[str, nn.Module], configs: Mapping[str, Any],
                    meta: Mapping[str, Any] | None = None, dtype: torch.dtype | None = None,
                    max_shard_bytes: int = MAX_SHARD_BYTES) -> list[Path]:
    """Write modules' weights and their configs to directory `path`; returns the files written.

    dtype casts floating tensors (e.g. torch.float16 to halve the size); configs maps section -> dataclass.
    """
    unknown = sorted(set(configs) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown config sections {unknown}; known: {sorted(SECTIONS)}")
    tensors, split = _split_large(_cast(state_of(modules), dtype), max_shard_bytes)
    shards = _pack(tensors, max_shard_bytes)
    names = [SINGLE_NAME] if len(shards) == 1 else [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                                                    for i in range(len(shards))]
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("model*.safetensors"):
        stale.unlink()
    written = []
    for name, shard in zip(names, shards):
        save_file(shard, str(out / name))
        written.append(out / name)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           **{s: to_dict(c) for s, c in configs.items()},
           "weights": names, "split": split, "meta": dict(meta or {})}
    (out / CONFIG_NAME).write_text(json.dumps(doc, indent=2) + "\n")
    return [out / CONFIG_NAME] + written


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    return {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
            for k, v in tensors.items()}


def _split_large(tensors: dict[str, torch.Tensor], limit: int) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Cut tensors over `limit` bytes along dim 0 so that every piece fits a shard."""
    out, split = {}, {}
    for k, v in tensors.items():
        nbytes = v.numel() * v.element_size()
        if nbytes <= limit or v.ndim == 0:
            out[k] = v
            continue
        row = nbytes // v.shape[0]
        if row > limit:
            raise ValueError(f"tensor {k} {tuple(v.shape)}: one row ({row} bytes) exceeds the shard limit {limit}")
        parts = torch.split(v, max(1, limit // row), dim=0)
        split[k] = len(parts)
        out.update({f"{k}#{i}": p.contiguous() for i, p in enumerate(parts)})
    return out, split


def _pack(tensors: dict[str, torch.Tensor], limit: int) -> list[dict[str, torch.Tensor]]:
    """Greedy shards in key order, each under `limit` bytes of tensor data (headers are small)."""
    shards: list[dict[str, torch.Tensor]] = [{}]
    used = 0
    for k, v in tensors.items():
        n = v.numel() * v.element_size()
        if shards[-1] and used + n > limit:
            shards.append({})
            used = 0
        shards[-1][k] = v
        used += n
    return shards


# ----- loading -----

def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint directory (or its config.json). FileNotFoundError names a missing path."""
    p = Path(path)
    if p.name == CONFIG_NAME:
        p = p.parent
    cfg_path = p / CONFIG_NAME
    if not p.exists():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    if not cfg_path.is_file():
        raise FileNotFoundError(f"checkpoint config not found: {cfg_path}")
    try:
        doc = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cfg_path}: not valid JSON ({e})") from e
    if doc.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_path}: format is {doc.get('format')!r}, expected {FORMAT!r}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{cfg_path}: format_version {doc.get('format_version')!r} is not supported "
                              f"(this lmdm reads version {FORMAT_VERSION})")
    configs = {}
    for section, cls in SECTIONS.items():
        if section in doc:
            try:
                configs[section] = from_dict(cls, doc[section])
            except (TypeError, ValueError) as e:
                raise CheckpointError(f"{cfg_path}: section {section!r}: {e}") from e
    tensors: dict[str, torch.Tensor] = {}
    for name in doc.get("weights", []):
        f = p / name
        if not f.is_file():
            raise FileNotFoundError(f"checkpoint weights not found: {f}")
        tensors.update(load_file(str(f)))
    return Checkpoint(configs, _join_split(tensors, doc.get("split", {}), cfg_path), doc.get("meta", {}))


def _join_split(tensors: dict[str, torch.Tensor], split: dict[str, int], where: Path) -> dict[str, torch.Tensor]:
    for k, n in split.items():
        names = [f"{k}#{i}" for i in range(n)]
        absent = [x for x in names if x not in tensors]
        if absent:
            raise CheckpointError(f"{where}: split tensor {k} lacks parts {absent}")
        tensors[k] = torch.cat([tensors.pop(x) for x in names], dim=0)
    return tensors


def section(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under `prefix.`, with the prefix removed."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}


def check_state(module: nn.Module, state: Mapping[str, torch.Tensor], what: str = "model") -> list[str]:
    """Problems loading `state` into `module`: missing, unexpected and shape-mismatched keys, one line each."""
    want = module.state_dict()
    lines = [f"missing key {what}.{k} (expected shape {list(want[k].shape)})" for k in want if k not in state]
    lines += [f"unexpected key {what}.{k} (shape {list(state[k].shape)})" for k in state if k not in want]
    lines += [f"shape mismatch {what}.{k}: checkpoint {list(state[k].shape)} vs model {list(want[k].shape)}"
              for k in want if k in state and state[k].shape != want[k].shape]
    return lines


def load_into(modules: Mapping[str, nn.Module], tensors: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load prefixed tensors into each module, strictly; one CheckpointError lists every problem."""
    problems = []
    for name, m in modules.items():
        problems += check_state(m, section(tensors, name), name)
    stray = sorted(k for k in tensors if k.split(".", 1)[0] not in modules)
    problems += [f"unexpected key {k} (no module {k.split('.', 1)[0]!r})" for k in stray]
    if problems:
        raise CheckpointError(f"{source} does not fit the model ({len(problems)} problems):\n  "
                              + "\n  ".join(problems))
    for name, m in modules.items():
        m.load_state_dict(section(tensors, name), strict=True)


# ----- weight norm and SAOS -----

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


def shard_sizes(path: str | Path) -> dict[str, int]:
    """Bytes of each weight file in a checkpoint directory (for reports and the 16 MiB check)."""
    return {f.name: f.stat().st_size for f in sorted(Path(path).glob("model*.safetensors"))}



@click.command("convert-saos")
@click.argument("model_config", type=click.Path(dir_okay=False))
@click.argument("weights", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--no-context", is_flag=True, help="keep a plain SAOS DiT (no LMDM context input)")
@click.option("--half", is_flag=True, help="store float16 weights")
def convert_command(model_config: str, weights: str, out: str, no_context: bool, half: bool) -> None:
    """Convert Stable Audio Open Small (model_config.json + model.safetensors|.ckpt) into an lmdm checkpoint OUT.

    \b
    Example:
      lmdm convert-saos model_config.json model.safetensors checkpoints/saos
    """
    conv = convert_saos_files(model_config, weights, out, add_context=not no_context,
                              dtype=torch.float16 if half else None)
    click.echo(f"wrote {out}: {len(conv.tensors)} tensors, shards {shard_sizes(out)}")
    if conv.unused:
        click.echo(f"unused SAOS keys ({len(conv.unused)}), e.g. {conv.unused[:3]}: conditioners (T5 and seconds_total "
                   "run outside the DiT); prompts need precomputed T5 embeddings (text kind 't5')")
