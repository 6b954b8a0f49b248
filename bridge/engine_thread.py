"""The engine thread: owns every session and the model; socket I/O hands it work through a queue.

Replies go back to the I/O thread over an inproc PUSH socket (ZeroMQ sockets are not shared between threads):
`[b"z", identity, payload]` for a ZeroMQ client, `[b"o", msgpack([address, args])]` for an OSC reply.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import msgpack
import zmq

from bridge import osc
from bridge import params as P
from bridge import protocol as W
from bridge.session import PlayPosition, Session

log = logging.getLogger("lmdm.engine")

OSC = "osc"  # reply target for OSC commands; a bytes identity means a ZeroMQ client


class EngineThread(threading.Thread):
    def __init__(self, engine: Any, ctx: zmq.Context, outbox: str, *, max_frames: int = 8192,
                 heartbeat_ms: int = 1000, **session_opts: Any):
        super().__init__(name="lmdm-engine", daemon=True)
        self.engine, self.ctx, self.outbox = engine, ctx, outbox
        self.max_frames, self.heartbeat_ms, self.session_opts = max_frames, heartbeat_ms, session_opts
        self.q: queue.Queue = queue.Queue()
        self.sessions: dict[str, Session] = {}
        self.idents: dict[str, bytes] = {}
        self.defaults = P.defaults()
        self.stopping = False
        self.dirty: set[str] = set()   # streams that may have answers to compute or send

    def submit(self, *item: Any) -> None:
        self.q.put(item)

    def stop(self) -> None:
        """Stop after the item in hand; queued work is dropped (the worker is going away)."""
        self.stopping = True
        self.q.put(("stop",))
        self.join(timeout=60)

    # --- loop -----------------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.push = self.ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.connect(self.outbox)
        try:
            while True:
                # Take in everything queued before computing: input and requests are cheap to absorb, and a slow
                # model then works from the newest state instead of letting the queue grow behind it.
                try:
                    item = self.q.get(block=not self.dirty)
                except queue.Empty:
                    self._pump_round()
                    continue
                if item[0] == "stop" or self.stopping:
                    break
                try:
                    getattr(self, "_on_" + item[0])(*item[1:])
                except Exception as exc:  # one bad item must not stop the engine for every stream
                    log.exception("engine failed on %s", item[0])
                    self._error(self._target(item), "internal", f"the worker failed on this message: {exc}",
                                item[0], _osc_address(item))
        finally:
            self.push.close()

    def _pump_round(self) -> None:
        """One engine step per stream with work, round robin, answering what became answerable."""
        for sid in list(self.dirty):
            s = self.sessions.get(sid)
            if s is None:
                self.dirty.discard(sid)
                continue
            try:
                self._deliver(sid, s.pump(max_steps=1))
            except Exception as exc:
                log.exception("engine failed on stream %s", sid)
                self._error(self.idents.get(sid), "internal", f"the engine failed: {exc}", "request")
                s.requests.clear()
                s.more = False
            if not s.more:
                self.dirty.discard(sid)

    def _target(self, item: tuple) -> Any:
        for part in item[1:]:
            if isinstance(part, bytes) or part == OSC:
                return part
        return self.idents.get(item[1]) if len(item) > 1 and isinstance(item[1], str) else None

    # --- replies --------------------------------------------------------------------------------------------------

    def _send(self, ident: bytes, msg: Any) -> None:
        self.push.send_multipart([b"z", ident, W.encode(msg)], copy=False)

    def _osc(self, address: str, *args: Any) -> None:
        self.push.send_multipart([b"o", msgpack.packb([address, list(args)], use_bin_type=True)])

    def _error(self, target: Any, code: str, text: str, ref: str | None, address: str = "") -> None:
        """`address`: the OSC address the refused command came in on (the third argument of /lmdm/error)."""
        if target == OSC:
            self._osc("/lmdm/error", code, text, address)
        elif isinstance(target, bytes):
            self._send(target, W.Error(code=code, text=text, ref=ref))

    def _ack(self, target: Any, stream: str, name: str, value: Any, understood: list | None) -> None:
        if target == OSC:
            self._osc("/lmdm/ack", stream, name, value)
            if understood is not None:
                self._osc("/lmdm/understood", stream, *understood)
        elif isinstance(target, bytes):
            self._send(target, W.Ack(name=name, value=value, understood=understood))

    # --- work items -----------------------------------------------------------------------------------------------

    def _on_open(self, ident: bytes, hello: W.Hello, previous: str | None = None,
                 play: PlayPosition | None = None) -> None:
        """Build the new session first; only then replace this stream's old one and close the connection's
        `previous` stream. The I/O thread has checked the mode; a failure here leaves the connection without a
        session (the I/O thread is told, so later messages get no_session)."""
        values = dict(self.defaults)
        try:
            if hello.mode is not None:
                values["mode"] = P.validate("mode", hello.mode)
            s = Session(hello, self.engine, values, max_frames=self.max_frames, play=play, **self.session_opts)
        except (P.ParamError, ValueError) as exc:
            if previous is not None:
                self._on_close(previous)
            self.push.send_multipart([b"x", ident, hello.stream.encode()])
            return self._error(ident, "bad_field", f"cannot open the stream: {exc}", "hello")
        self._on_close(hello.stream)
        if previous is not None:
            self._on_close(previous)
        self.sessions[hello.stream], self.idents[hello.stream] = s, ident
        self._send(ident, W.Welcome(stream=s.stream, rate=s.rate, channels=s.in_ch, out_channels=s.out_ch,
                                    block=s.block, latency=s.latency, max_frames=self.max_frames,
                                    heartbeat_ms=self.heartbeat_ms, model=self.engine.info(s.rate),
                                    modes=list(self.engine.modes), mode=s.values["mode"]))
        log.info("stream %s open: %d Hz, %d -> %d ch, latency %d", s.stream, s.rate, s.in_ch, s.out_ch, s.latency)

    def _on_close(self, stream: str) -> None:
        self.dirty.discard(stream)
        if self.sessions.pop(stream, None) is not None:
            self.idents.pop(stream, None)
            log.info("stream %s closed", stream)

    def _deliver(self, stream: str, generated: list) -> None:
        ident = self.idents[stream]
        for g in generated:
            self._send(ident, g)

    def _on_audio(self, stream: str, msg: W.Audio) -> None:
        if stream in self.sessions:
            self.sessions[stream].audio(msg.index, msg.data)
            self.dirty.add(stream)

    def _on_request(self, stream: str, index: int, frames: int) -> None:
        if stream in self.sessions:
            self.sessions[stream].request(index, frames)
            self.dirty.add(stream)

    def _on_param(self, stream: str | None, name: str, value: Any, target: Any) -> None:
        """`stream` None: every stream, and the default for streams opened later."""
        if stream is None:
            self.defaults[name] = value
            self._ack(target, "*", name, value, None)
        for sid in ([stream] if stream is not None else list(self.sessions)):
            s = self.sessions.get(sid)
            if s is None:
                return self._error(target, "no_session", f"there is no stream {sid!r}", "param",
                                   osc.address(stream, name))
            try:
                applied, understood = s.set_param(name, value)
            except P.ParamError as exc:
                self._error(target, "bad_param", f"stream {sid}: {exc}", "param", osc.address(stream, name))
                continue
            if stream is not None or understood is not None:
                self._ack(target, sid, name, applied, understood)

    def _on_reset(self, stream: str | None, target: Any) -> None:
        for sid in ([stream] if stream is not None else list(self.sessions)):
            if sid not in self.sessions:
                return self._error(target, "no_session", f"there is no stream {sid!r}", "reset",
                                   osc.address(stream, "reset"))
            self.sessions[sid].reset()
            self._ack(target, sid, "reset", 1, None)
        if stream is None:
            self._ack(target, "*", "reset", 1, None)

    def _on_status(self, stream: str | None, target: Any) -> None:
        sids = [stream] if stream is not None else list(self.sessions)
        for sid in sids:
            s = self.sessions.get(sid)
            if s is None:
                return self._error(target, "no_session", f"there is no stream {sid!r}", "status",
                                   osc.address(stream, "status"))
            st = s.status(self.q.qsize())
            if target == OSC:
                self._osc("/lmdm/status", *(st[k] for k in osc.STATUS_ARGS))
                self._osc("/lmdm/health", *(st[k] for k in osc.HEALTH_ARGS))
            else:
                self._send(target, W.Status(**st))
        if target == OSC:
            self._osc("/lmdm/streams", *sorted(self.sessions))


def _osc_address(item: tuple) -> str:
    """The OSC address a work item came from (for /lmdm/error), or "" for ZeroMQ items."""
    if not (isinstance(item[-1], str) and item[-1] == OSC) or item[0] not in ("param", "reset", "status"):
        return ""
    return osc.address(item[1], item[2] if item[0] == "param" else item[0])
