"""The soak's results as a PNG (one shared time axis, the restart marked) and a markdown summary."""
from __future__ import annotations

import numpy as np


def _restart_marks(ax, results: dict) -> None:
    for i, r in enumerate(results["restarts"]):
        ax.axvline(r["t_kill"], color="r", linestyle="--", label="SIGKILL" if i == 0 else None)
        if r.get("t_back") is not None:
            ax.axvspan(r["t_kill"], r["t_back"], color="r", alpha=0.12, label="until all clients back" if i == 0
                       else None)


def plot(results: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, samples = results["series"], results["samples"]
    t = np.array(s["t_s"])
    fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True)
    ax = axes[0]
    width = results["config"]["every_s"]
    for key, color in (("late", "tab:orange"), ("lost", "tab:red"), ("lost_restart", "tab:gray"),
                       ("mismatch", "tab:purple")):
        ax.step(t, s[key], where="post", color=color, label=key.replace("_", " "))
    ax.set(ylabel=f"frames per {width:g} s", yscale="symlog",
           title=_title(results))
    ax.legend(fontsize=8, ncol=3)
    for n, pid in enumerate(dict.fromkeys(x["pid"] for x in samples)):  # one line per worker process
        run = [x for x in samples if x["pid"] == pid]
        ts = [x["t_s"] for x in run]
        axes[1].plot(ts, [x["rss_mib"] for x in run], marker=".", color="tab:blue")
        axes[2].plot(ts, [x["open_files"] for x in run], marker=".", color="tab:blue",
                     label="open files" if n == 0 else None)
        axes[2].plot(ts, [x["threads"] for x in run], marker=".", color="tab:green", label="threads" if n == 0 else None)
    axes[1].set(ylabel="worker RSS (MiB)")
    axes[2].set(ylabel="count")
    axes[2].legend(fontsize=8)
    ts = [x["t_s"] for x in samples]
    ax = axes[3]
    ax.step(t, s["lag_max_ms"], where="post", label="client callback lag, max (ms)")
    ax.plot(ts, [x["cpu_pct"] for x in samples], marker=".", label="worker CPU (%)")
    ax.plot(ts, [x["load1"] * 10 for x in samples], label="load average x 10")
    ax.set(xlabel="seconds", ylabel="ms / %")
    ax.legend(fontsize=8)
    for ax in axes:
        _restart_marks(ax, results)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _title(results: dict) -> str:
    c = results["config"]
    return (f"{c['model'] or 'embedded model'}, {c['clients']} clients, {c['minutes']:g} min, "
            f"{'ok' if results['ok'] else 'PROBLEMS'}")


def markdown(results: dict, command: str = "") -> str:
    t, c = results["totals"], results["config"]
    pct = lambda a, b: f"{100 * a / b:.3f} %" if b else "–"  # noqa: E731
    lines = [f"# Soak: {_title(results)}", ""]
    if command:
        lines += ["```sh", command, "```", ""]
    for r in results["restarts"]:
        back = "never" if r.get("t_back") is None else f"{r['t_back'] - r['t_kill']:.2f} s later"
        up = "not started again" if r["t_up"] is None else f"up again at {r['t_up']:.2f} s"
        lines.append(f"Restart: SIGKILL at {r['t_kill']:.2f} s, {up}, every client served again {back}.")
    lines += ["", "| frames | count | share of requested |", "|---|---|---|"]
    for key in ("requested", "answered", "late", "lost", "lost_restart", "pending_end", "mismatch"):
        lines.append(f"| {key.replace('_', ' ')} | {t[key]} | {pct(t[key], t['requested'])} |")
    lines += ["", "Lost (restart): asked of the sessions the SIGKILL cut off; lost: every other request never answered; "
                  "late: answered after the client's play position had passed it (definitions: docs/bench/soak.md)."]
    wl = "absent" if t["worker_late_frames"] is None else t["worker_late_frames"]
    lines += ["", f"Late requests (any frame late): {t['late_requests']} by the clients' clocks; the worker's own "
                  f"count (last status of each session, summed): underruns {t['worker_underruns']}, late_frames {wl}."
                  f" Parameter changes: {t['zmq_params']} over ZeroMQ ({t['acks']} acked), "
                  f"{t['osc_params']} over OSC; {t['params_checked'] - t['params_not_applied']} of "
                  f"{t['params_checked']} checks against the next status found the value in force. Reconnects {t['reconnects']}, sends dropped while the worker was "
                  f"gone {t['send_dropped']}, client callbacks more than one period late {t['lagging_callbacks']} of "
                  f"{t['callbacks']}.", ""]
    sm = results["samples"]
    if sm:
        rss = [x["rss_mib"] for x in sm]
        lines.append(f"Worker RSS {rss[0]:.1f} MiB at start, {min(rss):.1f}–{max(rss):.1f} MiB over the run, "
                     f"{rss[-1]:.1f} MiB at the end; open files {sm[0]['open_files']} → {sm[-1]['open_files']}; "
                     f"load average {min(x['load1'] for x in sm):.1f}–{max(x['load1'] for x in sm):.1f}.")
    lines += ["", "| client | rate | callback | latency | requested | late | lost | lost (restart) | mismatch | "
                  "callback lag p99 | back after restart |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in results["clients"]:
        if "error" in k:
            lines.append(f"| {k['index']} | error: {k['error']} |")
            continue
        back = "–" if k["back_after_restart_s"] is None else f"{k['back_after_restart_s']:.2f} s"
        lines.append(f"| {k['stream']} | {k['rate']} | {k['frames']} | {k['latency']} | {k['requested']} | "
                     f"{k['late']} | {k['lost']} | {k['lost_restart']} | {k['mismatch']} | "
                     f"{k['lag_p99_ms']:.1f} ms | {back} |")
    lines += ["", "Verdict: " + ("ok" if results["ok"] else "; ".join(results["problems"])), ""]
    return "\n".join(lines)
