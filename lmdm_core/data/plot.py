"""`summary.png` of a build: hours per collection and split, the pitch-agreement spread, and one render's voice curves
drawn over its MIDI notes (the check people would rather see than read). Needs matplotlib; the build skips it if
matplotlib is absent (as on the GPU machine)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lmdm_core import features
from lmdm_core.data import midi as midifix
from lmdm_core.data.manifest import Entry, load


def _example(entries: list[Entry]) -> Entry | None:
    scored = [e for e in entries if e.pitch_agreement is not None and len(e.instruments) > 1]
    return min(scored, key=lambda e: abs(e.seconds - 30)) if scored else None


def plot_summary(out_dir: Path, png: Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    png = png or out_dir / "summary.png"
    entries = load(out_dir)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5), gridspec_kw={"width_ratios": [1, 1, 2]})
    cols = sorted({e.collection for e in entries})
    for k, split in enumerate(("train", "heldout")):
        hours = [sum(e.seconds for e in entries if e.collection == c and e.split == split) / 3600 for c in cols]
        axes[0].bar(np.arange(len(cols)) + 0.4 * k, hours, width=0.4, label=split)
    axes[0].set_xticks(np.arange(len(cols)) + 0.2, cols, rotation=30)
    axes[0].set(ylabel="hours", title=f"{len(entries)} renders, {sum(e.seconds for e in entries) / 3600:.1f} h")
    axes[0].legend()
    agree = [e.pitch_agreement for e in entries if e.pitch_agreement is not None]
    axes[1].hist(agree, bins=20, range=(0, 1))
    axes[1].set(xlabel="share of single-note frames within a semitone", title="stem pitch vs MIDI")
    ex = _example(entries)
    if ex is not None:
        folder = out_dir / "renders" / ex.id
        curves = np.load(folder / "stem_curves.npy")
        notes = midifix.voice_notes(midifix.load(folder / "render.mid"))
        t = (np.arange(curves.shape[2]) + 0.5) * ex.hop / ex.sample_rate
        for v, (c, vn) in enumerate(zip(curves, notes)):
            color = f"C{v}"
            for start, end, pitch in vn:
                axes[2].plot([start, end], [pitch, pitch], color=color, lw=5, alpha=0.25, solid_capstyle="butt")
            pitch = np.where(c[features.PITCH] > 0, c[features.PITCH], np.nan)
            axes[2].plot(t, pitch, ".", ms=2, color=color, label=ex.instruments[v])
        axes[2].set(xlabel="s", ylabel="MIDI note", title=f"{ex.id}: curves (dots) over MIDI notes (bars)")
        axes[2].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png
