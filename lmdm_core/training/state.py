"""Resumable training state: modules, optimizer, step, loss history and RNG, in one torch file written atomically.

A run resumed from `state.pt` continues at the saved step with the same optimizer moments and the same data RNG, so
it makes the same updates an uninterrupted run would have made from there.
"""
from __future__ import annotations

import json
import os
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
