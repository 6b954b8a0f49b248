"""Sensor OSC -> stream parameters: the map file of `lmdm serve --osc-map` and `lmdm live --osc-map`.

A map file is TOML (comments for the installation's notes, and the standard library parses it with line numbers):
one `[[map]]` table per sensor value, docs/installations.md "The map file" is the reference. Each entry scales one
argument of one OSC address from its input range to a numeric parameter of the one parameter table (bridge/params.py):
clipped to the input range, shaped by `curve` (an exponent), clipped again to the parameter's own range, and smoothed
by a one-pole low-pass of `smooth_ms`. Smoothing runs in time, not per message: `tick(now)` gives the values at `now`,
and the worker calls it at its control period (`tick_ms`) while a value is still moving, so a sensor that sends twice a
second still glides. A refused file raises MapError naming the file, the line and the reason.

python-osc's Dispatcher routes the messages; an address no entry names goes to its default handler, which counts it.
"""
from __future__ import annotations

import math
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from bridge import params as P
from bridge.protocol import STREAM_ID

if sys.version_info >= (3, 11):
    import tomllib
else:  # pyproject: tomli on Python 3.10
    import tomli as tomllib

TICK_MS = 20.0     # default control period while a smoothed value moves (50 Hz; a model block reads a value once)
HOLD_S = 1.0       # an entry naming a stream sends its value again this often, so that stream gets it once it opens
NUMERIC = ("float", "int", "bool")
UNMAPPED = {"seed": "setting it restarts the noise sequence", "bar": "it is a clock position, sent by the patch"}
KEYS = {"address", "param", "input", "output", "curve", "smooth_ms", "stream", "arg"}


