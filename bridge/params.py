"""The worker's parameter table: the model's rows (lmdm_core/params.py) plus the stream's own (timing and mixing).

One table for both paths (OSC `/lmdm/...` and the ZeroMQ `param` message); docs/osc.md documents it and a test
checks the doc against it. `validate` clamps numbers into range (the ack says the value applied) and refuses wrong
types, unknown names and unknown choices with ParamError. `where` says who applies a value: "model" rows go to the
engine's stream, "stream" rows to the session.
"""
from __future__ import annotations

from typing import Any

from lmdm_core.modes import MODES
from lmdm_core.params import MODEL_PARAMS, ParamError, Param, check

__all__ = ["MODES", "SPECS", "ParamError", "Param", "defaults", "validate"]

SYNC = ("off", "beat", "bar")

SPECS: dict[str, Param] = {**MODEL_PARAMS, **{p.name: p for p in (
    Param("sync", "choice", "off", choices=SYNC, where="stream",
          meaning="tempo alignment: beat / bar = the latency is a whole number of beats / bars and the first block "
                  "starts on a beat / bar line of the grid that bpm, beats and bar define; off = the shortest latency"),
    Param("bpm", "float", 120.0, 20.0, 300.0, where="stream", meaning="tempo of the grid (beats per minute)"),
    Param("beats", "int", 4, 1, 16, where="stream", meaning="beats per bar"),
    Param("bar", "int", 0, 0, 2**53, where="stream",
          meaning="client sample position of a downbeat (any bar start); send it as an int"),
    Param("mix", "float", 1.0, 0.0, 1.0, where="stream", meaning="0 = dry input only (bit-exact, delayed), 1 = wet"),
    Param("gain", "float", 1.0, 0.0, 4.0, where="stream", meaning="output gain (linear)"),
    Param("bypass", "bool", 0, where="stream", meaning="1 = the input comes back delayed, untouched"),
)}}


def defaults() -> dict[str, Any]:
    return {name: spec.default for name, spec in SPECS.items()}


def validate(name: str, value: Any) -> Any:
    """The value to apply for `name`, clamped into range; raises ParamError when it cannot be used."""
    return check(name, value, SPECS, clamp=True)
