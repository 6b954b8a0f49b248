"""Writing a reconstruction evaluation: reconstruction.json, reconstruction.md (one table per group, one column per
model), and for a few excerpts a WAV pair per model (16-bit, each at its own rate) and a spectrogram PNG with the
original and every model side by side at the build's rate."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from lmdm_core.eval.reconstruction import MEASURES
from lmdm_core.eval.report import _plt, write_json
from lmdm_core.features import _mono
from lmdm_core.training.ae import stft_mag

N_FFT, HOP = 2048, 512
RANGE_DB = 80.0


def pick_examples(excerpts: list, n: int) -> list:
    """n excerpts for listening: the first of each group, then the next ones in order."""
    firsts = list({ex.group: ex for ex in reversed(excerpts)}.values())[::-1]
    return (firsts + [ex for ex in excerpts if ex not in firsts])[:n]


def _cell(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def markdown(result: dict) -> str:
    """One table per group: a row per measure, a column per model; the transcriber's own F1 under each."""
    cfg, names = result["config"], list(result["models"])
    rates = ", ".join(f"{n} ({m['sample_rate']} Hz, {m['channels']} ch)" for n, m in result["models"].items())
    lines = [f"# Reconstruction: {rates}", "",
             f"Split {cfg['split']!r} of `{cfg['data_dir']}`, the first {cfg['seconds']:g} s of each render, grouped "
             f"by `{cfg['group_by']}`; {result['seconds_taken']:g} s."]
    for group, g in result["groups"].items():
        lines += ["", f"## {group} ({g['excerpts']} excerpts, {g['with_drums']} with drums)", "",
                  "| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for key in MEASURES:
            if key in g["models"][names[0]]:
                lines.append(f"| {MEASURES[key]} | " + " | ".join(_cell(g["models"][n][key]) for n in names) + " |")
        if g["transcriber_f1"] is not None:
            lines += ["", f"Transcriber against the MIDI (basic-pitch on the original): F1 {_cell(g['transcriber_f1'])}"
                          f" onsets, {_cell(g['transcriber_f1_offset'])} with offsets."]
    return "\n".join(lines) + "\n"


def _spectrogram_db(audio: np.ndarray) -> np.ndarray:
    mag = stft_mag(torch.from_numpy(_mono(audio).astype(np.float32))[None], N_FFT, HOP)[0]
    return (20 * torch.log10(mag + 1e-5)).numpy()


def plot_spectrograms(clips: dict[str, np.ndarray], sr: int, path: Path, title: str) -> Path:
    """clips: column title -> audio at sr; one colour scale for all (the original's peak down RANGE_DB)."""
    plt = _plt()
    specs = {k: _spectrogram_db(v) for k, v in clips.items()}
    top = max(s.max() for s in specs.values())
    fig, axes = plt.subplots(1, len(specs), figsize=(3.6 * len(specs), 3.0), sharey=True, squeeze=False)
    for ax, (name, s) in zip(axes[0], specs.items()):
        ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=top - RANGE_DB, vmax=top,
                  extent=(0, s.shape[1] * HOP / sr, 0, sr / 2000))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("s")
    axes[0][0].set_ylabel("kHz")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def _wav(path: Path, audio: np.ndarray, sr: int) -> Path:
    sf.write(path, np.clip(audio, -1, 1).T, sr, subtype="PCM_16")
    return path


def write_examples(kept: dict, seconds: float, out: Path) -> list[Path]:
    """kept: excerpt id -> (Excerpt, {model: (rate, audio at its rate, audio at the build's rate)})."""
    files = []
    for rid, (ex, models) in kept.items():
        sr, n = ex.sample_rate, int(seconds * ex.sample_rate)
        files.append(_wav(out / f"{rid}-original.wav", ex.mix[:, :n], sr))
        for name, (rate, y, _) in models.items():
            files.append(_wav(out / f"{rid}-{name}.wav", y[:, : int(seconds * rate)], rate))
        clips = {"original": ex.mix[:, :n], **{name: full[:, :n] for name, (_, _, full) in models.items()}}
        files.append(plot_spectrograms(clips, sr, out / f"{rid}-spectrograms.png", f"{rid} ({ex.group})"))
    return files


def write(result: dict, kept: dict, cfg) -> list[Path]:
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [write_json(result, out / "reconstruction.json")]
    (out / "reconstruction.md").write_text(markdown(result))
    files.append(out / "reconstruction.md")
    try:
        return files + write_examples(kept, cfg.example_seconds, out)
    except ImportError:                 # no matplotlib: the numbers are written
        return files
