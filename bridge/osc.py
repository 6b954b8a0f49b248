"""OSC: a small dispatcher from `/lmdm/...` addresses to worker commands, and reply encoding (python-osc).

No socket here: the server reads datagrams and sends replies; this module turns a datagram into commands: work
items for the engine thread (work.SetParam, work.Reset, work.QueryStatus, each replying to the OSC address it came
on) or what the server answers itself (Ping, ReplyAddress, Refused). It never raises on input. docs/osc.md is the
table.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Union

import pythonosc

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from bridge import params as P
from bridge.protocol import STREAM_ID
from bridge.work import QueryStatus, Reset, SetParam, ToOsc

PREFIX = "/lmdm/"
# Arguments of the /lmdm/status and /lmdm/health replies, in order (docs/osc.md).
STATUS_ARGS = ("stream", "compute_ms", "compute_ms_avg", "queue", "underruns", "gaps", "blocks", "latency")
HEALTH_ARGS = ("stream", "late_frames", "recoveries", "clipped")
# /lmdm/worker: uptime_s, sessions, underruns, gaps, rss_mib, then these counters of the OSC map (0 without one)
WORKER_ARGS = ("uptime_s", "sessions", "underruns", "gaps", "rss_mib")
WORKER_MAP_ARGS = ("entries", "received", "unknown", "clipped", "bad")
LOG_EVERY_S = 10.0  # python-osc's own warnings (one per malformed datagram) pass at most once per this period


@dataclass(frozen=True)
class Ping:
    """/lmdm/ping: the server answers /lmdm/pong."""


@dataclass(frozen=True)
class ReplyAddress:
    """/lmdm/reply_to: replies go to host:port from now on."""

    host: str
    port: int


@dataclass(frozen=True)
class Refused:
    """A message that cannot be used: the server answers /lmdm/error code text address."""

    code: str
    text: str
    address: str


Command = Union[SetParam, Reset, QueryStatus, Ping, ReplyAddress, Refused]


def commands(dgram: bytes, sender_host: str, sensors: Callable[[OscMessage], None] | None = None) -> list[Command]:
    """One UDP datagram (a message or a bundle) -> commands for the worker. With `sensors` (an OSC map's handler,
    bridge/oscmap.py), messages outside /lmdm/ go there and answer nothing."""
    try:
        messages = [tm.message for tm in OscPacket(dgram).messages]
    except Exception as exc:  # python-osc raises ParseError and others on garbage
        return [Refused("bad_osc", f"the datagram is not OSC ({type(exc).__name__})", "")]
    out = []
    for m in messages:
        if sensors is not None and not m.address.startswith(PREFIX):
            sensors(m)
        else:
            out.append(route(m.address, list(m.params), sender_host))
    return out


def route(address: str, args: list[Any], sender_host: str = "127.0.0.1") -> Command:
    if not address.startswith(PREFIX):
        return _unknown(address)
    parts = address[len(PREFIX):].split("/")
    stream = None
    if parts[0] == "stream":
        if len(parts) != 3 or not STREAM_ID.match(parts[1]):
            return Refused("unknown_address", "per-stream addresses are /lmdm/stream/<id>/<name>", address)
        stream, parts = parts[1], parts[2:]
    if len(parts) != 1:
        return _unknown(address)
    name, reply = parts[0], ToOsc(address)
    if name == "reset":
        return Reset(stream, reply)
    if name == "status":
        return _status(stream, args, sender_host, address)
    if stream is None and name == "ping":
        return Ping()
    if stream is None and name == "reply_to":
        return _reply_to(args, sender_host, address)
    if name not in P.SPECS:
        return _unknown(address)
    try:
        return SetParam(stream, name, P.validate(name, _value(P.SPECS[name], args)), reply)
    except P.ParamError as exc:
        return Refused("bad_param", str(exc), address)


def _value(spec: P.Param, args: list[Any]) -> Any:
    if not args:
        raise P.ParamError(f"{spec.name} needs a value")
    if spec.kind in ("str", "curves"):  # Pd and Max send a prompt as several atoms: join them
        return " ".join(str(a) for a in args)
    if len(args) != 1:
        raise P.ParamError(f"{spec.name} takes one value, got {len(args)}")
    value = args[0]
    return int(value) if isinstance(value, bool) else value


def _status(stream: str | None, args: list[Any], sender_host: str, address: str) -> QueryStatus | Refused:
    """`/lmdm/status [PORT]`: with a port, this answer goes to the sender's host at that port (a health check
    listening on its own port leaves the patch's reply address alone)."""
    if not args:
        return QueryStatus(stream, ToOsc(address))
    port = args[0]
    if len(args) != 1 or not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        return Refused("bad_param", "status takes nothing, or the port (int 1..65535) to answer to", address)
    return QueryStatus(stream, ToOsc(address, (sender_host, port)))


def _reply_to(args: list[Any], sender_host: str, address: str) -> ReplyAddress | Refused:
    if len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
        host, port = sender_host, args[0]
    elif len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], int):
        host, port = args
    else:
        return Refused("bad_param", "reply_to takes a port (int) or a host (string) and a port", address)
    if not 1 <= port <= 65535:
        return Refused("bad_param", f"port {port} is out of range 1..65535", address)
    return ReplyAddress(host, port)


class RateLimit(logging.Filter):
    """Lets one record per `period` seconds through and says how many were held back since the last one, so a
    flood of malformed datagrams cannot fill the log of an unattended machine. Only records logged from `source`
    (a directory) are limited."""

    def __init__(self, source: str, period: float = LOG_EVERY_S):
        super().__init__()
        self.source, self.period = source, period
        self.last = -float("inf")
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.pathname.startswith(self.source):
            return True
        now = time.monotonic()
        if now - self.last < self.period:
            self.held += 1
            return False
        if self.held:
            record.msg = f"{record.getMessage()} ({self.held} more like it in the last {now - self.last:.0f} s " \
                         f"were not logged)"
            record.args = ()
        self.last, self.held = now, 0
        return True


def limit_library_log(period: float = LOG_EVERY_S) -> RateLimit:
    """Install RateLimit on the root logger, where python-osc logs its warnings (`logging.warning`); once."""
    root = logging.getLogger()
    for f in root.filters:
        if isinstance(f, RateLimit):
            return f
    f = RateLimit(str(Path(pythonosc.__file__).parent), period)
    root.addFilter(f)
    return f


def _unknown(address: str) -> Refused:
    return Refused("unknown_address", f"unknown OSC address {address}; see docs/osc.md", address)


def message(address: str, args: list[Any]) -> bytes:
    """An OSC message datagram; None becomes an empty string so every reply stays well typed."""
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg("" if a is None else a)
    return b.build().dgram
