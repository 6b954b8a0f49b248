"""One stream's timing: the client's sample clock, input gaps and overlaps, pulled requests, dry/wet mixing.

All positions are samples at the client's rate on the client's clock. The engine's wet output y is aligned with the
input x (y[q] belongs to x[q]); output played at position p is mix(x[p - L], y[p - L]) with L = the stream latency.
Positions before the stream's first input are silence. The session computes lazily: it steps the engine only while a
pending request needs more output, so it never computes beyond the furthest position requested.
"""
from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge import params as P
from bridge.engines import Engine, EngineStream, map_channels
from bridge.protocol import Generated, Hello, bound_input

log = logging.getLogger(__name__)


@dataclass
class PlayPosition:
    """The clock position the client last said it is playing (`play` in audio/request), None until it says. The
    I/O thread writes it as messages arrive; the session reads it when an answer leaves, to judge lateness."""

    value: int | None = None


class Session:
    """One stream on the engine thread: a client's clock over one EngineStream."""

    def __init__(self, hello: Hello, engine: Engine, values: dict[str, Any], *, max_frames: int = 8192,
                 max_gap_s: float = 10.0, backlog_s: float = 30.0, play: PlayPosition | None = None,
                 block_size: str = "long"):
        self.play = play if play is not None else PlayPosition()
        self.stream = hello.stream
        self.rate, self.in_ch, self.out_ch = hello.rate, hello.channels, hello.out_channels
        self.max_frames = max_frames
        self.max_gap = int(max_gap_s * self.rate)
        self.backlog = int(backlog_s * self.rate)
        self.block_size = hello.block_size or block_size  # the hello's choice, else the worker's default
        self.engine_stream: EngineStream = engine.open(self.rate, self.in_ch, self.out_ch,
                                                       seed=int(values.get("seed", 0)), block_size=self.block_size)
        self.base_latency, self.block = self.engine_stream.latency, self.engine_stream.block
        self.latency = self.base_latency
        self.values = P.defaults()
        self._clear()
        self.refused: dict[str, str] = {}   # worker defaults this model refused: name -> why (logged)
        for name, value in values.items():
            if value != P.SPECS[name].default:
                try:
                    self.set_param(name, value)
                except P.ParamError as exc:
                    if name == "mode" and hello.mode is not None:  # the mode asked for in hello must work;
                        raise                                       # defaults the model lacks may not
                    self.refused[name] = str(exc)
                    log.warning("stream %s: default %s=%r refused (%s); it keeps %r", self.stream, name, value, exc,
                                self.values[name])

    # --- clocks -------------------------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.base = 0                   # position of x_buf[0] and y_buf[0]
        self.x_end: int | None = None   # one past the last input position known (None: no input yet)
        self.x_buf = np.zeros((0, self.in_ch), np.float32)
        self.y_buf = np.zeros((0, self.out_ch), np.float32)
        self.requests: deque[list] = deque()  # [start, end, underrun counted]
        self.last_end = 0
        self.underruns = self.late_frames = self.gaps = self.blocks = self.clipped = 0
        self._recoveries_before = self.engine_stream.recoveries  # status counts those since the last reset
        self.compute_ms = self.compute_total = 0.0
        self._budget: int | None = None
        self.more = False

    def _restart(self, origin: int) -> None:
        """Start the input clock over at `origin`: held audio is dropped, what lies before is silence. With tempo
        sync the engine's first block starts on the grid line at or before `origin` (silence fills up to it)."""
        self.engine_stream.restart()
        line = self._grid_line(origin)
        self.base = self.x_end = line
        self.x_buf = self.x_buf[:0]
        self.y_buf = self.y_buf[:0]
        if origin > line:
            self._feed(np.zeros((origin - line, self.in_ch), np.float32))

    # --- tempo grid ---------------------------------------------------------------------------------------------

    def _grid_unit(self) -> float:
        """Samples per beat (sync beat) or per bar (sync bar); 0 without sync."""
        v = self.values
        if v["sync"] == "off":
            return 0.0
        beat = 60.0 * self.rate / v["bpm"]
        return beat * v["beats"] if v["sync"] == "bar" else beat

    def _grid_line(self, q: int) -> int:
        """The last beat / bar line at or before q (q itself without sync); lines lie at bar + k * unit."""
        unit = self._grid_unit()
        if not unit:
            return q
        bar = self.values["bar"]
        return int(round(bar + math.floor((q - bar) / unit) * unit))

    def _synced_latency(self) -> int:
        """The engine's latency, rounded up to a whole number of beats / bars with sync (never shorter)."""
        unit = self._grid_unit()
        if not unit:
            return self.base_latency
        return max(self.base_latency, int(round(math.ceil(self.base_latency / unit) * unit)))

    def _skip_to(self, q: int) -> None:
        """Requests jumped ahead: nothing before input position q is needed any more, so it is never computed."""
        if q <= self.y_end:
            return
        tail = self.x_buf[q - self.base:].copy() if q < self.x_end else self.x_buf[:0]
        self.engine_stream.restart()
        self.base, self.x_end = q, max(self.x_end, q)
        self.x_buf, self.y_buf = tail, self.y_buf[:0]
        if len(tail):
            self.engine_stream.feed(tail)

    @property
    def y_end(self) -> int:
        return self.base + len(self.y_buf)

    def reset(self) -> None:
        self.engine_stream.reset()
        self._clear()

    # --- input --------------------------------------------------------------------------------------------------

    def audio(self, index: int, data: np.ndarray) -> None:
        """Input at the client's clock position `index` (answers come from pump()). Samples are bounded first
        (NaN/Inf -> 0, clipped to +-CLIP): one wild sample must not reach the model."""
        data, changed = bound_input(data)
        self.clipped += changed
        if self.x_end is None:
            self._restart(index)
        elif index > self.x_end:
            self.gaps += 1
            gap = index - self.x_end
            if gap <= self.max_gap:
                self._feed(np.zeros((gap, self.in_ch), np.float32))
            else:
                self._restart(index)
        elif index < self.x_end:
            data = data[self.x_end - index:]
        if len(data):
            self._feed(data)
        if self.x_end - self.y_end > self.backlog:  # input nobody asks for: drop it, keep the clock
            self.gaps += 1
            self._restart(self.x_end)

    def _feed(self, data: np.ndarray) -> None:
        self.x_buf = np.concatenate([self.x_buf, data]) if len(self.x_buf) else data
        self.engine_stream.feed(data)
        self.x_end += len(data)

    def request(self, index: int, frames: int) -> None:
        """The client will play [index, index + frames): queue it (answers come from pump())."""
        if not self.requests and index > self.last_end and self.x_end is not None:
            self._skip_to(index - self.latency)
        self.requests.append([index, index + frames, False])
        self.last_end = index + frames
        if not self._needs_input():
            # Modes that need no input answer at once: silence stands in for input up to what this request needs.
            want = index + frames - self.latency + self.engine_stream.block
            if self.x_end is None:
                self._restart(max(0, index - self.latency))
            if want > self.x_end:
                self._feed(np.zeros((want - self.x_end, self.in_ch), np.float32))

    def _needs_input(self) -> bool:
        """Modes that generate from the prompt alone answer at once, unless the dry input is heard (mix < 1 or
        bypass): then the output waits for the input it mixes in, as in the input modes."""
        v = self.values
        return self.engine_stream.needs_input(v["mode"]) or bool(v["bypass"]) or v["mix"] < 1.0

    # --- output -------------------------------------------------------------------------------------------------

    def _known_end(self, need: int) -> int:
        """One past the last wet position known, stepping the engine while `need` is not reached."""
        if self.x_end is None:
            return 0  # negative positions are silence by definition
        while self.y_end < need:
            if self._budget == 0:
                self.more = True  # more could be computed: the caller calls pump() again when it has a moment
                break
            y = self.engine_stream.step()
            if y is None:
                break
            if self._budget is not None:
                self._budget -= 1
            self.blocks += 1
            self.compute_ms = self.engine_stream.compute_ms
            self.compute_total += self.compute_ms
            if len(y):
                self.y_buf = np.concatenate([self.y_buf, y]) if len(self.y_buf) else y
        return self.y_end

    def wants_block(self) -> bool:
        """pump() would compute an engine block now: a pending request needs output beyond what is known, and the
        engine has the input for it (the engine thread batches such sessions: engines.ModelEngine.step_together)."""
        ready = getattr(self.engine_stream, "block_ready", None)
        return (bool(self.requests) and self.x_end is not None and self.y_end < self.requests[-1][1] - self.latency
                and ready is not None and ready())

    def slack_s(self) -> float:
        """Seconds until the first position still to compute is due to be played: the client's stated play position
        against the requested index (negative: late already). Without a stated position, one latency."""
        first = next(r for r in self.requests if r[1] - self.latency > self.y_end)
        due = max(first[0], self.y_end + self.latency)
        play = self.play.value
        return (self.latency if play is None else due - play) / self.rate

    def pump(self, max_steps: int | None = None) -> list[Generated]:
        """Answer what can be answered of the pending requests, in order, computing at most `max_steps` engine
        steps (None: as many as needed); `self.more` tells whether it stopped for that limit."""
        self._budget, self.more = max_steps, False
        out = []
        L = self.latency
        while self.requests:
            req = self.requests[0]
            start, end = req[0], req[1]
            known = self._known_end(end - L)
            n = min(end - L, known) - (start - L)
            if n <= 0:
                break
            n = min(n, self.max_frames)
            self._judge_lateness(req, start, n)
            out.append(Generated(index=start, rate=self.rate, data=self._mix(start - L, n)))
            req[0] += n
            if req[0] >= end:
                self.requests.popleft()
        self._trim()
        return out

    def _judge_lateness(self, req: list, start: int, n: int) -> None:
        """An answer for [start, start + n) leaving after the client's stated play position passed `start` is late:
        its frames before that position count in late_frames, and its request once in underruns."""
        play = self.play.value
        if play is None or play <= start:
            return
        self.late_frames += min(n, play - start)
        if not req[2]:
            req[2] = True
            self.underruns += 1

    def _mix(self, q0: int, n: int) -> np.ndarray:
        """Output for positions q0.. of the input clock: dry/wet mix, gain, bypass; silence before the base."""
        out = np.zeros((n, self.out_ch), np.float32)
        lo = max(q0, self.base)
        if lo >= q0 + n:
            return out
        i0, i1 = lo - self.base, q0 + n - self.base
        dry = map_channels(self.x_buf[i0:i1], self.out_ch)
        v = self.values
        if v["bypass"]:
            seg = dry
        else:
            mix, gain = v["mix"], v["gain"]
            wet = self.y_buf[i0:i1]
            seg = dry if mix == 0.0 else wet if mix == 1.0 else (1.0 - mix) * dry + mix * wet
            if gain != 1.0:
                seg = seg * np.float32(gain)
        out[lo - q0:] = seg
        return out

    def _trim(self) -> None:
        keep = (self.requests[0][0] if self.requests else self.last_end) - self.latency
        drop = min(keep - self.base, len(self.y_buf))
        if drop > 0:
            self.x_buf = self.x_buf[drop:]
            self.y_buf = self.y_buf[drop:]
            self.base += drop

    # --- parameters and status ----------------------------------------------------------------------------------

    def set_param(self, name: str, value: Any) -> tuple[Any, list | None]:
        """Apply a value already validated by params.validate; ParamError when the engine refuses it."""
        understood = None
        if P.SPECS[name].where == "model":
            value, understood = self.engine_stream.set_param(name, value)
        self.values[name] = value
        if name in ("sync", "bpm", "beats"):
            # The new latency holds from now on (status reports it); set the tempo before playing, or expect one
            # seam where the output jumps by the change.
            self.latency = self._synced_latency()
        return value, understood

    def status(self, queue: int) -> dict:
        return dict(stream=self.stream, compute_ms=round(self.compute_ms, 3),
                    compute_ms_avg=round(self.compute_total / self.blocks, 3) if self.blocks else 0.0,
                    queue=queue, underruns=self.underruns, gaps=self.gaps, blocks=self.blocks,
                    latency=self.latency, late_frames=self.late_frames, clipped=self.clipped,
                    recoveries=self.engine_stream.recoveries - self._recoveries_before,
                    batch=self.engine_stream.batch if self.blocks else 0, params=dict(self.values))
