"""What CURVE costs on the wire: ping round trips to a real `lmdm serve --model loopback`, plain vs `--curve-keys`.

    .venv/bin/python tests/bridge/bench_curve.py [--count 3000] [--pad 2048]

Each ping carries `pad` bytes more (a field the worker ignores: 2048 bytes = 256 stereo float32 frames) so the
figure covers encrypting and decrypting an audio-sized payload one way. Not a test: figures depend on the machine;
docs/security.md holds the ones measured.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click
import msgpack
import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WorkerProc  # noqa: E402

from bridge import protocol as W  # noqa: E402
from bridge import security  # noqa: E402


def round_trips(address: str, curve: security.CurveKeys | None, count: int, pad: int) -> np.ndarray:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    if curve is not None:
        curve.apply(sock)
    sock.connect(address)
    ms = []
    for i in range(count + 100):   # the first 100 warm up (handshake, caches)
        t = time.perf_counter()
        sock.send(msgpack.packb({"v": W.VERSION, "type": "ping", "t": float(i), "pad": b"\0" * pad}))
        if not sock.poll(5000):
            raise TimeoutError("no pong: is the worker refusing this client?")
        sock.recv()
        if i >= 100:
            ms.append(1000 * (time.perf_counter() - t))
    sock.close()
    return np.array(ms)


@click.command(help=__doc__.splitlines()[0])
@click.option("--count", type=int, default=3000, show_default=True, help="timed round trips (after 100 untimed)")
@click.option("--pad", type=int, default=2048, show_default=True, help="payload bytes per ping")
def main(count: int, pad: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        security.new_server(tmp)
        keys = security.CurveKeys.load(security.new_client(tmp, "bench"))
        for name, args, curve in (("plain", (), None), ("CURVE", ("--curve-keys", tmp), keys)):
            w = WorkerProc("--model", "loopback", *args)
            try:
                ms = round_trips(w.address, curve, count, pad)
            finally:
                w.stop()
            print(f"{name:6s} ping + {pad} B, {count} round trips: p50 {np.percentile(ms, 50):.3f} ms  "
                  f"p99 {np.percentile(ms, 99):.3f} ms  max {ms.max():.3f} ms")


if __name__ == "__main__":
    main()
