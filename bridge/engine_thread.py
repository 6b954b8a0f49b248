"""The engine thread: owns every session and the model; socket I/O hands it work items (work.py) through a queue.

Replies go back to the I/O thread over an inproc PUSH socket (ZeroMQ sockets are not shared between threads):
`[b"z", identity, payload]` for a ZeroMQ client, `[b"o", msgpack([address, args])]` for an OSC reply, `[b"x",
identity, stream]` when a stream could not be opened.

Batching (`batch` > 1, an engine with `step_together`): each round, the sessions whose next block is due are taken in
deadline order (the least slack between the requested index and the client's stated play position first, so a late
session is served first), up to `batch` of them, and their blocks computed together; the others wait for the next
round. Every session is then pumped in the same order, and answers what became answerable.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

import msgpack
import zmq

from bridge import osc
from bridge import params as P
from bridge import protocol as W
from bridge import work
from bridge.engines import Engine
from bridge.session import Session
from bridge.work import ReplyTo, ToClient, ToOsc

log = logging.getLogger("lmdm.engine")


class EngineThread(threading.Thread):
    def __init__(self, engine: Engine, ctx: zmq.Context, outbox: str, *, max_frames: int = 8192,
                 heartbeat_ms: int = 1000, block_size: str = "long", batch: int = 1):
        super().__init__(name="lmdm-engine", daemon=True)
        self.engine, self.ctx, self.outbox = engine, ctx, outbox
        # sessions per batched step; 1 or an engine without step_together: one session's block after another
        self.batch = batch if hasattr(engine, "step_together") else 1
        self.block_size = block_size   # of a hello that names none
        self.max_frames, self.heartbeat_ms = max_frames, heartbeat_ms
        self.q: queue.Queue[work.Item] = queue.Queue()
        self.sessions: dict[str, Session] = {}
        self.idents: dict[str, bytes] = {}
        self.defaults = P.defaults()
        self.stopping = False
        self.dirty: set[str] = set()   # streams that may have answers to compute or send
        self.handlers: dict[type, Callable[[Any], None]] = {
            work.Open: self._open, work.Close: self._close, work.AudioIn: self._audio, work.RequestIn: self._request,
            work.SetParam: self._param, work.Reset: self._reset, work.QueryStatus: self._status}

    def submit(self, item: work.Item) -> None:
        self.q.put(item)

    def stop(self) -> None:
        """Stop after the item in hand; queued work is dropped (the worker is going away)."""
        self.stopping = True
        self.q.put(work.Stop())
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
                if isinstance(item, work.Stop) or self.stopping:
                    break
                self._handle(item)
        finally:
            self.push.close()

    def _handle(self, item: work.Item) -> None:
        try:
            self.handlers[type(item)](item)
        except Exception as exc:  # one bad item must not stop the engine for every stream
            log.exception("engine failed on %s", type(item).__name__)
            self._error(item.reply, "internal", f"the worker failed on this message: {exc}", _REF[type(item)])

    def _pump_round(self) -> None:
        """One engine step per stream with work (round robin, or batched in deadline order), answering what became
        answerable."""
        for sid in [sid for sid in self.dirty if sid not in self.sessions]:
            self.dirty.discard(sid)
        order, stepped = list(self.dirty), None
        if self.batch > 1:
            order, stepped = self._batched_step()
        for sid in order:
            s = self.sessions[sid]
            try:
                # batched: a session steps only to take the block computed for it (the others wait their turn)
                self._deliver(sid, s.pump(max_steps=1 if stepped is None or sid in stepped else 0))
            except Exception as exc:
                log.exception("engine failed on stream %s", sid)
                self._error(ToClient(self.idents[sid]), "internal", f"the engine failed: {exc}", "request")
                s.requests.clear()
                s.more = False
            if not (s.more if stepped is None else s.wants_block()):  # batched: pump(0) always says `more`
                self.dirty.discard(sid)

    def _batched_step(self) -> tuple[list[str], set[str]]:
        """Compute the due sessions' next blocks together, the least slack first (at most `batch`); returns the
        dirty sessions in deadline order (those with no block due last) and the ones stepped."""
        due = sorted((self.sessions[sid].slack_s(), sid) for sid in self.dirty if self.sessions[sid].wants_block())
        chosen = [sid for _, sid in due[:self.batch]]
        if chosen:
            try:
                self.engine.step_together([self.sessions[sid].engine_stream for sid in chosen])
            except Exception as exc:
                log.exception("engine failed on a batch of %d streams", len(chosen))
                for sid in chosen:
                    self._error(ToClient(self.idents[sid]), "internal", f"the engine failed: {exc}", "request")
                    self.sessions[sid].requests.clear()
                    self.sessions[sid].more = False
                    self.dirty.discard(sid)
                return [], set()
        first = [sid for _, sid in due]
        return first + [sid for sid in self.dirty if sid not in set(first)], set(chosen)

    # --- replies --------------------------------------------------------------------------------------------------

    def _send(self, ident: bytes, msg: Any) -> None:
        self.push.send_multipart([b"z", ident, W.encode(msg)], copy=False)

    def _osc(self, address: str, *args: Any, to: tuple[str, int] | None = None) -> None:
        self.push.send_multipart([b"o", msgpack.packb([address, list(args), to], use_bin_type=True)])

    def _error(self, reply: ReplyTo | None, code: str, text: str, ref: str | None) -> None:
        if isinstance(reply, ToOsc):
            self._osc("/lmdm/error", code, text, reply.address, to=reply.to)
        elif isinstance(reply, ToClient):
            self._send(reply.ident, W.Error(code=code, text=text, ref=ref))

    def _ack(self, reply: ReplyTo | None, stream: str, name: str, value: Any, understood: list | None) -> None:
        if reply is None:  # an OSC map's value: nobody to answer
            return
        if isinstance(reply, ToOsc):
            self._osc("/lmdm/ack", stream, name, value)
            if understood is not None:
                self._osc("/lmdm/understood", stream, *understood)
        else:
            self._send(reply.ident, W.Ack(name=name, value=value, understood=understood))

    def _no_session(self, reply: ReplyTo, sid: str, ref: str) -> None:
        self._error(reply, "no_session", f"there is no stream {sid!r}", ref)

    # --- work items -----------------------------------------------------------------------------------------------

    def _open(self, item: work.Open) -> None:
        """Build the new session first; only then replace this stream's old one and close the connection's
        `previous` stream. The I/O thread has checked the mode; a failure here leaves the connection without a
        session (the I/O thread is told, so later messages get no_session)."""
        hello, ident = item.hello, item.reply.ident
        values = dict(self.defaults)
        try:
            if hello.mode is not None:
                values["mode"] = P.validate("mode", hello.mode)
            s = Session(hello, self.engine, values, max_frames=self.max_frames, play=item.play,
                        block_size=self.block_size)
        except ValueError as exc:  # ParamError included
            if item.previous is not None:
                self._close(work.Close(item.previous))
            self.push.send_multipart([b"x", ident, hello.stream.encode()])
            return self._error(item.reply, "bad_field", f"cannot open the stream: {exc}", "hello")
        self._close(work.Close(hello.stream))
        if item.previous is not None:
            self._close(work.Close(item.previous))
        self.sessions[hello.stream], self.idents[hello.stream] = s, ident
        self._send(ident, W.Welcome(stream=s.stream, rate=s.rate, channels=s.in_ch, out_channels=s.out_ch,
                                    block=s.block, latency=s.latency, max_frames=self.max_frames,
                                    heartbeat_ms=self.heartbeat_ms, model=self.engine.info(s.rate),
                                    modes=list(self.engine.modes), mode=s.values["mode"],
                                    block_size=s.block_size))
        log.info("stream %s open: %d Hz, %d -> %d ch, latency %d", s.stream, s.rate, s.in_ch, s.out_ch, s.latency)

    def _close(self, item: work.Close) -> None:
        self.dirty.discard(item.stream)
        if self.sessions.pop(item.stream, None) is not None:
            self.idents.pop(item.stream, None)
            log.info("stream %s closed", item.stream)

    def _deliver(self, stream: str, generated: list[W.Generated]) -> None:
        ident = self.idents[stream]
        for g in generated:
            self._send(ident, g)

    def _audio(self, item: work.AudioIn) -> None:
        if item.stream in self.sessions:
            self.sessions[item.stream].audio(item.msg.index, item.msg.data)
            self.dirty.add(item.stream)

    def _request(self, item: work.RequestIn) -> None:
        if item.stream in self.sessions:
            self.sessions[item.stream].request(item.index, item.frames)
            self.dirty.add(item.stream)

    def _targets(self, stream: str | None) -> list[str]:
        return [stream] if stream is not None else list(self.sessions)

    def _param(self, item: work.SetParam) -> None:
        if item.stream is None:
            self.defaults[item.name] = item.value
            self._ack(item.reply, "*", item.name, item.value, None)
        for sid in self._targets(item.stream):
            s = self.sessions.get(sid)
            if s is None:
                return self._no_session(item.reply, sid, "param")
            try:
                applied, understood = s.set_param(item.name, item.value)
            except P.ParamError as exc:
                self._error(item.reply, "bad_param", f"stream {sid}: {exc}", "param")
                continue
            if item.stream is not None or understood is not None:
                self._ack(item.reply, sid, item.name, applied, understood)

    def _reset(self, item: work.Reset) -> None:
        for sid in self._targets(item.stream):
            if sid not in self.sessions:
                return self._no_session(item.reply, sid, "reset")
            self.sessions[sid].reset()
            self._ack(item.reply, sid, "reset", 1, None)
        if item.stream is None:
            self._ack(item.reply, "*", "reset", 1, None)

    def _status(self, item: work.QueryStatus) -> None:
        if isinstance(item.reply, ToClient) and item.worker is not None:
            return self._send(item.reply.ident, self._worker_status(item.worker))
        to = item.reply.to if isinstance(item.reply, ToOsc) else None
        for sid in self._targets(item.stream):
            s = self.sessions.get(sid)
            if s is None:
                return self._no_session(item.reply, sid, "status")
            st = s.status(self.q.qsize())
            if isinstance(item.reply, ToOsc):
                self._osc("/lmdm/status", *(st[k] for k in osc.STATUS_ARGS), to=to)
                self._osc("/lmdm/health", *(st[k] for k in osc.HEALTH_ARGS), to=to)
            else:
                self._send(item.reply.ident, W.Status(**st))
        if isinstance(item.reply, ToOsc):
            self._osc("/lmdm/streams", *sorted(self.sessions), to=to)
            if item.worker is not None:
                w = self._worker_status(item.worker)
                m = w.osc_map or {}
                self._osc("/lmdm/worker", w.uptime_s, len(self.sessions), w.underruns, w.gaps, w.rss_mib or 0.0,
                          *(m.get(k, 0) for k in osc.WORKER_MAP_ARGS), to=to)

    def _worker_status(self, worker: dict) -> W.Status:
        """The worker-wide `status` (stream "*"): counters summed over the streams, each stream's own status with
        its `rate` in `sessions` (the first MAX_LISTED by id), and the I/O thread's figures (uptime_s, rss_mib,
        osc_map)."""
        q = self.q.qsize()
        rows = [dict(self.sessions[sid].status(q), rate=self.sessions[sid].rate) for sid in sorted(self.sessions)]
        blocks = sum(r["blocks"] for r in rows)
        return W.Status(stream="*", compute_ms=max((r["compute_ms"] for r in rows), default=0.0),
                        compute_ms_avg=round(sum(r["compute_ms_avg"] * r["blocks"] for r in rows) / blocks, 3)
                        if blocks else 0.0, queue=q, blocks=blocks,
                        latency=max((r["latency"] for r in rows), default=0),
                        batch=max((r["batch"] for r in rows), default=0),
                        **{k: sum(r[k] for r in rows) for k in W.SUMMED},
                        streams=len(rows), sessions=rows[:W.MAX_LISTED], **worker)


# The message type an item answers, for the `ref` of an error reply.
_REF: dict[type, str] = {work.Open: "hello", work.Close: "bye", work.AudioIn: "audio", work.RequestIn: "request",
                         work.SetParam: "param", work.Reset: "reset", work.QueryStatus: "status"}
