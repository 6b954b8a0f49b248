"""The wire protocol of docs/protocol.md (version 1): one dataclass per message, encode/decode, validation.

Every ZeroMQ frame is one msgpack map with `v` and `type`. Decoding checks sizes, types and ranges and raises
`ProtocolError(code, text, ref)` with the error codes of the doc; the server turns that into an `error` reply.
Audio travels as little-endian float32, interleaved; in Python it is a (frames, channels) float32 array.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import msgpack
import numpy as np

VERSION = 1
MAX_PAYLOAD = 4 * 1024 * 1024
MAX_FRAMES = 65536
MAX_CHANNELS = 8
RATES = (22050, 32000, 44100, 48000, 88200, 96000)
STREAM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_INDEX = 2**62
MAX_TEXT = 1024

MAX_MAP = 256        # entries in any one map, unknown fields included
MAX_ARRAY = 4096     # items in any one list
MAX_DEPTH = 1024     # nesting (msgpack's own stack limit)
CLIP = 16.0          # input samples are bounded to +-CLIP (+24 dBFS) before any engine sees them

ERROR_CODES = ("bad_msgpack", "version", "unknown_type", "bad_field", "too_large", "bad_audio", "rate",
               "no_session", "bad_request", "bad_param", "taken_over", "internal")


class ProtocolError(Exception):
    """A refused message: `code` is one of ERROR_CODES, `ref` the `type` of the offending message (or None)."""

    def __init__(self, code: str, text: str, ref: str | None = None):
        super().__init__(text)
        self.code, self.text, self.ref = code, text, ref


# --- messages, client -> worker -----------------------------------------------------------------------------------

@dataclass
class Hello:
    TYPE: ClassVar[str] = "hello"
    stream: str
    rate: int
    channels: int
    out_channels: int
    client: str = ""        # required on the wire (a name/version); the default serves in-process sessions
    mode: str | None = None
    block_size: str | None = None  # "long" | "short" (a model trained for short blocks); None: the worker's default


@dataclass
class Audio:
    """Input (client -> worker, type `audio`) or output (worker -> client, type `generated`) audio."""

    TYPE: ClassVar[str] = "audio"
    index: int
    rate: int
    data: np.ndarray  # (frames, channels) float32
    play: int | None = None  # client -> worker: the clock position the client is playing now (optional)

    @property
    def frames(self) -> int:
        return int(self.data.shape[0])

    @property
    def channels(self) -> int:
        return int(self.data.shape[1])


@dataclass
class Generated(Audio):
    TYPE: ClassVar[str] = "generated"


@dataclass
class Request:
    TYPE: ClassVar[str] = "request"
    index: int
    frames: int
    play: int | None = None  # the clock position the client is playing now (optional; lateness is judged by it)


@dataclass
class Param:
    TYPE: ClassVar[str] = "param"
    name: str
    value: Any


@dataclass
class Reset:
    TYPE: ClassVar[str] = "reset"


@dataclass
class StatusQuery:
    TYPE: ClassVar[str] = "status"
    stream: str | None = None   # "*": the worker-wide status (any connection may ask, with or without a session)


@dataclass
class Ping:
    TYPE: ClassVar[str] = "ping"
    t: float


@dataclass
class Bye:
    TYPE: ClassVar[str] = "bye"
    reason: str = ""


# --- messages, worker -> client -----------------------------------------------------------------------------------

@dataclass
class Welcome:
    TYPE: ClassVar[str] = "welcome"
    stream: str
    rate: int
    channels: int
    out_channels: int
    block: int
    latency: int
    max_frames: int
    heartbeat_ms: int
    model: dict = field(default_factory=dict)
    modes: list = field(default_factory=list)
    mode: str = ""
    block_size: str = ""


@dataclass
class Status:
    TYPE: ClassVar[str] = "status"
    stream: str
    compute_ms: float
    compute_ms_avg: float
    queue: int
    underruns: int
    gaps: int
    blocks: int
    latency: int
    late_frames: int = 0
    recoveries: int = 0
    clipped: int = 0
    batch: int = 0          # streams that shared this stream's last model batch (0: no block computed yet)
    params: dict = field(default_factory=dict)  # extra field (ignored by clients that do not know it)
    # The worker-wide status (stream "*") only; counters above are summed over the streams (SUMMED):
    uptime_s: float | None = None      # seconds since the worker started
    rss_mib: float | None = None       # the worker's resident memory (None where the OS does not say)
    streams: int | None = None         # open streams
    sessions: list | None = None       # each stream's own status map, the first MAX_LISTED by id
    osc_map: dict | None = None        # the OSC map's counters (`lmdm serve --osc-map`), absent without a map


SUMMED = ("underruns", "gaps", "late_frames", "recoveries", "clipped")  # summed in the worker-wide status
MAX_LISTED = 512                   # streams listed in `sessions` (each map counts towards MAX_ARRAY and MAX_PAYLOAD)


@dataclass
class Ack:
    TYPE: ClassVar[str] = "ack"
    name: str
    value: Any
    understood: list | None = None  # prompt words the model knows (prompt params only)


@dataclass
class Error:
    TYPE: ClassVar[str] = "error"
    code: str
    text: str
    ref: str | None = None


@dataclass
class Pong:
    TYPE: ClassVar[str] = "pong"
    t: float = 0.0


TO_WORKER = {c.TYPE: c for c in (Hello, Audio, Request, Param, Reset, StatusQuery, Ping, Bye)}
TO_CLIENT = {c.TYPE: c for c in (Welcome, Generated, Status, Ack, Error, Pong, Bye)}


# --- encoding -----------------------------------------------------------------------------------------------------

def audio_bytes(data: np.ndarray) -> bytes:
    """(frames, channels) -> little-endian float32 interleaved bytes."""
    return np.ascontiguousarray(data, dtype="<f4").tobytes()


def encode(msg: Any) -> bytes:
    """One message dataclass -> one msgpack frame."""
    out: dict[str, Any] = {"v": VERSION, "type": msg.TYPE}
    if isinstance(msg, Audio):
        out.update(index=int(msg.index), frames=msg.frames, channels=msg.channels, rate=int(msg.rate),
                   data=audio_bytes(msg.data))
        if msg.play is not None:
            out["play"] = int(msg.play)
    else:
        for f in fields(msg):
            value = getattr(msg, f.name)
            if value is not None or f.name == "ref":
                out[f.name] = value
    return msgpack.packb(out, use_bin_type=True)


# --- decoding -----------------------------------------------------------------------------------------------------

def unpack(payload: bytes) -> dict:
    """Bytes -> the raw map, with the framing checks (size, msgpack, version, type present)."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError("too_large", f"message of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    try:
        # ext values are let through (as msgpack.ExtType): in a field the worker reads they are then bad_field
        raw = msgpack.unpackb(payload, raw=False, strict_map_key=False, max_bin_len=MAX_PAYLOAD,
                              max_str_len=MAX_PAYLOAD, max_array_len=MAX_ARRAY, max_map_len=MAX_MAP,
                              max_ext_len=MAX_PAYLOAD)
    except Exception as exc:  # msgpack raises several types for garbage and truncation
        raise ProtocolError("bad_msgpack", f"the frame is not valid msgpack ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_msgpack", f"the frame is msgpack {type(raw).__name__}, not a map")
    mtype = raw.get("type")
    ref = mtype if isinstance(mtype, str) else None
    if raw.get("v") != VERSION or isinstance(raw.get("v"), bool):
        raise ProtocolError("version", f"protocol version {raw.get('v')!r} is not supported; this worker speaks "
                                       f"version {VERSION}", ref)
    if not isinstance(mtype, str):
        raise ProtocolError("unknown_type", "the message has no `type` string")
    return raw


