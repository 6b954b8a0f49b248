"""Resumable training state: modules, optimizer, step, loss history and RNG, in one torch file written atomically.

A run resumed from `state.pt` continues at the saved step with the same optimizer moments and the same data RNG, so
it makes the same updates an uninterrupted run would have made from there. `save_sharded`/`load_sharded` hold a
state as safetensors shards of at most 15 MiB plus one JSON (for GPU calls that return files of at most 16 MiB);
`optimizer_tensors`/`load_optimizer` put an Adam state into such a folder, and `StopFlag` ends a call cleanly.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import torch
from torch import nn


def save_state(path: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer, step: int,
               history: dict[str, list], generator: torch.Generator, extra: dict[str, Any] | None = None) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"modules": {k: m.state_dict() for k, m in modules.items()}, "opt": opt.state_dict(), "step": step,
           "history": history, "rng": generator.get_state(), "extra": extra or {}}
    tmp = p.with_suffix(".tmp")
    torch.save(doc, tmp)
    os.replace(tmp, p)
    (p.parent / "history.json").write_text(json.dumps(history))
    return p


def load_state(path: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer,
               generator: torch.Generator) -> tuple[int, dict[str, list], dict[str, Any]]:
    """Restore in place; returns (step, history, extra)."""
    doc = torch.load(Path(path), map_location="cpu", weights_only=False)
    for k, m in modules.items():
        m.load_state_dict(doc["modules"][k])
    opt.load_state_dict(doc["opt"])
    generator.set_state(doc["rng"])
    return int(doc["step"]), doc["history"], doc.get("extra", {})


def steps_within(step: int, per_step: float, elapsed: float, budget_s: float | None, planned: int) -> int:
    """Total steps that fit a time budget at `per_step` seconds a step, `elapsed` seconds being spent at `step`
    (never above `planned`, never below step + 1)."""
    if budget_s is None or per_step <= 0:
        return planned
    return max(step + 1, min(planned, step + int(max(0.0, budget_s - elapsed) / per_step)))


# ----- sharded state (the GPU machine returns files of at most 16 MiB and starts fresh each call) -----

STATE_JSON = "state.json"


def save_sharded(folder: str | Path, tensors: dict[str, torch.Tensor], doc: dict[str, Any],
                 max_shard_bytes: int = 15 * 2**20) -> list[Path]:
    """Write tensors as safetensors shards of at most max_shard_bytes plus `state.json` (doc, shard names, split
    tensors) into `folder`, replacing what was there only once everything is written."""
    from safetensors.torch import save_file

    from lmdm_core.checkpoint import pack_shards, split_large
    out = Path(folder)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    parts, split = split_large({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, max_shard_bytes)
    shards = pack_shards(parts, max_shard_bytes)
    names = [f"state-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    for name, shard in zip(names, shards):
        save_file(shard, str(tmp / name))
    (tmp / STATE_JSON).write_text(json.dumps({**doc, "shards": names, "split": split}) + "\n")
    old = out.with_name(out.name + ".old")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    if old.exists():
        shutil.rmtree(old)
    return [out / STATE_JSON] + [out / n for n in names]


def load_sharded(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, doc) of a `save_sharded` folder; FileNotFoundError names a missing shard."""
    from safetensors.torch import load_file

    from lmdm_core.checkpoint import join_split
    p = Path(folder)
    doc = json.loads((p / STATE_JSON).read_text())
    tensors: dict[str, torch.Tensor] = {}
    for name in doc["shards"]:
        if not (p / name).is_file():
            raise FileNotFoundError(f"state shard missing: {p / name}")
        tensors.update(load_file(str(p / name)))
    return join_split(tensors, doc.get("split", {}), p / STATE_JSON), doc


def optimizer_tensors(opt: torch.optim.Optimizer, name: str, dtype: torch.dtype) -> tuple[dict, dict]:
    """An Adam(W) state as flat tensors `{name}.{index}.exp_avg|exp_avg_sq` in `dtype` + JSON-able meta (param groups,
    step counts), for `save_sharded`."""
    sd = opt.state_dict()
    tensors, steps = {}, {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if k == "step":
                steps[str(idx)] = float(v)
            else:
                tensors[f"{name}.{idx}.{k}"] = v.to(dtype)
    return tensors, {"param_groups": sd["param_groups"], "steps": steps}


def load_optimizer(opt: torch.optim.Optimizer, t: dict[str, torch.Tensor], name: str, meta: dict) -> None:
    """Restore what `optimizer_tensors` wrote (moments back in float32)."""
    state = {}
    for idx, step in meta["steps"].items():
        st = {"step": torch.tensor(step, dtype=torch.float32)}
        for k in ("exp_avg", "exp_avg_sq"):
            st[k] = t[f"{name}.{idx}.{k}"].float()
        state[int(idx)] = st
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


class StopFlag:
    """Set by SIGTERM/SIGINT (e.g. `timeout`): a training loop saves after the current step and returns."""

    def __init__(self) -> None:
        self.set = False
        self.before = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def _handle(self, *_) -> None:
        self.set = True

    def restore(self) -> None:
        """Put the handlers back that were there before (a library call leaves its caller's signals alone)."""
        for sig, handler in self.before.items():
            signal.signal(sig, handler)
