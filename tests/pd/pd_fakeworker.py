"""A small ZeroMQ ROUTER that plays the worker's side of docs/protocol.md badly on purpose.

Used where the real `lmdm serve` cannot misbehave: `garbage` answers everything with bytes that are not the protocol,
`welcome_then_garbage` opens a proper session and then sends malformed messages of every kind.
"""
from __future__ import annotations

import math
import struct
import threading

import msgpack
import zmq


class FakeWorker(threading.Thread):
    def __init__(self, behaviour: str) -> None:
        super().__init__(daemon=True)
        self.behaviour = behaviour
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("tcp://127.0.0.1:0")
        self.address = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.received: list[dict] = []
        self._halt = threading.Event()

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self._halt.is_set():
            if not poller.poll(20):
                continue
            ident, payload = self.sock.recv_multipart()
            try:
                msg = msgpack.unpackb(payload)
            except Exception:  # noqa: BLE001 - the client should never send garbage, but keep serving
                continue
            self.received.append(msg)
            for reply in self._replies(msg):
                self.sock.send_multipart([ident, reply])

    def _replies(self, msg: dict) -> list[bytes]:
        if self.behaviour == "garbage":
            return [b"\x00\xffnot msgpack at all", msgpack.packb([1, 2, 3]), msgpack.packb({"v": 9, "type": "pong"})]
        if msg.get("type") != "hello":
            return []
        welcome = {"v": 1, "type": "welcome", "stream": msg["stream"], "rate": msg["rate"],
                   "channels": msg["channels"], "out_channels": msg["out_channels"], "block": 1024,
                   "latency": 1024, "max_frames": 1024, "heartbeat_ms": 1000,
                   "model": {"name": "fake", "kind": "test", "sample_rate": msg["rate"], "channels": 1},
                   "modes": ["loopback"], "mode": "loopback"}
        bad = [
            b"\xc1",                                                        # never-used msgpack byte
            msgpack.packb({"v": 1, "type": "generated", "index": 0, "frames": 10, "channels": 1,
                           "rate": msg["rate"], "data": b"\x00" * 7}),        # wrong data length
            msgpack.packb({"v": 1, "type": "generated", "index": "x"}),     # wrong field type
            msgpack.packb({"v": 1, "type": "surprise"}),                    # unknown type
            msgpack.packb({"type": "pong", "t": 1.0}),                      # no version
            msgpack.packb({"v": 1, "type": "generated", "index": 10 ** 12, "frames": 1, "channels": 1,
                           "rate": msg["rate"], "data": b"\x00" * 4}),      # far beyond the buffer
            msgpack.packb({"v": 1, "type": "generated", "index": 0, "frames": 2, "channels": 1, "rate": msg["rate"],
                           "data": struct.pack("<2f", math.nan, math.inf)}),  # not finite
            msgpack.packb({"v": 1, "type": "error", "code": "bad_field", "text": "made up", "ref": "audio"}),
        ]
        return [msgpack.packb(welcome), *bad]

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)
        self.sock.close()
        self.ctx.term()