class MapError(ValueError):
    """A map file that cannot be used: `path:line: reason`."""

    def __init__(self, path: str, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class Mapping:
    """One sensor value -> one parameter. `stream` None: every stream (and the default for streams opened later)."""

    address: str
    param: str
    input: tuple[float, float]
    output: tuple[float, float]
    curve: float = 1.0
    smooth_ms: float = 0.0
    stream: str | None = None
    arg: int = 0
    line: int = 0

    def scale(self, x: float) -> tuple[float, bool]:
        """(the parameter value for input x, whether x lay outside the input range)."""
        lo, hi = self.input
        u = (min(max(x, lo), hi) - lo) / (hi - lo)
        a, b = self.output
        return a + (b - a) * u ** self.curve, not lo <= x <= hi


@dataclass
class Counters:
    """What the map has seen since start (in `status`: docs/protocol.md `osc_map`, docs/osc.md `/lmdm/worker`)."""

    received: int = 0          # values taken (a message driving three entries counts three)
    unknown: int = 0           # messages to an address no entry names (ignored)
    clipped: int = 0           # values outside their entry's input range (clipped to it)
    bad: int = 0               # messages whose argument is missing or not a number (ignored)
    last_unknown: str = ""     # the latest unknown address: what is that sensor sending?


@dataclass
class _State:
    """One entry's smoother: `target` from the last message, `value` the smoothed one at time `t`."""

    target: float | None = None
    value: float = 0.0
    t: float = 0.0
    sent: Any = None
    sent_t: float = -math.inf


class OscMap:
    def __init__(self, mappings: list[Mapping], tick_ms: float = TICK_MS, path: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self.mappings, self.tick_ms, self.path, self.clock = mappings, tick_ms, path, clock
        self.counters = Counters()
        self.states = [_State() for _ in mappings]
        self.lock = threading.Lock()  # `lmdm live` receives on its own thread and ticks on the engine's
        self.dispatcher = Dispatcher()
        for i, m in enumerate(mappings):
            self.dispatcher.map(m.address, self._receive, i)
        self.dispatcher.set_default_handler(self._unknown)

    # --- messages -------------------------------------------------------------------------------------------------

    def handle(self, message: OscMessage) -> None:
        """One incoming message (any address): the dispatcher calls the entries that name it, or counts it."""
        with self.lock:
            for handler in self.dispatcher.handlers_for_address(message.address):
                handler.invoke(("", 0), message)

    def _receive(self, address: str, fixed: list, *args: Any) -> None:
        i = fixed[0]
        m, st = self.mappings[i], self.states[i]
        x = args[m.arg] if m.arg < len(args) else None
        if not isinstance(x, (int, float)) or not math.isfinite(float(x)):  # T/F count as 1/0
            self.counters.bad += 1
            return
        self.counters.received += 1
        target, clipped = m.scale(float(x))
        self.counters.clipped += clipped
        now = self.clock()
        if st.target is None or m.smooth_ms <= 0:  # the first reading sets the value; smoothing follows changes
            st.value = target
        else:
            st.value = self._smoothed(m, st, now)
        st.target, st.t = target, now

    def _unknown(self, address: str, *args: Any) -> None:
        self.counters.unknown += 1
        self.counters.last_unknown = address[:200]  # enough to recognise a sensor; a status stays small

    # --- control ticks --------------------------------------------------------------------------------------------

    @staticmethod
    def _smoothed(m: Mapping, st: _State, now: float) -> float:
        """The one-pole low-pass at `now`: exact in time, whatever the tick spacing."""
        if m.smooth_ms <= 0 or st.target is None:
            return st.value if st.target is None else st.target
        k = math.exp(-max(0.0, now - st.t) * 1000.0 / m.smooth_ms)
        value = st.target + (st.value - st.target) * k
        span = abs(m.output[1] - m.output[0]) or 1.0
        return st.target if abs(value - st.target) <= 1e-4 * span else value

    def tick(self, now: float) -> list[tuple[str | None, str, Any]]:
        """(stream, param, value) to apply now: values that changed since last sent, and those of entries naming a
        stream once per HOLD_S. Values come out of params.validate (clamped to the parameter's range, ints rounded)."""
        with self.lock:
            return [x for m, st in zip(self.mappings, self.states) if (x := self._tick_one(m, st, now))]

    def _tick_one(self, m: Mapping, st: _State, now: float) -> tuple[str | None, str, Any] | None:
        if st.target is None:
            return None
        st.value, st.t = self._smoothed(m, st, now), now
        raw = round(st.value) if P.SPECS[m.param].kind == "bool" else st.value
        value = P.validate(m.param, raw)
        if value == st.sent and (m.stream is None or now - st.sent_t < HOLD_S):  # "*" sets later streams' default
            return None
        st.sent, st.sent_t = value, now
        return m.stream, m.param, value

    def moving(self) -> bool:
        """A smoothed value has not reached its target yet: tick at `tick_ms` until it has."""
        return any(st.target is not None and st.value != st.target for st in self.states)

    def status(self) -> dict[str, Any]:
        c = self.counters
        return dict(entries=len(self.mappings), received=c.received, unknown=c.unknown, clipped=c.clipped,
                    bad=c.bad, last_unknown=c.last_unknown)


# --- the map file -------------------------------------------------------------------------------------------------

def load(path: str | Path) -> OscMap:
    """Read and check a map file; MapError (file, line, reason) when it cannot be used."""
    name = str(path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise MapError(name, 0, f"cannot read the map file: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of_decode_error(str(exc), text)
        raise MapError(name, line, f"not valid TOML: {exc}") from None
    lines = _Lines(text)
    unknown = set(doc) - {"map", "tick_ms"}
    if unknown:
        key = sorted(unknown)[0]
        raise MapError(name, lines.key(key), f"unknown top-level key {key!r}: a map file holds `tick_ms` and "
                                             "[[map]] entries")
    tick_ms = doc.get("tick_ms", TICK_MS)
    if not isinstance(tick_ms, (int, float)) or isinstance(tick_ms, bool) or not 1 <= tick_ms <= 1000:
        raise MapError(name, lines.key("tick_ms"), f"tick_ms must be a number of milliseconds in 1..1000, "
                                                   f"got {tick_ms!r}")
    entries = doc.get("map", [])
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise MapError(name, lines.key("map"), "the file needs at least one [[map]] entry (a table per sensor value)")
    mappings = [_mapping(e, name, lines, i) for i, e in enumerate(entries)]
    _check_unique(mappings, name)
    return OscMap(mappings, float(tick_ms), name)


def _mapping(e: dict, path: str, lines: "_Lines", i: int) -> Mapping:
    start = lines.entry(i)

    def fail(key: str | None, reason: str) -> MapError:
        return MapError(path, lines.key(key, start) if key else start, reason)

    extra = sorted(set(e) - KEYS)
    if extra:
        raise fail(extra[0], f"unknown key {extra[0]!r} (an entry takes {', '.join(sorted(KEYS))})")
    for key in ("address", "param", "input"):
        if key not in e:
            raise fail(None, f"this [[map]] entry has no `{key}`")
    address = e["address"]
    if not isinstance(address, str) or not address.startswith("/") or address.startswith("/lmdm/") \
            or any(c in address for c in " #*?[]{},"):
        raise fail("address", f"address must be a literal OSC address such as \"/pi/light\" (not under /lmdm/, "
                              f"no spaces or patterns), got {address!r}")
    param = e["param"]
    spec = P.SPECS.get(param) if isinstance(param, str) else None
    if spec is None:
        raise fail("param", f"unknown parameter {param!r}; the table is in docs/osc.md")
    if spec.kind not in NUMERIC:
        raise fail("param", f"{param} is a {spec.kind} parameter; a map drives numbers (float, int, bool)")
    if param in UNMAPPED:
        raise fail("param", f"{param} cannot be mapped: {UNMAPPED[param]}")
    lo_hi = _range(e["input"])
    if lo_hi is None:
        raise fail("input", f"input must be [min, max] with min < max, got {e['input']!r}")
    out = _range(e.get("output", [spec.lo if spec.kind != "bool" else 0, spec.hi if spec.kind != "bool" else 1]),
                 ordered=False)
    if out is None:
        raise fail("output", f"output must be two numbers [at input min, at input max], got {e.get('output')!r}")
    curve = e.get("curve", 1.0)
    if not _number(curve) or not 0.05 <= curve <= 20:
        raise fail("curve", f"curve must be an exponent in 0.05..20 (1 = linear), got {curve!r}")
    smooth = e.get("smooth_ms", 0.0)
    if not _number(smooth) or not 0 <= smooth <= 600_000:
        raise fail("smooth_ms", f"smooth_ms must be a time constant in 0..600000 ms, got {smooth!r}")
    stream = e.get("stream", "*")
    if not isinstance(stream, str) or not (stream == "*" or STREAM_ID.match(stream)):
        raise fail("stream", f"stream must be \"*\" (every stream) or a stream id, got {stream!r}")
    arg = e.get("arg", 0)
    if not isinstance(arg, int) or isinstance(arg, bool) or not 0 <= arg < 64:
        raise fail("arg", f"arg must be the index of the OSC argument, 0..63, got {arg!r}")
    return Mapping(address, param, lo_hi, out, float(curve), float(smooth), None if stream == "*" else stream, arg,
                   start)


def _check_unique(mappings: list[Mapping], path: str) -> None:
    seen: dict[tuple, Mapping] = {}
    for m in mappings:
        key = (m.stream, m.param)
        if key in seen:
            raise MapError(path, m.line, f"{m.param} of {m.stream or 'every stream'} is driven by the entry at "
                                         f"line {seen[key].line} already")
        seen[key] = m


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _range(v: Any, ordered: bool = True) -> tuple[float, float] | None:
    if not isinstance(v, list) or len(v) != 2 or not all(_number(x) for x in v):
        return None
    lo, hi = float(v[0]), float(v[1])
    if ordered and not lo < hi:
        return None
    return lo, hi


def _line_of_decode_error(message: str, text: str) -> int:
    """tomllib (< 3.14) says `(at line N, column M)` or `(at end of document)` in its message only."""
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else len(text.splitlines())


class _Lines:
    """Where things are in the file's text (tomllib gives no positions for values): the k-th `[[map]]` header,
    and a key's line within an entry."""

    HEADER = re.compile(r"^\s*\[\[\s*map\s*\]\]")

    def __init__(self, text: str):
        self.text = text.splitlines()
        self.headers = [n for n, line in enumerate(self.text, 1) if self.HEADER.match(line)]

    def entry(self, i: int) -> int:
        return self.headers[i] if i < len(self.headers) else self.key("map")

    def key(self, key: str | None, start: int = 1) -> int:
        """The first line at or after `start` (and before the next entry) that assigns `key`; else `start`."""
        if key is None:
            return start
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for n in range(start, len(self.text) + 1):
            if n > start and self.HEADER.match(self.text[n - 1]):
                break
            if pattern.match(self.text[n - 1]):
                return n
        return start


class Listener(threading.Thread):
    """`lmdm live --osc-map`: the map's own UDP socket (there is no worker socket), senders checked by `admit`."""

    def __init__(self, osc_map: OscMap, host: str, port: int, admit: Callable[[str], bool]):
        super().__init__(name="lmdm-osc-map", daemon=True)
        self.osc_map, self.admit = osc_map, admit
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                dgram, (host, _port) = self.sock.recvfrom(65536)
            except (socket.timeout, OSError):
                continue
            if not self.admit(host):
                continue
            try:
                messages = [tm.message for tm in OscPacket(dgram).messages]
            except Exception:  # python-osc raises several types on garbage: count it, keep listening
                self.osc_map.counters.bad += 1
                continue
            for message in messages:
                self.osc_map.handle(message)

    def stop(self) -> None:
        self.stopping = True
        self.join(timeout=2)
        self.sock.close()
