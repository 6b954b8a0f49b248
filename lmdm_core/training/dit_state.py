"""The DiT trainer's resumable state (training/dit.py) as a `state.save_sharded` folder (safetensors shards of at most
15 MiB + state.json), in one of five formats; bytes per parameter of the DiT + text encoder:

| format | holds | B/param |
|---|---|---|
| `exact` | weights and EMA float32, AdamW moments float32 | 16 |
| `compact` | weights float32, EMA as a float16 delta from them, moments bfloat16 | 10 |
| `small` | weights float16, EMA as a float16 delta, no moments | 4 |
| `ema` | the EMA only, float16 | 2 |
| `ema8` | the EMA only: matrices int8 with a float16 scale per row (+2 B a row), vectors float16 | ~1 |

`exact` resumes bit for bit. The others round: float16 (~5e-4 relative), int8 rows (at most half a step of
max|row| / 127, i.e. ~1e-4 absolute on weights of ~0.03 against ~5e-4 that one AdamW step moves them). Formats
without moments resume with fresh AdamW moments and ramp the learning rate again over `rewarm` steps; `ema` and
`ema8` resume the weights from the EMA (what the export ships). Parameters only: buffers (rotary frequencies,
LayerNorm zeros) are rebuilt from the config. The data RNG always travels, so `exact` repeats the same batches.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lmdm_core.checkpoint import section
from lmdm_core.config import DiTConfig, from_dict, to_dict
from lmdm_core.training.state import STATE_JSON, load_optimizer, load_sharded, optimizer_tensors, save_sharded

FORMATS = ("exact", "compact", "small", "ema", "ema8")
KIND = "lmdm-dit-state"
LIVE = ("dit", "text")                   # trained modules; each has an EMA twin "ema_<name>"
SCALE = ":scale"                         # suffix of an int8 tensor's per-row scales


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"state format {fmt!r}: choose from {', '.join(FORMATS)}")
    return fmt


def save_dit_state(folder: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer,
                   gen: torch.Generator, fmt: str, doc: dict[str, Any]) -> list[Path]:
    """Write dit, text, ema_dit, ema_text (+ moments, RNG) in format `fmt`, with `doc` (step, history, ...)."""
    check_format(fmt)
    tensors, encodings = _encode(modules, fmt)
    tensors["rng"] = gen.get_state()
    moments = None
    if fmt in ("exact", "compact"):
        ts, moments = optimizer_tensors(opt, "opt", torch.float32 if fmt == "exact" else torch.bfloat16)
        tensors.update(ts)
    return save_sharded(folder, tensors, {**doc, "format": KIND, "state_format": fmt, "encodings": encodings,
                                          "optimizer": moments})


def read_doc(folder: str | Path) -> dict[str, Any] | None:
    """state.json of a DiT state folder, or None when there is none (a fresh run)."""
    p = Path(folder) / STATE_JSON
    if not p.is_file():
        return None
    doc = json.loads(p.read_text())
    if doc.get("format") != KIND:
        raise ValueError(f"{folder}: not a DiT training state (format {doc.get('format')!r})")
    return doc


def load_dit_state(folder: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer,
                   gen: torch.Generator, dit_cfg: dict[str, Any]) -> dict[str, Any]:
    """Restore in place; returns the doc with `rewarm_from` set to the step when the moments were not saved.
    dit_cfg (asdict of the DiTConfig) must be the state's."""
    t, doc = load_sharded(folder)
    if doc.get("format") != KIND:
        raise ValueError(f"{folder}: not a DiT training state")
    if _filled(doc.get("dit")) != json.loads(json.dumps(dit_cfg)):
        raise ValueError(f"{folder}: state was trained with DiT {doc.get('dit')}, not {dit_cfg}")
    enc = doc["encodings"]
    for live in LIVE:
        w = _decode(section(t, live), enc[live]) if live in enc else None
        ema = _decode(section(t, "ema_" + live), enc["ema_" + live], base=w)
        _load_params(modules[live], w if w is not None else ema, f"{folder}: {live}")
        _load_params(modules["ema_" + live], ema, f"{folder}: ema_{live}")
    gen.set_state(t["rng"])
    if doc.get("optimizer"):
        load_optimizer(opt, t, "opt", doc["optimizer"])
    elif int(doc["step"]) > 0:
        doc["rewarm_from"] = int(doc["step"])     # fresh moments: ramp the learning rate again from here
    return doc


