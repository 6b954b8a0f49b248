"""What the OSC map costs the worker: CPU seconds of a real `lmdm serve --model loopback` over `SECONDS` idle, then
with a sensor sending at `RATE` Hz to a smoothed entry (the control tick runs all the time), then with `RATE` Hz to an
address no entry names; and the time from a sensor message to its value in the stream's status (p50, p90).

    python docs/installations/map_cost.py        # the figures of docs/installations.md "Costs"
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from pythonosc.udp_client import SimpleUDPClient  # noqa: E402

from bridge.bench import process_sample  # noqa: E402
from bridge.client import Client  # noqa: E402
from tests.bridge.conftest import WorkerProc  # noqa: E402

SECONDS, RATE = 10.0, 100
MAP = '[[map]]\naddress = "/s/a"\nparam = "gain"\ninput = [0, 1]\noutput = [0, 2]\nsmooth_ms = 5000\n' \
      '[[map]]\naddress = "/s/b"\nparam = "mix"\ninput = [0, 1]\n'


def cpu_over(w: WorkerProc, send) -> float:
    c0, t0 = process_sample(w.proc.pid)["cpu_s"], time.monotonic()
    n = 0
    while time.monotonic() - t0 < SECONDS:
        if send:
            send(n)
        n += 1
        time.sleep(1 / RATE)
    return (process_sample(w.proc.pid)["cpu_s"] - c0) / SECONDS


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "map.toml"
    path.write_text(MAP)
    w = WorkerProc("--model", "loopback", "--osc-map", str(path))
    try:
        osc = SimpleUDPClient("127.0.0.1", w.osc_port)
        idle = cpu_over(w, None)
        moving = cpu_over(w, lambda n: osc.send_message("/s/a", (n % 100) / 100))
        unknown = cpu_over(w, lambda n: osc.send_message("/s/none", 1.0))
        lags = []
        with Client(w.address, stream="lag", rate=48000, channels=1) as c:
            for i in range(50):
                value = (i % 2) * 0.5 + 0.25
                t0 = time.monotonic()
                osc.send_message("/s/b", value)
                while c.status().params["mix"] != value:
                    pass
                lags.append(1000 * (time.monotonic() - t0))
    finally:
        w.stop()
    q = statistics.quantiles(lags, n=10)
    print(f"worker CPU: idle {100 * idle:.1f} %, sensor at {RATE} Hz on a smoothed entry {100 * moving:.1f} %, "
          f"{RATE} Hz to an unknown address {100 * unknown:.1f} % (of one core, {SECONDS:.0f} s each)")
    print(f"sensor message -> value in status: p50 {statistics.median(lags):.1f} ms, p90 {q[8]:.1f} ms "
          f"(50 messages, status polled)")


if __name__ == "__main__":
    main()
