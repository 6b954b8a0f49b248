"""lmdm checkpoints: a directory of safetensors weights plus one JSON config; and conversion from SAOS.

Layout (a directory, so it can hold several shards):

    NAME/config.json                 {"format": "lmdm-checkpoint", "format_version": 1,
                                      "dit": {...}, "stream": {...}, "sampler": {...}, "autoencoder": {...},
                                      "text": {...}, "numbers": {...} (optional), "weights": [shard file names],
                                      "split": {key: parts}, "meta": {...}}
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lmdm_core.config import (AutoencoderConfig, DiTConfig, NumberConfig, SamplerConfig, StreamConfig, TextConfig,
                              from_dict, to_dict)

FORMAT = "lmdm-checkpoint"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
SINGLE_NAME = "model.safetensors"
MAX_SHARD_BYTES = 15 * 2**20
SECTIONS: dict[str, type] = {"dit": DiTConfig, "stream": StreamConfig, "sampler": SamplerConfig,
                             "autoencoder": AutoencoderConfig, "text": TextConfig, "numbers": NumberConfig}


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
                    max_shard_bytes: int = MAX_SHARD_BYTES, keep: Iterable[str] = ()) -> list[Path]:
    """Write modules' weights and their configs to directory `path`; returns the files written.

    dtype casts floating tensors (e.g. torch.float16 to halve the size), except the tensors named in `keep` (whose
    values the cast would flush into float16's subnormal range); configs maps section -> dataclass.
    """
    unknown = sorted(set(configs) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown config sections {unknown}; known: {sorted(SECTIONS)}")
    tensors, split = split_large(_cast(state_of(modules), dtype, set(keep)), max_shard_bytes)
    shards = pack_shards(tensors, max_shard_bytes)
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


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype | None, keep: set[str]) -> dict[str, torch.Tensor]:
    unknown = keep - set(tensors)
    if unknown:
        raise ValueError(f"keep names tensors that are not saved: {sorted(unknown)}")
    cast = dtype is not None
    return {k: (v.to(dtype) if cast and v.is_floating_point() and k not in keep else v).detach().cpu().contiguous()
            for k, v in tensors.items()}


def split_large(tensors: dict[str, torch.Tensor], limit: int) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
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


def pack_shards(tensors: dict[str, torch.Tensor], limit: int) -> list[dict[str, torch.Tensor]]:
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
    return Checkpoint(configs, join_split(tensors, doc.get("split", {}), cfg_path), doc.get("meta", {}))


def join_split(tensors: dict[str, torch.Tensor], split: dict[str, int], where: Path) -> dict[str, torch.Tensor]:
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


def load_autoencoder(path: str | Path | None):
    """The autoencoder of a checkpoint directory (a full lmdm model or one holding only an `autoencoder` section);
    None = the shipped lmdm_core/weights/."""
    from lmdm_core.autoencoder import Autoencoder     # here: checkpoint.py stays free of the model modules
    from lmdm_core.pipeline import WEIGHTS_DIR

    p = Path(WEIGHTS_DIR if path is None else path)
    ckpt = read_checkpoint(p)
    if "autoencoder" not in ckpt.configs:
        raise CheckpointError(f"{p}: the checkpoint has no autoencoder section")
    ae = Autoencoder(ckpt.configs["autoencoder"])
    load_into({"autoencoder": ae}, {k: v for k, v in ckpt.tensors.items() if k.startswith("autoencoder.")}, str(p))
    return ae.float().eval().requires_grad_(False)


def shard_sizes(path: str | Path) -> dict[str, int]:
    """Bytes of each weight file in a checkpoint directory (for reports and the 16 MiB check)."""
    return {f.name: f.stat().st_size for f in sorted(Path(path).glob("model*.safetensors"))}
