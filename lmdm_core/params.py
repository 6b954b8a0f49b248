"""The model's parameters: one table of names, types, ranges and defaults, and the one rule that checks a value.

`Param.check` turns a raw value into the value applied. Two callers, one rule: the worker clamps (`clamp=True`: a
knob dragged past its end sticks at the end and the ack says so); code calling the library directly gets a
ParamError for an out-of-range or fractional number (`clamp=False`: there it is a bug worth reporting). Types,
choices, string normalisation and the curves syntax are the same for both. bridge/params.py adds the stream rows
(timing and mixing) to this table; docs/osc.md is checked against the union (tests/bridge/test_osc.py).
"""
from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

from lmdm_core.config import CFG_MODES
from lmdm_core.features import NAMES as CURVES
from lmdm_core.modes import DEFAULT as DEFAULT_MODE, MODES

MAX_PROMPT = 500


class ParamError(ValueError):
    """A value that cannot be used (the text is one sentence for the user)."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str                       # "float" | "int" | "str" | "choice" | "bool" | "curves"
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    where: str = "model"            # "model": the AudioStream applies it | "stream": the worker's session does
    meaning: str = ""

    def check(self, value: Any, clamp: bool = True) -> Any:
        """The value to apply, or ParamError saying what is wrong with it."""
        if self.kind in ("float", "int", "bool"):
            return self._number(value, clamp)
        if not isinstance(value, str):
            raise ParamError(f"{self.name} must be text (a string), got {type(value).__name__}")
        if self.kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        value = " ".join(value.split())
        if len(value) > MAX_PROMPT:
            raise ParamError(f"{self.name} is {len(value)} characters; at most {MAX_PROMPT} characters")
        if self.kind == "curves":
            wanted = [c for c in re.split(r"[,\s]+", value) if c]  # commas or spaces: Pd message boxes split at commas
            if not wanted or any(c not in CURVES for c in wanted):
                raise ParamError(f"{self.name} must be a comma-separated subset of {','.join(CURVES)}, got {value!r}")
            value = ",".join(wanted)
        return value

    def _number(self, value: Any, clamp: bool) -> Any:
        # A bool is a number to the worker (OSC T/F, msgpack true) but a likely mistake in code.
        if not isinstance(value, numbers.Real) or (isinstance(value, bool) and not clamp and self.kind != "bool"):
            raise ParamError(f"{self.name} must be a number, got {type(value).__name__} {value!r}")
        if self.kind == "bool":
            return int(bool(value))
        value = float(value) if not isinstance(value, (int, float)) else value  # numpy scalars
        if not math.isfinite(value):
            raise ParamError(f"{self.name} must be a finite number between {self.lo:g} and {self.hi:g}, got {value!r}")
        if not clamp:
            if not self.lo <= value <= self.hi:
                raise ParamError(f"{self.name} must be between {self.lo:g} and {self.hi:g}, got {value!r}")
            if self.kind == "int" and value != int(value):
                raise ParamError(f"{self.name} must be a whole number, got {value!r}")
        value = int(round(value)) if self.kind == "int" else float(value)
        return min(max(value, type(value)(self.lo)), type(value)(self.hi))


MODEL_PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("mode", "choice", DEFAULT_MODE, choices=tuple(MODES),
          meaning="; ".join(f"{m.name}: {m.meaning}" for m in MODES.values())),
    Param("prompt", "str", "", meaning="text prompt; the ack lists the words the model understood"),
    Param("prompt_b", "str", "", meaning="second prompt for interpolation"),
    Param("blend", "float", 0.0, 0.0, 1.0, meaning="0 = prompt only, 1 = prompt_b only, between: interpolation"),
    Param("cfg", "float", 1.0, 0.0, 20.0, meaning="classifier-free guidance scale (1 = off)"),
    Param("cfg_mode", "choice", "plain", choices=CFG_MODES,
          meaning="guidance variant: plain CFG, or plus_plus (CFG++: each step re-noises around the unguided "
                  "prediction; it takes scales near 1, the LMDM notebook uses cfg 0.95 with plus_plus)"),
    Param("steps", "int", 8, 1, 64, meaning="sampler steps per block"),
    Param("seed", "int", 0, 0, 2**31 - 1, meaning="noise seed; setting it restarts the noise sequence"),
    Param("feedback", "float", 0.0, 0.0, 0.95,
          meaning="share of the previous wet block mixed into the model's input, in modes with feedback (delay)"),
    Param("curves", "curves", ",".join(CURVES), meaning="sketch: comma-separated curves the output follows"),
)}


def check(name: str, value: Any, table: dict[str, Param] = MODEL_PARAMS, clamp: bool = True) -> Any:
    """`table[name].check(value)`, with an unknown name refused by a ParamError that lists the known ones."""
    spec = table.get(name)
    if spec is None:
        raise ParamError(f"unknown parameter {name!r}; known: {', '.join(table)}")
    return spec.check(value, clamp)
