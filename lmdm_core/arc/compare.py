"""Drift curves of several `lmdm eval` runs side by side (stage 1 vs ARC-Forcing, at several sampler steps): one PNG
panel per setting (audio-primed, text-only) and metric, one line per run, and a Markdown table for the docs.
`lmdm eval compare` (arc/cli.py) is the command, `python -m` runs the same one:

    python -m lmdm_core.arc.compare stage1-8=eval/stage1-s8/eval.json arc-8=eval/arc-s8/eval.json \\
        --png docs/arc/drift.png --md docs/arc/drift.md
"""
from __future__ import annotations

import json
from pathlib import Path

SETTINGS = ("audio_primed", "text_only")
METRICS = ("chroma_distance", "spectral_distance_db", "loudness_delta_db", "key_score")


def load_runs(specs: list[str]) -> dict[str, dict]:
    """LABEL=PATH (or PATH, labelled by its folder) -> {label: eval.json's "drift" section}."""
    runs = {}
    for spec in specs:
        label, _, path = spec.rpartition("=")
        p = Path(path)
        doc = json.loads(p.read_text())
        if "drift" not in doc:
            raise ValueError(f"{p}: no drift results (run `lmdm eval --parts drift`)")
        runs[label or p.parent.name] = doc["drift"]
    return runs


def curves(runs: dict[str, dict], setting: str, metric: str) -> tuple[list[float], dict[str, list]]:
    """Window starts (s) and, per run, the generated method's metric per window."""
    windows, out = [], {}
    for label, drift in runs.items():
        if setting in drift:
            windows = drift[setting]["windows_s"]
            out[label] = drift[setting]["methods"]["generated"][metric]
    return windows, out


def markdown(runs: dict[str, dict], metrics: tuple[str, ...] = METRICS) -> str:
    lines = []
    for setting in SETTINGS:
        for metric in metrics:
            windows, per_run = curves(runs, setting, metric)
            if not per_run:
                continue
            lines += [f"**{setting} — {metric}**", "",
                      "| run | " + " | ".join(f"{w:g}–{w + windows[1] - windows[0]:g} s" if len(windows) > 1
                                              else f"{w:g} s" for w in windows) + " |",
                      "|---" * (len(windows) + 1) + "|"]
            for label, vals in per_run.items():
                lines.append(f"| {label} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in vals) + " |")
            lines.append("")
    return "\n".join(lines)


def plot(runs: dict[str, dict], path: str | Path, metrics: tuple[str, ...] = METRICS) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(SETTINGS), len(metrics), figsize=(4.2 * len(metrics), 3.4 * len(SETTINGS)),
                             squeeze=False)
    for r, setting in enumerate(SETTINGS):
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            windows, per_run = curves(runs, setting, metric)
            for label, vals in per_run.items():
                pts = [(w, v) for w, v in zip(windows, vals) if v is not None]
                if pts:
                    ax.plot(*zip(*pts), marker="o", lw=1.4, label=label)
            ax.set_title(f"{setting}: {metric}", fontsize=9)
            ax.set_xlabel("window start (s)")
            ax.grid(alpha=0.3)
            if per_run:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    from lmdm_core.arc.cli import compare_command
    compare_command(prog_name="python -m lmdm_core.arc.compare")
