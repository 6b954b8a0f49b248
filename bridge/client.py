"""A small Python client of the worker (docs/protocol.md): for tests, scripts and installations.

    c = Client("tcp://127.0.0.1:5555", stream="a", rate=48000, channels=2)
    w = c.connect()                      # Welcome: latency, block, max_frames ...
    out = c.stream_array(x)              # stream an array through, get the output aligned to the client clock
    c.set("prompt", "warm pad")          # Ack (or ClientError)
    c.close()
    Client("tcp://studio:5555", curve=CurveKeys.load("keys/clients/laptop"))   # a worker started with --curve-keys

The client keeps its own sample clock. It pings every heartbeat and reconnects (new DEALER, hello again) when the worker
answers `no_session` or stays silent for 3 heartbeats, so a restarted worker is picked up again.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import zmq

from bridge import protocol as W
from bridge.security import CurveKeys


class ClientError(RuntimeError):
    def __init__(self, err: W.Error):
        super().__init__(f"{err.code}: {err.text}")
        self.error = err


class Client:
    def __init__(self, address: str = "tcp://127.0.0.1:5555", stream: str = "main", rate: int = 48000,
                 channels: int = 2, out_channels: int | None = None, mode: str | None = None,
                 name: str = "lmdm.client", timeout: float = 10.0, curve: CurveKeys | None = None,
                 block_size: str | None = None):
        self.address, self.timeout, self.curve = address, timeout, curve
        self.hello = W.Hello(stream=stream, rate=rate, channels=channels,
                             out_channels=out_channels or channels, client=name, mode=mode, block_size=block_size)
        self.ctx = zmq.Context.instance()
        self.sock: zmq.Socket | None = None
        self.welcome: W.Welcome | None = None
        self.errors: list[W.Error] = []   # errors received while waiting for something else
        self.reconnects = 0
        self._last_heard = self._last_ping = time.monotonic()

    # --- connection -----------------------------------------------------------------------------------------------

    def connect(self) -> W.Welcome:
        """Open a DEALER, say hello, wait for welcome (raises ClientError on an error reply, TimeoutError)."""
        self._open()
        self.send(self.hello)
        self.welcome = self._wait(lambda m: isinstance(m, W.Welcome))
        return self.welcome

    def _open(self) -> None:
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 100)
        if self.curve is not None:
            self.curve.apply(self.sock)
        self.sock.connect(self.address)
        self._last_heard = time.monotonic()

    def _rehello(self) -> None:
        """New DEALER, hello again, without waiting: the welcome arrives through recv()."""
        self._open()
        self.send(self.hello)
        self.reconnects += 1

    def reconnect(self) -> W.Welcome:
        self.reconnects += 1
        return self.connect()

    def close(self) -> None:
        if self.sock is not None:
            try:  # never blocks: after a refused handshake the DEALER has no pipe and a send would wait forever
                self.sock.send(W.encode(W.Bye()), zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
            self.sock.close(linger=100)
            self.sock = None

    def __enter__(self) -> "Client":
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- messages -------------------------------------------------------------------------------------------------

    def send(self, msg: Any) -> None:
        self.sock.send(W.encode(msg))

    def send_raw(self, payload: bytes) -> None:
        self.sock.send(payload)

    def send_audio(self, index: int, data: np.ndarray, play: int | None = None) -> None:
        """Input at clock position `index`; `play`: the position this client is playing now (optional)."""
        data = np.asarray(data, np.float32)
        self.send(W.Audio(index=index, rate=self.hello.rate, data=data.reshape(len(data), -1), play=play))

    def request(self, index: int, frames: int, play: int | None = None) -> None:
        self.send(W.Request(index=index, frames=frames, play=play))

    def recv(self, timeout: float | None = None) -> Any | None:
        """The next message (decoded), or None after `timeout` seconds. Pongs are consumed here."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if self.sock.poll(max(0, int(left * 1000)), zmq.POLLIN):
                msg = W.decode(self.sock.recv(), W.TO_CLIENT)
                self._last_heard = time.monotonic()
                if isinstance(msg, W.Welcome):
                    self.welcome = msg
                elif isinstance(msg, W.Error) and msg.code == "no_session":
                    self._rehello()  # the worker restarted (or freed us): open the session again
                if not isinstance(msg, W.Pong):
                    return msg
            elif left <= 0:
                return None

    def _wait(self, want: Any, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            msg = self.recv(deadline - time.monotonic())
            if msg is None:
                break
            if want(msg):
                return msg
            if isinstance(msg, W.Error):
                raise ClientError(msg)
        raise TimeoutError(f"no answer from the worker at {self.address}")

    def set(self, name: str, value: Any, timeout: float | None = None) -> W.Ack:
        """Set a stream parameter and wait for its ack (ClientError on refusal)."""
        self.send(W.Param(name=name, value=value))
        return self._wait(lambda m: isinstance(m, W.Ack) and m.name == name, timeout)

    def reset(self) -> W.Ack:
        self.send(W.Reset())
        return self._wait(lambda m: isinstance(m, W.Ack) and m.name == "reset")

    def status(self) -> W.Status:
        self.send(W.StatusQuery())
        return self._wait(lambda m: isinstance(m, W.Status))

    def heartbeat(self) -> bool:
        """Ping when due; reconnect when the worker has been silent for 3 heartbeats. True if it reconnected."""
        hb = (self.welcome.heartbeat_ms if self.welcome else 1000) / 1000
        now = time.monotonic()
        if now - self._last_heard > 3 * hb:
            self._rehello()
            self._last_ping = now
            return True
        if now - self._last_ping >= hb:
            self.send(W.Ping(t=now))
            self._last_ping = now
        return False

    # --- streaming ------------------------------------------------------------------------------------------------

    def stream_array(self, x: np.ndarray, start: int = 0, chunk: int = 512, request_frames: int | None = None,
                     ahead: int = 8, timeout: float | None = None) -> np.ndarray:
        """Stream x (frames, channels) from clock position `start`; returns the output for positions
        [start, start + len(x)) as the client would play it (every generated frame exactly once, else an error).

        Requests run at most `ahead` requests past the input, so the worker is never asked far beyond it."""
        if self.welcome is None:
            self.connect()
        x = np.asarray(x, np.float32).reshape(len(x), -1)
        n, latency = len(x), self.welcome.latency
        req = request_frames or min(self.welcome.max_frames, 4096)
        out = np.zeros((n, self.welcome.out_channels), np.float32)
        got = np.zeros(n, np.int32)
        sent = next_req = done = 0
        window = ahead * req + latency  # input may run this far past the output received
        deadline = time.monotonic() + (timeout or max(self.timeout, 60.0))
        while done < n:
            self.heartbeat()  # the worker frees streams that stay silent while it computes
            while next_req < n and next_req + min(req, n - next_req) - latency <= sent:
                frames = min(req, n - next_req)
                self.request(start + next_req, frames)
                next_req += frames
            if sent < n and sent - done < window:
                k = min(chunk, n - sent)
                self.send_audio(start + sent, x[sent:sent + k])
                sent += k
                continue
            msg = self.recv(timeout=1.0)
            if msg is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"stream stalled: {done} of {n} frames back")
                continue
            if isinstance(msg, W.Error):
                raise ClientError(msg)
            if isinstance(msg, W.Generated):
                i = msg.index - start
                out[i:i + msg.frames] = msg.data
                got[i:i + msg.frames] += 1
                done += msg.frames
        if not (got == 1).all():
            raise AssertionError(f"output coverage broken: {int((got == 0).sum())} frames missing, "
                                 f"{int((got > 1).sum())} duplicated")
        return out
