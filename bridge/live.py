"""`lmdm live`: input device -> engine -> output device, no patcher (a generative delay on its own).

The audio callback never waits: it queues its input for the engine thread and plays what the engine has written into
a ring buffer, silence where nothing is there yet (counted as an underrun). The engine thread drives a Session exactly
as the worker does: input at the callback's clock position t, a request for [t + L, t + L + frames).
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from bridge.oscmap import OscMap
from bridge.protocol import Hello
from bridge.session import Session


def tone(start: int, frames: int, rate: int, channels: int, freq: float = 440.0) -> np.ndarray:
    """A test tone at absolute clock positions (phase-continuous across calls)."""
    t = np.arange(start, start + frames, dtype=np.float64)
    x = (0.25 * np.sin(2 * np.pi * freq * t / rate)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


class Live:
    def __init__(self, engine: Any, rate: int, in_ch: int, out_ch: int, values: dict[str, Any],
                 use_tone: bool = False, record: bool = False, osc_map: OscMap | None = None):
        hello = Hello(stream="live", rate=rate, channels=in_ch, out_channels=out_ch, client="lmdm live")
        self.session = Session(hello, engine, values, max_frames=65536)
        self.osc_map = osc_map  # sensor values applied once per audio callback: the control rate of `lmdm live`
        self.rate, self.in_ch, self.use_tone = rate, in_ch, use_tone
        self.latency = self.session.latency
        size = 1 << int(np.ceil(np.log2(2 * (self.latency + 16384))))
        self.ring = np.zeros((size, out_ch), np.float32)
        self.written = self.latency   # positions before the latency are silence: already "written"
        self.clock = 0
        self.underruns = 0
        self.first_underrun: int | None = None
        self.stopping = False
        self.recorded: list[np.ndarray] | None = [] if record else None
        self.q: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._engine, name="lmdm-live-engine", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop after the block being computed (the thread must end before the interpreter tears torch down)."""
        self.stopping = True
        self.q.put(None)
        self.thread.join()

    def callback(self, indata: np.ndarray | None, outdata: np.ndarray, frames: int, *_: Any) -> None:
        t = self.clock
        x = tone(t, frames, self.rate, self.in_ch) if self.use_tone or indata is None else indata.copy()
        self.q.put((t, x))
        have = min(max(self.written - t, 0), frames)
        idx = (np.arange(t, t + have)) % len(self.ring)
        outdata[:have] = self.ring[idx]
        outdata[have:] = 0.0
        if have < frames:
            self.underruns += 1
            if self.first_underrun is None:
                self.first_underrun = t
        if self.recorded is not None:
            self.recorded.append(outdata.copy())
        self.clock = t + frames

    def _engine(self) -> None:
        s, ring = self.session, self.ring
        while True:
            item = self.q.get()
            if item is None or self.stopping:
                return
            t, x = item
            if self.osc_map is not None:
                self._control()
            s.audio(t, x)
            s.request(t + self.latency, len(x))
            for g in s.pump():
                ring[np.arange(g.index, g.index + g.frames) % len(ring)] = g.data
                self.written = g.index + g.frames

    def _control(self) -> None:
        """The map's values now; entries for another stream id than `live` drive nothing here."""
        for stream, name, value in self.osc_map.tick(time.monotonic()):
            if stream in (None, self.session.stream):
                self.session.set_param(name, value)

    def recording(self) -> np.ndarray:
        return np.concatenate(self.recorded) if self.recorded else np.zeros((0, self.ring.shape[1]), np.float32)


def find_device(spec: str | None, host_api: str | None, kind: str) -> int | None:
    """A device index from a name fragment or index, optionally within a host API (e.g. "JACK")."""
    import sounddevice as sd

    if spec is not None and spec.isdigit():
        return int(spec)
    apis = sd.query_hostapis()
    for i, dev in enumerate(sd.query_devices()):
        if dev[f"max_{kind}_channels"] < 1:
            continue
        if host_api and host_api.lower() not in apis[dev["hostapi"]]["name"].lower():
            continue
        if spec is None or spec.lower() in dev["name"].lower():
            return i
    if spec is None and host_api is None:
        return None
    raise ValueError(f"no {kind} device matches {spec or '(any)'} on host API {host_api or '(any)'}")
