"""Offline streaming (`lmdm generate`): the same Session and engine as the worker, fed from an array, no sockets."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from bridge.protocol import Hello
from bridge.session import Session
from lmdm_core.text import tokenize


def prompt_report(session: Session, values: dict[str, Any]) -> list[str]:
    """One line per prompt given: which of its words the model understood (the OSC/ZeroMQ acks carry the same list)."""
    lines = []
    for name in ("prompt", "prompt_b"):
        if values.get(name):
            _, known = session.set_param(name, values[name])
            if known is None:
                continue
            # the encoder's own tokenizer; a hyphenated word counts as understood when any part of it was
            unknown = [w for w in tokenize(str(values[name])) if not {w, *w.split("-")} & set(known)]
            lines.append(f"{name}: understood {' '.join(known) or '(nothing)'}"
                         + (f"; not understood {' '.join(unknown)}" if unknown else ""))
    return lines


def render(engine: Any, x: np.ndarray, rate: int, values: dict[str, Any], out_channels: int,
           chunk: int = 4096, progress: Any = None,
           report: Callable[[str], None] | None = None) -> tuple[np.ndarray, int]:
    """Stream x (frames, channels) through the engine like a client would.

    Returns (output, latency): output covers clock positions [0, len(x) + latency), so y[latency + k] belongs to
    x[k]. `progress` (a tqdm bar or None) is advanced by output frames."""
    hello = Hello(stream="offline", rate=rate, channels=x.shape[1], out_channels=out_channels, client="lmdm generate")
    s = Session(hello, engine, values, max_frames=65536, backlog_s=1e9)
    for line in prompt_report(s, values) if report else ():
        report(line)
    total = len(x) + s.latency
    if progress is not None:
        progress.total = total
    y = np.zeros((total, out_channels), np.float32)
    sent = asked = got = 0
    silence = np.zeros((chunk, x.shape[1]), np.float32)
    while got < total:
        part = x[sent:sent + chunk] if sent < len(x) else silence  # past the end: silence lets the tail out
        s.audio(sent, part)
        sent += len(part)
        while asked < total and asked + chunk - s.latency + s.block <= sent:
            n = min(chunk, total - asked)
            s.request(asked, n)
            asked += n
        for g in s.pump():
            y[g.index:g.index + g.frames] = g.data
            got += g.frames
            if progress is not None:
                progress.update(g.frames)
    return y, s.latency
