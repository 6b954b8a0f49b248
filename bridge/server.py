"""The worker's socket I/O: one ROUTER for the wire protocol, one UDP socket for OSC, one poll loop.

This thread validates every frame, answers what needs no model (errors, pongs) and hands the rest to the engine
thread; it never waits on the model. Replies from the engine arrive on an inproc PULL socket and go out here.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
import zmq

from bridge import osc, security, work
from bridge.bench import process_sample
from bridge import protocol as W
from bridge.engine_thread import EngineThread
from bridge.engines import Engine
from bridge.oscmap import OscMap
from bridge.params import ParamError, validate
from bridge.session import PlayPosition
from bridge.work import ToClient

log = logging.getLogger("lmdm.server")

BATCH = 8   # `lmdm serve --batch` default (docs/architecture.md "The worker" says why)


@dataclass
class ServerConfig:
    zmq: str = "tcp://127.0.0.1:5555"
    osc_host: str = "127.0.0.1"
    osc_port: int | None = 9000          # None: no OSC
    osc_reply: tuple[str, int] | None = ("127.0.0.1", 9001)
    heartbeat_ms: int = 1000
    client_timeout_ms: int | None = None  # None: 5 x heartbeat_ms, the rule of docs/protocol.md
    max_frames: int = 8192
    curve_keys: str | None = None        # key folder (bridge/security.py); None: no CURVE
    osc_allow: tuple[str, ...] | None = None  # OSC senders taken (ADDR[/MASK]); None: loopback only
    block_size: str = "long"             # of a hello that names none ("long" | "short")
    batch: int = BATCH                   # sessions whose due blocks share one model batch (1: one after another)

    @property
    def timeout_ms(self) -> int:
        return 5 * self.heartbeat_ms if self.client_timeout_ms is None else self.client_timeout_ms


@dataclass
class Conn:
    """What the I/O thread knows of one DEALER connection: enough to validate its frames."""

    stream: str
    rate: int
    channels: int
    last_seen: float
    req_end: int = -1
    play: PlayPosition | None = None  # shared with the engine thread's session: the client's stated play position
    taken: bool = False               # another connection took the stream over: everything but bye is refused


class Worker:
    def __init__(self, engine: Engine, cfg: ServerConfig, osc_map: OscMap | None = None):
        self.engine, self.cfg, self.osc_map = engine, cfg, osc_map
        self.started = time.monotonic()
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.MAXMSGSIZE, 8 * W.MAX_PAYLOAD)  # beyond that: drop the peer, not our memory
        self.router.setsockopt(zmq.SNDHWM, 10000)
        self.router.setsockopt(zmq.RCVHWM, 10000)
        self.guard = security.Guard(self.ctx, self.router, cfg.curve_keys, cfg.osc_allow)
        self.router.bind(cfg.zmq)
        self.endpoint = self.router.getsockopt(zmq.LAST_ENDPOINT).decode()
        outbox = f"inproc://lmdm-outbox-{id(self)}"
        self.pull = self.ctx.socket(zmq.PULL)
        self.pull.bind(outbox)
        self.udp = None
        self.osc_port = None
        if cfg.osc_port is not None:
            osc.limit_library_log()
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((cfg.osc_host, cfg.osc_port))
            self.udp.setblocking(False)
            self.osc_port = self.udp.getsockname()[1]
        self.osc_reply = cfg.osc_reply
        self.conns: dict[bytes, Conn] = {}
        self.streams: dict[str, bytes] = {}
        self.engine_thread = EngineThread(engine, self.ctx, outbox, max_frames=cfg.max_frames,
                                          heartbeat_ms=cfg.heartbeat_ms, block_size=cfg.block_size,
                                          batch=cfg.batch)
        self.running = True   # set before serve(): a stop() while starting (a SIGTERM) must not be lost

    # --- loop -----------------------------------------------------------------------------------------------------

    def serve(self) -> None:
        """Run until stop() (or a signal handler calling it)."""
        self.engine_thread.start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.pull, zmq.POLLIN)
        if self.udp is not None:
            poller.register(self.udp, zmq.POLLIN)
        next_sweep = next_tick = time.monotonic()
        idle_ms = max(10, self.cfg.heartbeat_ms // 4)
        try:
            while self.running:
                moving = self.osc_map is not None and self.osc_map.moving()
                ready = dict(poller.poll(timeout=min(idle_ms, self.osc_map.tick_ms) if moving else idle_ms))
                if self.pull in ready:
                    self._drain_outbox()
                if self.router in ready:
                    self._drain_router()
                if self.udp is not None and self.udp.fileno() in ready:
                    self._drain_udp()
                now = time.monotonic()
                if self.osc_map is not None and now >= next_tick:  # at most once per tick_ms, however busy
                    self._control(now)
                    next_tick = now + self.osc_map.tick_ms / 1000
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + self.cfg.heartbeat_ms / 4000
        finally:
            self._shutdown()

    def stop(self) -> None:
        self.running = False

    def _shutdown(self) -> None:
        for ident in list(self.conns):
            self._send(ident, W.Bye(reason="the worker is shutting down"))
        self.engine_thread.stop()
        self._drain_outbox()
        if self.udp is not None:
            self.udp.close()
        self.router.close()
        self.pull.close()
        self.guard.close()
        self.ctx.term()

    def _drain_outbox(self) -> None:
        while True:
            try:
                parts = self.pull.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            kind = parts[0].bytes
            if kind == b"z":
                self.router.send_multipart([parts[1], parts[2]], copy=False)
            elif kind == b"x":  # the engine could not open the stream this connection asked for
                self._drop(parts[1].bytes, stream=parts[2].bytes.decode())
            else:
                address, args, to = msgpack.unpackb(parts[1].bytes, raw=False)
                self._osc_send(address, args, to)

    def _drain_router(self) -> None:
        for _ in range(1000):  # bounded so replies and OSC get their turn
            try:
                parts = self.router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            ident = parts[0]
            if len(parts) != 2:
                self._send(ident, W.Error(code="bad_msgpack", text="send one frame holding one msgpack map"))
                continue
            try:
                self._handle(ident, W.decode(parts[1]))
            except W.ProtocolError as exc:
                self._send(ident, W.Error(code=exc.code, text=exc.text, ref=exc.ref))

    def _sweep(self, now: float) -> None:
        """Free streams whose client has sent nothing for the client timeout (5 x heartbeat_ms by default)."""
        limit = self.cfg.timeout_ms / 1000
        for ident, conn in list(self.conns.items()):
            if now - conn.last_seen > limit:
                log.info("stream %s: client silent for %.1f s, freed", conn.stream, now - conn.last_seen)
                self._drop(ident)

    def _drop(self, ident: bytes, stream: str | None = None) -> None:
        """Forget a connection (and close its stream); with `stream`, only while it is bound to that stream."""
        if stream is not None and getattr(self.conns.get(ident), "stream", None) != stream:
            return
        conn = self.conns.pop(ident, None)
        if conn is not None and self.streams.get(conn.stream) == ident:
            del self.streams[conn.stream]
            self.engine_thread.submit(work.Close(conn.stream))

    def _send(self, ident: bytes, msg: Any) -> None:
        try:
            self.router.send_multipart([ident, W.encode(msg)], zmq.NOBLOCK)
        except zmq.Again:
            log.warning("send queue full; a reply was dropped")

    # --- wire protocol --------------------------------------------------------------------------------------------

    def _handle(self, ident: bytes, msg: Any) -> None:
        if isinstance(msg, W.Hello):
            return self._hello(ident, msg)
        conn = self.conns.get(ident)
        if isinstance(msg, W.StatusQuery) and msg.stream == "*":  # a monitor or health check: no session needed
            if conn is not None:
                conn.last_seen = time.monotonic()
            return self.engine_thread.submit(work.QueryStatus(None, ToClient(ident), self.worker_figures()))
        if conn is None:
            if not isinstance(msg, W.Bye):
                raise W.ProtocolError("no_session", "this connection has no session (did the worker restart?): "
                                                    "send hello again", msg.TYPE)
            return
        conn.last_seen = time.monotonic()
        sid = conn.stream
        if conn.taken:
            if isinstance(msg, W.Bye):
                return self._drop(ident)
            raise W.ProtocolError("taken_over", f"stream {sid!r} was taken over by another connection's hello; "
                                                "this connection has no session", msg.TYPE)
        if getattr(msg, "play", None) is not None:
            conn.play.value = msg.play
        if isinstance(msg, W.Audio):
            if msg.rate != conn.rate or msg.channels != conn.channels:
                raise W.ProtocolError("rate", f"audio is {msg.rate} Hz x {msg.channels} ch but the stream was "
                                              f"opened with {conn.rate} Hz x {conn.channels} ch", "audio")
            clean = bool(np.isfinite(msg.data).all())  # before the engine thread bounds the samples in place
            self.engine_thread.submit(work.AudioIn(sid, msg, ToClient(ident)))
            if not clean:
                raise W.ProtocolError("bad_audio", f"audio at index {msg.index} holds NaN/Inf; those samples are "
                                                   "played as silence", "audio")
        elif isinstance(msg, W.Request):
            if msg.index < conn.req_end:
                raise W.ProtocolError("bad_request", f"request at {msg.index} starts before the end of the previous "
                                                     f"one ({conn.req_end}); requests must move forward", "request")
            conn.req_end = msg.index + msg.frames
            self.engine_thread.submit(work.RequestIn(sid, msg.index, msg.frames, ToClient(ident)))
        elif isinstance(msg, W.Ping):
            self._send(ident, W.Pong(t=msg.t))
        elif isinstance(msg, W.Param):
            try:
                value = validate(msg.name, msg.value)
            except ParamError as exc:
                raise W.ProtocolError("bad_param", str(exc), "param") from None
            self.engine_thread.submit(work.SetParam(sid, msg.name, value, ToClient(ident)))
        elif isinstance(msg, W.Reset):
            conn.req_end = -1
            self.engine_thread.submit(work.Reset(sid, ToClient(ident)))
        elif isinstance(msg, W.StatusQuery):
            self.engine_thread.submit(work.QueryStatus(sid, ToClient(ident)))
        elif isinstance(msg, W.Bye):
            self._drop(ident)

    def _hello(self, ident: bytes, msg: W.Hello) -> None:
        """Open (or re-open) this connection's session. A hello refused here changes nothing; the engine thread
        replaces the connection's old session only once the new one is built."""
        if msg.mode is not None:
            self._check_mode(msg.mode)
        if msg.block_size is not None and msg.block_size not in self.engine.block_sizes:
            raise W.ProtocolError("bad_field", f"field `block_size`: this model streams "
                                               f"{list(self.engine.block_sizes)} blocks, not {msg.block_size!r}",
                                  "hello")
        holder = self.streams.get(msg.stream)
        if holder is not None and holder != ident and holder in self.conns:
            # The same stream from another connection (a client that reconnected, or two patches with one id): the
            # newest hello wins, and the first connection is told so instead of losing its session silently.
            self.conns[holder].taken = True
            self._send(holder, W.Error(code="taken_over", text=f"stream {msg.stream!r} was taken over by another "
                                                               "connection's hello", ref="hello"))
        previous = None
        old = self.conns.get(ident)
        if old is not None and not old.taken and old.stream != msg.stream and self.streams.get(old.stream) == ident:
            previous = old.stream
            del self.streams[previous]
        conn = Conn(stream=msg.stream, rate=msg.rate, channels=msg.channels, last_seen=time.monotonic(),
                    play=PlayPosition())
        self.conns[ident] = conn
        self.streams[msg.stream] = ident
        self.engine_thread.submit(work.Open(ToClient(ident), msg, previous, conn.play))

    def _check_mode(self, mode: str) -> None:
        try:
            mode = validate("mode", mode)
        except ParamError as exc:
            raise W.ProtocolError("bad_field", f"field `mode`: {exc}", "hello") from None
        if mode not in self.engine.modes:
            raise W.ProtocolError("bad_field", f"field `mode`: this model runs {list(self.engine.modes)}, not "
                                               f"{mode!r}", "hello")

    # --- OSC ------------------------------------------------------------------------------------------------------

    def _drain_udp(self) -> None:
        for _ in range(1000):
            try:
                dgram, (host, _port) = self.udp.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP port unreachable from an earlier reply
                continue
            if not self.guard.admit(host):
                continue
            for cmd in osc.commands(dgram, host, self.osc_map.handle if self.osc_map is not None else None):
                self._osc_command(cmd)

    def _control(self, now: float) -> None:
        """The OSC map's values at `now` (smoothed), as parameter changes nobody is answered for."""
        for stream, name, value in self.osc_map.tick(now):
            self.engine_thread.submit(work.SetParam(stream, name, value, None))

    def worker_figures(self) -> dict:
        """What the I/O thread knows for the worker-wide status: uptime, memory, the OSC map's counters."""
        try:
            rss = round(process_sample(os.getpid())["rss_mib"], 1)
        except OSError:  # no /proc (macOS): the figure is left out
            rss = None
        return dict(uptime_s=round(time.monotonic() - self.started, 3), rss_mib=rss,
                    osc_map=self.osc_map.status() if self.osc_map is not None else None)

    def _osc_command(self, cmd: osc.Command) -> None:
        """Answer what needs no model here; the rest is a work item for the engine thread."""
        if isinstance(cmd, osc.Refused):
            self._osc_send("/lmdm/error", [cmd.code, cmd.text, cmd.address])
        elif isinstance(cmd, osc.Ping):
            self._osc_send("/lmdm/pong", [])
        elif isinstance(cmd, osc.ReplyAddress):
            self.osc_reply = (cmd.host, cmd.port)
            self._osc_send("/lmdm/ack", ["*", "reply_to", f"{cmd.host}:{cmd.port}"])
        elif isinstance(cmd, work.QueryStatus) and cmd.stream is None:
            self.engine_thread.submit(dataclasses.replace(cmd, worker=self.worker_figures()))
        else:
            self.engine_thread.submit(cmd)

    def _osc_send(self, address: str, args: list, to: tuple[str, int] | None = None) -> None:
        to = to or self.osc_reply
        if self.udp is None or to is None:
            return
        try:
            self.udp.sendto(osc.message(address, args), tuple(to))
        except OSError as exc:
            log.debug("OSC reply to %s failed: %s", to, exc)
