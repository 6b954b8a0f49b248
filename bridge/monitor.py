"""`lmdm monitor`: a live terminal view of a running worker, local or remote (rich Live + Table).

It asks the worker-wide `status` (stream "*", docs/protocol.md) over its own DEALER, which needs no session, so
watching never disturbs a stream. One row per stream: mode, prompt, latency, compute per block, blocks, underruns,
late frames, gaps, batch; above them the worker's uptime, queue, memory and OSC map counters.
"""
from __future__ import annotations

import time
from typing import Any

import zmq
from rich.console import Group
from rich.table import Table
from rich.text import Text

from bridge import protocol as W
from bridge.security import CurveKeys

PROMPT_CHARS = 24


class Probe:
    """A DEALER that asks for the worker-wide status; a new socket after a silence, so a restarted worker is found
    again and stale answers are not read as new ones."""

    def __init__(self, address: str, curve: CurveKeys | None = None, timeout: float = 2.0):
        self.address, self.curve, self.timeout = address, curve, timeout
        self.ctx = zmq.Context.instance()
        self.sock: zmq.Socket | None = None

    def _open(self) -> zmq.Socket:
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            self.curve.apply(sock)
        sock.connect(self.address)
        return sock

    def ask(self) -> W.Status | None:
        """The worker's status, or None when it did not answer within `timeout`."""
        if self.sock is None:
            self.sock = self._open()
        self.sock.send(W.encode(W.StatusQuery(stream="*")))
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.sock.poll(int(left * 1000) + 1):
                break
            msg = W.decode(self.sock.recv(), W.TO_CLIENT)
            if isinstance(msg, W.Status) and msg.stream == "*":
                return msg
        self.close()
        return None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close(linger=0)
            self.sock = None


def _ms(samples: int, rate: int | None) -> str:
    return f"{1000 * samples / rate:.0f}" if rate else f"{samples} smp"


COLUMNS = ("stream", "mode", "prompt", "latency", "compute", "mean", "blocks", "under", "late", "gaps", "batch")
NARROW = 100            # below this many columns the table leaves out NARROW_DROPS
NARROW_DROPS = ("mean", "late", "batch")


def streams_table(st: W.Status, width: int = 120) -> Table:
    shown = [c for c in COLUMNS if width >= NARROW or c not in NARROW_DROPS]
    t = Table(expand=False, header_style="bold", caption_justify="left",
              caption="latency, compute" + (" (last block), mean" if "mean" in shown else "") + " in ms; under: "
                      "requests answered late" + ("; late: frames late" if "late" in shown else ""))
    for name in shown:
        t.add_column(name, justify="left" if name in ("stream", "mode", "prompt") else "right", no_wrap=True,
                     overflow="ellipsis", min_width=6 if name == "stream" else None,
                     max_width=(PROMPT_CHARS if width >= NARROW else 14) if name == "prompt" else None)
    for row in st.sessions or []:
        cells = _cells(row)
        t.add_row(*(cells[c] for c in shown))
    return t


def _cells(row: dict) -> dict[str, Any]:
    p = row.get("params", {})
    late = row.get("underruns", 0)
    return dict(stream=row["stream"], mode=str(p.get("mode", "")), prompt=str(p.get("prompt", "")),
                latency=_ms(row["latency"], row.get("rate")), compute=f"{row['compute_ms']:.1f}",
                mean=f"{row['compute_ms_avg']:.1f}", blocks=str(row["blocks"]),
                under=Text(str(late), style="bold red" if late else ""), late=str(row.get("late_frames", 0)),
                gaps=str(row["gaps"]), batch=str(row.get("batch", 0)))


def header(st: W.Status, address: str) -> Text:
    rss = f"{st.rss_mib:.0f} MiB" if st.rss_mib is not None else "n/a"
    line = Text.assemble(("lmdm worker ", "bold"), address, f"   up {_uptime(st.uptime_s or 0.0)}",
                         f"   streams {st.streams}   queue {st.queue}   memory {rss}   underruns ",
                         (str(st.underruns), "bold red" if st.underruns else "green"), f"   gaps {st.gaps}")
    m = st.osc_map
    if m:
        line.append(f"\nosc map: {m['entries']} entries, received {m['received']}, unknown {m['unknown']}"
                    + (f" (last {m['last_unknown']})" if m.get("last_unknown") else "")
                    + f", clipped {m['clipped']}, bad {m['bad']}")
    return line


def view(st: W.Status | None, address: str, silent_s: float = 0.0, width: int = 120) -> Any:
    """What the screen shows: the worker's figures, or how long it has been silent."""
    if st is None:
        return Text(f"lmdm worker {address}: no answer for {silent_s:.0f} s (not running, wrong address, or keys "
                    "needed: --curve-keys)", style="bold red")
    parts = [header(st, address), streams_table(st, width)]
    if len(st.sessions or []) < (st.streams or 0):
        parts.append(Text(f"(first {len(st.sessions)} of {st.streams})"))
    return Group(*parts)


def _uptime(s: float) -> str:
    h, rest = divmod(int(s), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"
