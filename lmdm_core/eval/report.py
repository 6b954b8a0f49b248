"""Writing an evaluation: eval.json and PNG plots (drift curves per window; adherence, texture, style and
accompaniment bars)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from lmdm_core.eval.drift import METRICS

LABELS = {"spectral_distance_db": "spectral distance (dB)", "chroma_distance": "chroma distance (1 - r)",
          "loudness_delta_db": "loudness vs truth (dB)", "loudness_std_db": "loudness spread in window (dB)",
          "key_score": "key score vs context (MIREX)"}


def _clean(obj):
    """NaN/Inf -> None so the JSON is strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(result), indent=1) + "\n")
    return path


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_drift(drift: dict, path: str | Path) -> Path:
    """One row per mode (audio-primed, text-only), one column per metric, one line per method over window start."""
    plt = _plt()
    modes = [m for m in ("audio_primed", "text_only") if m in drift]
    fig, axes = plt.subplots(len(modes), len(METRICS), figsize=(4 * len(METRICS), 3.2 * len(modes)), squeeze=False)
    for r, mode in enumerate(modes):
        xs = drift[mode]["windows_s"]
        for c, metric in enumerate(METRICS):
            ax = axes[r][c]
            for method, curves in drift[mode]["methods"].items():
                pts = [(x, y) for x, y in zip(xs, curves[metric]) if y is not None]
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=method, lw=2.5 if method == "generated" else 1.2)
            ax.set_title(f"{mode.replace('_', ' ')}: {LABELS[metric]}", fontsize=9)
            ax.set_xlabel("window start (s)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def plot_bars(groups: dict[str, dict[str, float | None]], chance: dict[str, float], path: str | Path,
              title: str, band: tuple[float, float] | None = None) -> Path:
    """groups: metric -> method -> value; a dashed line marks chance where given, a shaded band the target."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.2), squeeze=False)
    for ax, (metric, row) in zip(axes[0], groups.items()):
        names = list(row)
        ax.bar(names, [row[n] if row[n] is not None else 0.0 for n in names],
               color=["tab:red" if n == "generated" else "tab:gray" for n in names])
        if metric in chance:
            ax.axhline(chance[metric], ls="--", color="k", lw=1, label="chance")
            ax.legend(fontsize=7)
        if band is not None:
            ax.axhspan(*band, color="tab:green", alpha=0.2, label="target")
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def write_report(result: dict, out_dir: str | Path) -> list[Path]:
    """eval.json plus drift.png / adherence.png / accompaniment.png for the parts present."""
    out = Path(out_dir)
    files = [write_json(result, out / "eval.json")]
    if any(m in result.get("drift", {}) for m in ("audio_primed", "text_only")):
        files.append(plot_drift(result["drift"], out / "drift.png"))
    adh = result.get("adherence", {})
    if "methods" in adh:
        groups = {k: {m: v[k] for m, v in adh["methods"].items()} for k in ("ensemble_hit", "instrument_auc")}
        files.append(plot_bars(groups, adh["chance"], out / "adherence.png",
                               "prompt adherence (instrument classifier)"))
    tex = result.get("texture", {})
    if "ratio" in tex:
        files.append(plot_bars({"generated / real": tex["ratio"]}, {}, out / "texture.png",
                               f"transcription statistics, generated over real (target 1 +- {tex['tolerance']:.0%})",
                               band=(1 - tex["tolerance"], 1 + tex["tolerance"])))
    sty = result.get("style", {})
    if "methods" in sty:
        groups = {k: {m: v[k] for m, v in sty["methods"].items()} for k in ("drums_auc", "style_auc", "style_hit")}
        files.append(plot_bars(groups, sty["chance"], out / "style.png", "prompt adherence (style classifier)"))
    acc = result.get("accompaniment", {})
    if "chroma_agreement" in acc:
        files.append(plot_bars({"chroma agreement": acc["chroma_agreement"]}, {}, out / "accompaniment.png",
                               "jam: chroma agreement with the real accompaniment"))
    return files
