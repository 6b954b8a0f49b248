"""The stream modes: one table of what each mode does with the input. The audio behaviour these flags select lives
in one place, `pipeline.AudioStream.process`; the worker, the evaluation and the commands read the table.

A mode that feeds a DiT input-add `group` runs only on a model trained with that group (`LoadedModel.modes`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    needs_input: bool        # the output depends on the input (else the worker may answer from silence)
    encodes: bool            # each input block is encoded to latents (else the encoder only keeps it as history)
    group: str | None        # the DiT input-add group the mode conditions (None: the context alone)
    signal: str | None       # what that group is given: "latents" of the input block or its sketch "curves"
    substitutes: bool        # the input's latents replace the generated block in the context: the generative delay
    feedback: bool           # `feedback` mixes the previous wet block into the input
    meaning: str


MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("text", needs_input=False, encodes=False, group=None, signal=None, substitutes=False, feedback=False,
         meaning="prompt only, no input needed; the model continues its own output"),
    Mode("delay", needs_input=True, encodes=True, group=None, signal=None, substitutes=True, feedback=True,
         meaning="generative delay: each input block becomes the newest context, so the output continues the input"),
    Mode("jam", needs_input=True, encodes=True, group="stem", signal="latents", substitutes=False, feedback=False,
         meaning="accompaniment to the input stem"),
    Mode("sketch", needs_input=True, encodes=False, group="curves", signal="curves", substitutes=False,
         feedback=False, meaning="the input's pitch/loudness/brightness curves drive the output"),
)}
DEFAULT = "delay"


def runnable(input_adds: dict[str, int] | set[str]) -> tuple[str, ...]:
    """The modes a DiT with these input-add groups can run."""
    return tuple(name for name, m in MODES.items() if m.group is None or m.group in input_adds)
