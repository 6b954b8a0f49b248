"""The Pi + laptop set-up of docs/installations.md as a PNG: who runs what, and which port carries what.

    python docs/installations/diagram.py        # writes docs/installations/setup.png
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("setup.png")


def box(ax, x, y, w, h, title, lines, color):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.15", fc=color, ec="0.25"))
    ax.text(x + w / 2, y + h - 0.3, title, ha="center", va="top", fontsize=12, weight="bold")
    for i, line in enumerate(lines):
        ax.text(x + 0.2, y + h - 0.95 - 0.42 * i, line, ha="left", va="top", fontsize=8.5, family="monospace")


def arrow(ax, a, b, label, color, dy=0.0, style="-|>"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=16, lw=2, color=color))
    ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.18 + dy, label, ha="center", va="bottom", fontsize=8.5,
            color=color)


def main() -> None:
    fig, ax = plt.subplots(figsize=(12, 6.2))
    ax.set_xlim(0, 16)
    ax.set_ylim(0, 8.4)
    ax.axis("off")
    box(ax, 0.3, 2.3, 5.6, 5.0, "Raspberry Pi  192.168.1.20", [
        "sensors -> sensors.py (python-osc)",
        "  /pi/light 0..1023, /pi/acc x y z",
        "",
        "pd -nogui installation.pd",
        "  [lmdm~ 2 2 tcp://192.168.1.10:5555",
        "         room -curve-dir keys-pi]",
        "  adc~ -> lmdm~ -> dac~ (speakers)",
        "",
        "keys-pi/ = keys/clients/pi (copied)",
    ], "#e8f1fb")
    box(ax, 10.1, 2.3, 5.6, 5.0, "Laptop / GPU box  192.168.1.10", [
        "lmdm service install serve \\",
        "  --zmq tcp://0.0.0.0:5555",
        "  --curve-keys keys",
        "  --osc 0.0.0.0:9000",
        "  --osc-allow 192.168.1.20",
        "  --osc-reply 192.168.1.20:9001",
        "  --osc-map sensors.toml",
        "systemd user unit: restarts on failure,",
        "logs: journalctl --user -u lmdm",
    ], "#eef7e8")
    arrow(ax, (5.95, 6.2), (10.05, 6.2), "audio in + requests  (ZeroMQ, CURVE, tcp 5555)", "#1f5fa8")
    arrow(ax, (10.05, 5.3), (5.95, 5.3), "generated audio, status  (same connection)", "#1f5fa8")
    arrow(ax, (5.95, 4.1), (10.05, 4.1), "sensor OSC  (udp 9000, only from --osc-allow)", "#b5561b")
    arrow(ax, (10.05, 3.2), (5.95, 3.2), "OSC acks, /lmdm/worker  (udp 9001)", "#8a8a8a")
    box(ax, 4.6, 0.15, 6.2, 1.7, "anywhere on the network", [
        "lmdm monitor --zmq tcp://192.168.1.10:5555 \\",
        "  --curve-keys keys/clients/monitor",
    ], "#f6f0e4")
    arrow(ax, (10.9, 1.0), (12.9, 2.25), "", "#1f5fa8")
    ax.text(12.2, 1.0, "status \"*\" (tcp 5555)", fontsize=8.5, color="#1f5fa8")
    ax.text(8, 8.1, "lmdm installation: sensors and Pd on a Pi, the model on a laptop", ha="center", fontsize=13,
            weight="bold")
    fig.savefig(OUT, dpi=110, bbox_inches="tight")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