def decode(payload: bytes, table: dict[str, type] = TO_WORKER) -> Any:
    """Bytes -> a message dataclass; `table` is TO_WORKER (the worker's side) or TO_CLIENT (a client's side)."""
    raw = unpack(payload)
    mtype = raw["type"]
    cls = table.get(mtype)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {mtype!r}", mtype)
    return _DECODERS.get(cls, _decode_plain)(cls, raw)


def _get(raw: dict, name: str, kind: type | tuple, *, default: Any = ..., lo: float | None = None,
         hi: float | None = None, finite: bool = True) -> Any:
    """One field with its type and range checked; raises bad_field naming the field."""
    ref = raw["type"]
    if name not in raw or raw[name] is None:
        if default is ...:
            raise ProtocolError("bad_field", f"field `{name}` is missing", ref)
        return default
    value = raw[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise ProtocolError("bad_field", f"field `{name}` must be {names}, got {type(value).__name__}", ref)
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError("bad_field", f"field `{name}` must be finite", ref)
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ProtocolError("bad_field", f"field `{name}` = {value} is out of range [{lo}, {hi}]", ref)
    if isinstance(value, str) and len(value) > MAX_TEXT and name != "text":
        raise ProtocolError("bad_field", f"field `{name}` is longer than {MAX_TEXT} characters", ref)
    return value


def _check_rate(raw: dict, name: str = "rate") -> int:
    rate = _get(raw, name, int)
    if rate not in RATES:
        raise ProtocolError("rate", f"sample rate {rate} is not supported; use one of {list(RATES)}", raw["type"])
    return rate


def _check_channels(raw: dict, name: str) -> int:
    return _get(raw, name, int, lo=1, hi=MAX_CHANNELS)


def _check_frames(raw: dict) -> int:
    frames = _get(raw, "frames", int, lo=1)
    if frames > MAX_FRAMES:
        raise ProtocolError("too_large", f"{frames} frames in one message is over the limit of {MAX_FRAMES}",
                            raw["type"])
    return frames


def _decode_hello(cls: type, raw: dict) -> Hello:
    stream = _get(raw, "stream", str)
    if not STREAM_ID.match(stream):
        raise ProtocolError("bad_field", "field `stream` must be 1..64 characters of [A-Za-z0-9_-]", "hello")
    return Hello(stream=stream, rate=_check_rate(raw), channels=_check_channels(raw, "channels"),
                 out_channels=_check_channels(raw, "out_channels"), client=_get(raw, "client", str),
                 mode=_get(raw, "mode", str, default=None), block_size=_get(raw, "block_size", str,
                                                                                     default=None))


def _decode_audio(cls: type, raw: dict) -> Audio:
    index = _get(raw, "index", int, lo=0, hi=MAX_INDEX)
    frames = _check_frames(raw)
    channels = _check_channels(raw, "channels")
    rate = _check_rate(raw)
    data = _get(raw, "data", bytes)
    if len(data) != frames * channels * 4:
        raise ProtocolError("bad_audio", f"`data` holds {len(data)} bytes; {frames} frames x {channels} channels "
                                         f"of float32 need {frames * channels * 4}", raw["type"])
    samples = np.frombuffer(data, dtype="<f4").reshape(frames, channels).astype(np.float32)
    if cls is Generated:
        return cls(index=index, rate=rate, data=samples)
    return cls(index=index, rate=rate, data=samples, play=_play(raw))


def _play(raw: dict) -> int | None:
    return _get(raw, "play", int, default=None, lo=0, hi=MAX_INDEX)


def _decode_request(cls: type, raw: dict) -> Request:
    return Request(index=_get(raw, "index", int, lo=0, hi=MAX_INDEX), frames=_check_frames(raw), play=_play(raw))


def _decode_param(cls: type, raw: dict) -> Param:
    return Param(name=_get(raw, "name", str), value=_get(raw, "value", (str, int, float, bool), finite=False))


def _decode_status(cls: type, raw: dict) -> StatusQuery:
    stream = _get(raw, "stream", str, default=None)
    if stream not in (None, "*"):
        raise ProtocolError("bad_field", "field `stream` of `status` is \"*\" (the worker) or absent (this stream)",
                            "status")
    return StatusQuery(stream=stream)


def _decode_ping(cls: type, raw: dict) -> Ping:
    return Ping(t=float(_get(raw, "t", (int, float))))


def _decode_plain(cls: type, raw: dict) -> Any:
    """Worker -> client messages and field-less ones: take the known fields, ignore the rest."""
    known = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in raw.items() if k in known}
    try:
        return cls(**kwargs)
    except TypeError:
        missing = sorted(f.name for f in fields(cls) if f.name not in raw)
        raise ProtocolError("bad_field", f"`{cls.TYPE}` lacks fields {missing}", cls.TYPE) from None


_DECODERS = {Hello: _decode_hello, Audio: _decode_audio, Generated: _decode_audio, Request: _decode_request,
             Param: _decode_param, Ping: _decode_ping, StatusQuery: _decode_status}


def bound_input(data: np.ndarray) -> tuple[np.ndarray, int]:
    """Input audio made safe for any engine: NaN/Inf -> 0, the rest clipped to +-CLIP. Returns (audio, how many
    samples were changed); clean input comes back as it is, never copied."""
    with np.errstate(invalid="ignore"):
        if (np.abs(data) <= CLIP).all():  # False for NaN too
            return data, 0
    bad = ~np.isfinite(data)
    changed = int(bad.sum() + (np.abs(np.where(bad, 0.0, data)) > CLIP).sum())
    return np.clip(np.where(bad, np.float32(0.0), data), -CLIP, CLIP).astype(np.float32), changed
