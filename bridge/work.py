"""The work items the I/O thread hands the engine thread, one dataclass each, and where each one's reply goes.

A reply goes to a ZeroMQ connection (`ToClient`) or out of the OSC socket (`ToOsc`, which keeps the address the
command came in on: /lmdm/error names it). osc.py builds the OSC items, server.py the ZeroMQ ones; engine_thread.py
handles each type in one method.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from bridge.protocol import Audio, Hello
from bridge.session import PlayPosition


@dataclass(frozen=True)
class ToClient:
    ident: bytes              # the ROUTER identity of the connection


@dataclass(frozen=True)
class ToOsc:
    address: str              # the OSC address the command came in on
    to: tuple[str, int] | None = None  # this answer goes to host:port only (`/lmdm/status PORT`); None: the reply
                                       # address


ReplyTo = Union[ToClient, ToOsc]


@dataclass(frozen=True)
class Open:
    """Open (or re-open) `hello.stream` for a connection; `previous` is the connection's old stream to close."""

    reply: ToClient
    hello: Hello
    previous: str | None
    play: PlayPosition


@dataclass(frozen=True)
class Close:
    stream: str
    reply: None = None        # closing answers nobody (the connection is gone or was told already)


@dataclass(frozen=True)
class AudioIn:
    stream: str
    msg: Audio
    reply: ToClient


@dataclass(frozen=True)
class RequestIn:
    """The client will play [index, index + frames)."""

    stream: str
    index: int
    frames: int
    reply: ToClient


@dataclass(frozen=True)
class SetParam:
    """A validated value; `stream` None: every stream, and the default for streams opened later. `reply` None: an
    OSC map's value (bridge/oscmap.py), applied without an answer (a sensor listens to none)."""

    stream: str | None
    name: str
    value: Any
    reply: ReplyTo | None


@dataclass(frozen=True)
class Reset:
    stream: str | None
    reply: ReplyTo


@dataclass(frozen=True)
class QueryStatus:
    """`stream` None: every stream. `worker` (the I/O thread's figures: uptime_s, rss_mib, osc_map) asks for the
    worker-wide answer too: `/lmdm/worker` over OSC, one `status` with stream "*" over ZeroMQ."""

    stream: str | None
    reply: ReplyTo
    worker: dict | None = None


@dataclass(frozen=True)
class Stop:
    """The worker is going away: the engine thread ends after the item in hand."""


Item = Union[Open, Close, AudioIn, RequestIn, SetParam, Reset, QueryStatus, Stop]
