"""The stream parameters: one table for both paths (OSC `/lmdm/...` and the ZeroMQ `param` message).

docs/osc.md documents the same table. `validate` turns a raw value into the value applied: numbers out of range are
clamped (the ack says the clamped value), wrong types, unknown names and unknown choices are refused with ParamError.
`where` says who applies it: "model" goes to the engine's AudioStream, "stream" is handled by the session.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

MODES = ("text", "delay", "jam", "sketch")
CURVES = ("pitch", "loudness", "brightness")
SYNC = ("off", "beat", "bar")
MAX_PROMPT = 500


class ParamError(ValueError):
    """A value that cannot be used (the text is one sentence for the user)."""


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str                       # "float" | "int" | "str" | "choice" | "bool"
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    where: str = "model"            # "model" (engine) | "stream" (session mixing and timing)
    meaning: str = ""


SPECS: dict[str, Spec] = {s.name: s for s in (
    Spec("mode", "choice", "delay", choices=MODES,
         meaning="text: prompt only; delay: generative delay of the input; jam: accompaniment to the input stem; "
                 "sketch: input pitch/loudness/brightness curves drive the output"),
    Spec("prompt", "str", "", meaning="text prompt; the ack lists the words the model understood"),
    Spec("prompt_b", "str", "", meaning="second prompt for interpolation"),
    Spec("blend", "float", 0.0, 0.0, 1.0, meaning="0 = prompt only, 1 = prompt_b only, between: interpolation"),
    Spec("cfg", "float", 1.0, 0.0, 20.0, meaning="classifier-free guidance scale (1 = off)"),
    Spec("steps", "int", 8, 1, 64, meaning="sampler steps per block"),
    Spec("seed", "int", 0, 0, 2**31 - 1, meaning="noise seed; setting it restarts the noise sequence"),
    Spec("feedback", "float", 0.0, 0.0, 0.95,
         meaning="delay: share of the wet output fed back into the model's input (one block later)"),
    Spec("curves", "str", "pitch,loudness,brightness", meaning="sketch: comma-separated curves the output follows"),
    Spec("sync", "choice", "off", choices=SYNC, where="stream",
         meaning="tempo alignment: beat / bar = the latency is a whole number of beats / bars and the first block "
                 "starts on a beat / bar line of the grid that bpm, beats and bar define; off = the shortest latency"),
    Spec("bpm", "float", 120.0, 20.0, 300.0, where="stream", meaning="tempo of the grid (beats per minute)"),
    Spec("beats", "int", 4, 1, 16, where="stream", meaning="beats per bar"),
    Spec("bar", "int", 0, 0, 2**53, where="stream",
         meaning="client sample position of a downbeat (any bar start); send it as an int"),
    Spec("mix", "float", 1.0, 0.0, 1.0, where="stream", meaning="0 = dry input only (bit-exact, delayed), 1 = wet"),
    Spec("gain", "float", 1.0, 0.0, 4.0, where="stream", meaning="output gain (linear)"),
    Spec("bypass", "bool", 0, where="stream", meaning="1 = the input comes back delayed, untouched"),
)}


def defaults() -> dict[str, Any]:
    return {name: spec.default for name, spec in SPECS.items()}


def validate(name: str, value: Any) -> Any:
    """The value to apply for `name`, clamped into range; raises ParamError when it cannot be used."""
    spec = SPECS.get(name)
    if spec is None:
        raise ParamError(f"unknown parameter {name!r}; known: {', '.join(SPECS)}")
    if spec.kind in ("float", "int", "bool"):
        return _number(spec, value)
    if not isinstance(value, str):
        raise ParamError(f"{name} takes a string, got {type(value).__name__}")
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ParamError(f"{name} must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    value = " ".join(value.split())
    if len(value) > MAX_PROMPT:
        raise ParamError(f"{name} is longer than {MAX_PROMPT} characters")
    if name == "curves":
        wanted = [c for c in re.split(r"[,\s]+", value) if c]   # commas or spaces: Pd message boxes split at commas
        bad = [c for c in wanted if c not in CURVES]
        if bad or not wanted:
            raise ParamError(f"curves must be a comma-separated subset of {', '.join(CURVES)}")
        value = ",".join(wanted)
    return value


def _number(spec: Spec, value: Any) -> Any:
    if isinstance(value, str) or value is None or not isinstance(value, (int, float)):
        raise ParamError(f"{spec.name} takes a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ParamError(f"{spec.name} must be a finite number")
    if spec.kind == "bool":
        return int(bool(value))
    if spec.kind == "int":
        value = int(round(value))
    else:
        value = float(value)
    if spec.lo is not None:
        value = max(value, type(value)(spec.lo))
    if spec.hi is not None:
        value = min(value, type(value)(spec.hi))
    return value


def table_markdown() -> str:
    """The table of docs/osc.md, generated from SPECS so the doc and the code agree."""
    rows = ["| address | types | range | default | meaning |", "|---|---|---|---|---|"]
    tags = {"float": "f", "int": "i", "bool": "i", "str": "s", "choice": "s"}
    for s in SPECS.values():
        if s.choices:
            rng = " \\| ".join(s.choices)
        elif s.kind == "bool":
            rng = "0 \\| 1"
        elif s.lo is not None:
            rng = f"{s.lo} .. {s.hi}"
        else:
            rng = f"≤ {MAX_PROMPT} chars"
        rows.append(f"| `/lmdm/{s.name}` | {tags[s.kind]} | {rng} | `{s.default!r}` | {s.meaning} |")
    return "\n".join(rows)