def _filled(saved: dict[str, Any] | None) -> dict[str, Any] | None:
    """A saved DiT config with the fields added since it was written at their defaults (whose behaviour it was
    trained with), so a newer config class still matches it."""
    if saved is None:
        return None
    try:
        return json.loads(json.dumps(to_dict(from_dict(DiTConfig, saved))))
    except (TypeError, ValueError):
        return saved


def _params(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.detach() for k, p in m.named_parameters()}


@torch.no_grad()
def _load_params(m: nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    own = dict(m.named_parameters())
    if set(own) != set(tensors):
        missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
        raise ValueError(f"{where}: missing {missing[:5]}, unexpected {extra[:5]}")
    for k, p in own.items():
        if p.shape != tensors[k].shape:
            raise ValueError(f"{where}.{k}: shape {list(tensors[k].shape)} in the state, {list(p.shape)} in the model")
        p.copy_(tensors[k])


def _encode(modules: dict[str, nn.Module], fmt: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Flat tensors `<module>.<param>` and each module's encoding (float32, float16, delta16, int8rows)."""
    live_enc = {"exact": "float32", "compact": "float32", "small": "float16"}.get(fmt)
    ema_enc = {"exact": "float32", "ema": "float16", "ema8": "int8rows"}.get(fmt, "delta16")
    tensors, encodings = {}, {}
    for live in LIVE:
        w, ema = _params(modules[live]), _params(modules["ema_" + live])
        if live_enc is not None:
            tensors.update({f"{live}.{k}": v for k, v in _encoded(w, live_enc).items()})
            encodings[live] = live_enc
        tensors.update({f"ema_{live}.{k}": v for k, v in _encoded(ema, ema_enc, base=w).items()})
        encodings["ema_" + live] = ema_enc
    return tensors, encodings


def _encoded(ts: dict[str, torch.Tensor], enc: str, base: dict[str, torch.Tensor] | None = None
             ) -> dict[str, torch.Tensor]:
    if enc in ("float32", "float16"):
        return {k: v.to(getattr(torch, enc)) for k, v in ts.items()}
    if enc == "delta16":
        return {k: (v.float() - base[k].float()).half() for k, v in ts.items()}
    out = {}
    for k, v in ts.items():
        if v.ndim < 2:
            out[k] = v.half()
        else:
            out[k], out[k + SCALE] = quantize_rows(v)
    return out


def _decode(ts: dict[str, torch.Tensor], enc: str, base: dict[str, torch.Tensor] | None = None
            ) -> dict[str, torch.Tensor]:
    if enc in ("float32", "float16"):
        return {k: v.float() for k, v in ts.items()}
    if enc == "delta16":
        return {k: base[k] + v.float() for k, v in ts.items()}
    return {k: (dequantize_rows(v, ts[k + SCALE]) if k + SCALE in ts else v.float())
            for k, v in ts.items() if not k.endswith(SCALE)}


def quantize_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 values and float16 scales (one per row of dim 0): w ~= q * scale[:, None, ...]."""
    rows = w.detach().float().reshape(w.shape[0], -1)
    scale = (rows.abs().amax(dim=1) / 127.0).clamp_min(1e-12).half()
    q = torch.round(rows / scale.float()[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(w.shape), scale


def dequantize_rows(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (q.float().reshape(q.shape[0], -1) * scale.float()[:, None]).reshape(q.shape)


def bytes_per_format(modules: dict[str, nn.Module]) -> dict[str, int]:
    """Tensor bytes each format holds for these modules (dit, text and their EMA twins, AdamW moments)."""
    params = [p for live in LIVE for p in modules[live].parameters()]
    n = sum(p.numel() for p in params)
    int8 = sum(p.numel() + 2 * p.shape[0] if p.ndim >= 2 else 2 * p.numel() for p in params)
    return {"exact": 16 * n, "compact": 10 * n, "small": 4 * n, "ema": 2 * n, "ema8": int8}
