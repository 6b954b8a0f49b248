"""Benchmark of lmdm~ in real headless Pd: CPU of the Pd process, and how early generated blocks arrive.

    .venv/bin/python tests/pd/bench_pd.py [--seconds 20] [--blocks 4096,1024] [--channels 2] [--plot lead.png]

CPU is user+system time of the whole Pd process (audio + network thread) from /proc, over the run, as % of one
core. Arrival: `lead` = the index of a generated message minus the patch's sample clock when it arrived, reported
by lmdm~ on every `bang` (once a second here): its spread is the arrival jitter, its minimum the safety margin.
Not a test: figures depend on the machine; docs/bench/pd.md holds the ones measured.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).parent))
from pdrun import PD_DIR, Serve, finish_pd, reported, start_pd  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def bench_patch(path: Path, seconds: float, channels: int, lmdm: str | None) -> Path:
    """noise~ -> [lmdm~] -> dac~, DSP on, lmdm~ banged every second, quit after `seconds`."""
    lines = ["#N canvas 0 0 600 400 12;", "#X obj 10 10 loadbang;", "#X msg 10 40 \\; pd dsp 1;",
             f"#X obj 10 70 delay {int(seconds * 1000)};", "#X msg 10 100 \\; pd quit;", "#X obj 200 40 noise~;",
             f"#X obj 200 160 dac~ {' '.join(str(c + 1) for c in range(channels))};"]
    conns = [(0, 0, 1, 0), (0, 0, 2, 0), (2, 0, 3, 0)]
    if lmdm:
        lines += [f"#X obj 200 100 {lmdm};", "#X obj 400 40 metro 1000;", "#X obj 400 160 print info;"]
        conns += [(0, 0, 7, 0), (7, 0, 6, 0), (6, channels, 8, 0)]
        conns += [(4, 0, 6, c) for c in range(channels)] + [(6, c, 5, c) for c in range(channels)]
    else:
        conns += [(4, 0, 5, c) for c in range(channels)]
    lines += [f"#X connect {a} {b} {c} {d};" for a, b, c, d in conns]
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(name: str, patch: Path, seconds: float) -> dict:
    pd = start_pd(patch)
    t0, c0 = time.monotonic(), 0.0
    time.sleep(seconds - 0.5)
    try:
        c1, t1 = cpu_seconds(pd.pid), time.monotonic()
    except FileNotFoundError:
        c1, t1 = float("nan"), time.monotonic()
    out = finish_pd(pd, timeout=seconds + 20)
    leads = [r for r in reported(out, "lead") if r[3] > 0][1:]   # skip the window with the session opening
    res = {"name": name, "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "underruns": reported(out, "underruns"),
           "load": os.getloadavg()[0], "windows": leads}
    if leads:
        res.update(lead_min=min(r[0] for r in leads), lead_max=max(r[2] for r in leads),
                   lead_avg=sum(r[1] * r[3] for r in leads) / sum(r[3] for r in leads),
                   messages=int(sum(r[3] for r in leads)),
                   jitter_max_window=max(r[2] - r[0] for r in leads))
    res["underruns"] = res["underruns"][-1][0] if res["underruns"] else None
    worker = reported(out, "worker")
    res["worker_underruns"] = worker[-1][3] if worker else None
    return res


def plot(results: list[dict], path: Path) -> None:
    """Lead per one-second window (min..max band, average line) for each streaming run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for r in results:
        w = r.get("windows")
        if not w:
            continue
        t = range(1, len(w) + 1)
        line, = ax.plot(t, [x[1] for x in w], label=f"{r['name']} (avg)")
        ax.fill_between(t, [x[0] for x in w], [x[2] for x in w], color=line.get_color(), alpha=0.25)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("second of the run")
    ax.set_ylabel("lead: samples before play position")
    ax.set_title("lmdm~: how early generated audio arrives (band: min..max per second; below 0 = late)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


@click.command(help=__doc__.split("\n")[0])
@click.option("--seconds", type=float, default=20.0, show_default=True)
@click.option("--blocks", default="4096,1024", show_default=True)
@click.option("--channels", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("/tmp/lmdm-bench-pd"), show_default=True)
@click.option("--plot", "plot_png", type=click.Path(path_type=Path), default=None,
              help="write a PNG of the lead per second")
def main(seconds: float, blocks: str, channels: int, out: Path, plot_png: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["make", "-s", "-C", str(PD_DIR)], check=True)
    ch, secs = channels, seconds
    results = [run("Pd, noise~ -> dac~ only", bench_patch(out / "base.pd", secs, ch, None), secs),
               run("lmdm~ idle (-noconnect)",
                   bench_patch(out / "idle.pd", secs, ch, f"lmdm~ {ch} {ch} -noconnect"), secs)]
    for block in (int(b) for b in blocks.split(",")):
        worker = Serve(block=block).start()
        try:
            patch = bench_patch(out / f"stream{block}.pd", secs, ch, f"lmdm~ {ch} {ch} {worker.address} bench")
            results.append(run(f"lmdm~ streaming, loopback block {block}", patch, secs))
        finally:
            worker.stop()
    print(f"{'run':40s} {'Pd CPU %':>9s} {'underruns':>9s} {'lead min':>9s} {'lead avg':>9s} {'lead max':>9s} "
          f"{'msgs':>6s} {'max spread/s':>12s} {'load':>5s} {'worker underruns':>16s}")
    for r in results:
        lead = (f"{r['lead_min']:9.0f} {r['lead_avg']:9.0f} {r['lead_max']:9.0f} {r['messages']:6d} "
                f"{r['jitter_max_window']:12.0f}" if "lead_min" in r else " " * 49)
        print(f"{r['name']:40s} {r['cpu_pct']:9.2f} {str(r['underruns']):>9s} {lead} {r['load']:5.1f} "
              f"{str(r['worker_underruns']):>16s}")
    if plot_png:
        plot(results, plot_png)
        print(f"plot: {plot_png}")


if __name__ == "__main__":
    main()
