"""Loss curves as PNG: one panel per named series of (step, value) points, raw and smoothed, log scale."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def smooth(values: list[float], window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0 or window <= 1:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    n = np.minimum(np.arange(1, len(v) + 1), window)
    return (c[1:] - c[np.arange(1, len(v) + 1) - n]) / n


def plot_losses(series: dict[str, list[tuple[int, float]]], path: str | Path, title: str = "") -> Path:
    """Write a PNG with one panel per series; returns the path. Needs matplotlib (absent on the GPU machine: the
    trainers save the numbers as JSON there and the PNG is drawn here)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k, v in series.items() if v]
    if not names:
        raise ValueError("no loss values to plot")
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        steps, vals = zip(*series[name])
        ax.plot(steps, vals, lw=0.6, alpha=0.35, label="per step")
        ax.plot(steps, smooth(list(vals), max(1, len(vals) // 50)), lw=1.5, label="smoothed")
        ax.set_title(name)
        ax.set_xlabel("step")
        if min(vals) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
