"""Example WAVs and plots of docs/modes.md: each mode through the worker's own Session and model engine (no sockets).

    .venv/bin/python docs/modes/make_examples.py               # lmdm_core/weights/ if it is there
    .venv/bin/python docs/modes/make_examples.py --model PATH  # any checkpoint with stem + curves inputs

Writes docs/modes/<mode>-in.wav, <mode>-out.wav (mono 16 kHz 16-bit, short, to keep the repository small; the
model itself runs at its own rate) and <mode>.png, and prints the measured figures the doc quotes.
"""
from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import click  # noqa: E402
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bridge.engines import ModelEngine  # noqa: E402
from bridge.params import defaults  # noqa: E402
from bridge.protocol import Hello  # noqa: E402
from bridge.session import Session  # noqa: E402
from lmdm_core.features import LOUDNESS, PITCH, curves  # noqa: E402

HERE = Path(__file__).parent
WAV_RATE = 16000
SECONDS = 6.0         # of each WAV; the streams run 4 s longer so the output covers them after the latency


# ----- inputs -------------------------------------------------------------------------------------------------------

def notes(rate: int, seconds: float, midi: list[int], note_s: float, decay: float) -> np.ndarray:
    """A mono line of harmonic notes, one every note_s seconds, each decaying with time constant `decay`."""
    seg = int(rate * note_s)
    t = np.arange(seg) / rate
    out = []
    for k in range(int(seconds / note_s)):
        f = 440.0 * 2 ** ((midi[k % len(midi)] - 69) / 12)
        out.append(np.exp(-t / decay) * sum(0.3 / h * np.sin(2 * np.pi * f * h * t) for h in (1, 2, 3, 4)))
    x = np.concatenate(out)
    return np.pad(x, (0, max(0, int(rate * seconds) - len(x))))[: int(rate * seconds)].astype(np.float32)


def voice(rate: int, seconds: float) -> np.ndarray:
    """A hummed line: a pitch glide over a fifth and back, with a swelling level (the sketch input)."""
    t = np.arange(int(rate * seconds)) / rate
    midi = 55 + 3.5 * (1 - np.cos(2 * np.pi * t / seconds))
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** ((midi - 69) / 12)) / rate
    level = 10 ** ((-24 + 16 * np.sin(2 * np.pi * t / 2.0)) / 20)
    return (level * (np.sin(phase) + 0.3 * np.sin(2 * phase) + 0.1 * np.sin(3 * phase))).astype(np.float32)


def chorale_voice(rate: int, work: str, seconds: float, voice: int = -1) -> np.ndarray:
    """One voice (0 = top, -1 = bass) of a chorale from data/works as a string quartet part (rendered like the
    training data)."""
    from lmdm_core.data.build import render_orchestrated

    root = HERE.parents[1]
    sf2 = root / "data" / "sf3" / "lmdm-v2.sf3"      # the v2 data's SoundFont (docs/data.md), else Debian's GM set
    r, _ = render_orchestrated(root / "data" / "works" / f"{work}.mid", "string quartet", rate, seconds,
                               sf2 if sf2.is_file() else Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
    top = r.stems[voice].mean(axis=1)
    return np.pad(top, (0, max(0, int(rate * seconds) - len(top))))[: int(rate * seconds)].astype(np.float32) / max(
        float(np.abs(r.stems.sum(axis=0)).max()), 1e-9)


# ----- streaming ----------------------------------------------------------------------------------------------------

def play(engine: ModelEngine, x: np.ndarray, rate: int, values: dict, changes: dict | None = None,
         chunk: int = 2048, block_size: str = "long") -> tuple[np.ndarray, int]:
    """Stream mono x like a client (input, then requests once their input is there); `changes` {position: [(name,
    value)]} are applied when the requests reach that output position. Returns (output, latency)."""
    v = defaults()
    v.update(values)
    s = Session(Hello(stream="doc", rate=rate, channels=1, out_channels=1, block_size=block_size), engine, v,
                max_frames=65536, backlog_s=1e9)
    n = len(x)
    x = np.concatenate([x, np.zeros(s.latency + s.block + chunk, np.float32)])[:, None]  # silence lets the tail out
    y = np.zeros((n, 1), np.float32)
    pending = sorted((changes or {}).items())
    sent = asked = 0
    bar = tqdm(total=n, desc=values.get("mode", ""), leave=False, mininterval=2.0)
    while asked < n or s.requests:
        s.audio(sent, x[sent:sent + chunk])
        sent += chunk
        while asked < n and asked + chunk - s.latency + s.block <= sent:  # its input is all there
            while pending and pending[0][0] <= asked:
                for name, value in pending.pop(0)[1]:
                    s.set_param(name, value)
            s.request(asked, min(chunk, n - asked))
            asked += chunk
        for g in s.pump():
            y[g.index:g.index + g.frames] = g.data
            bar.update(g.frames)
    bar.close()
    return y[:, 0], s.latency


# ----- output -------------------------------------------------------------------------------------------------------

def write(name: str, audio: np.ndarray, rate: int, start: int = 0) -> None:
    """SECONDS of audio from `start` (an output from its latency on: aligned with its input's WAV)."""
    a = soxr.resample(audio[start:start + int(rate * SECONDS)].astype(np.float32), rate, WAV_RATE)
    peak = float(np.abs(a).max())
    sf.write(HERE / f"{name}.wav", a / max(peak / 0.9, 1.0), WAV_RATE, subtype="PCM_16")


def spectrogram(ax, audio: np.ndarray, rate: int, title: str) -> None:
    ax.specgram(audio + 1e-9, NFFT=1024, Fs=rate, noverlap=768, cmap="magma", vmin=-120)
    ax.set_ylim(0, 8000)
    ax.set_ylabel("Hz")
    ax.set_title(title, fontsize=9)


def delay_plot(name: str, x: np.ndarray, y: np.ndarray, latency: int, rate: int, title: str) -> None:
    fig, axs = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
    t = np.arange(len(x)) / rate
    axs[0].plot(t, x, lw=0.4)
    axs[0].set_title(f"{title}: input (top), output at mix 0.5 (bottom); dashed: the latency", fontsize=9)
    axs[1].plot(t, y[: len(x)], lw=0.4)
    axs[1].axvline(latency / rate, color="r", ls="--")
    axs[1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(HERE / f"{name}.png", dpi=80)


def loudness_r(x: np.ndarray, y: np.ndarray, rate: int, latency: int, hop: int = 1024) -> float:
    lx = curves(x[: len(x) - latency], rate, hop)[LOUDNESS]
    ly = curves(y[latency:], rate, hop)[LOUDNESS]
    k = min(len(lx), len(ly))
    return float(np.corrcoef(lx[8:k], ly[8:k])[0, 1])


@click.command(help=__doc__.splitlines()[0])
@click.option("--model", default=None, help="checkpoint directory (default: lmdm_core/weights/)")
@click.option("--tiny", is_flag=True, help="an untrained tiny model with stem + curves inputs")
def main(model: str | None, tiny: bool) -> None:
    torch.set_num_threads(1)
    if tiny:
        from lmdm_core.pipeline import build_model, default_configs

        cfg = default_configs()
        dit = cfg["dit"]
        cfg["dit"] = dataclasses.replace(dit, input_adds={"context": dit.io_channels + 1, "stem": dit.io_channels,
                                                          "curves": 3})
        torch.manual_seed(0)
        tmp = tempfile.TemporaryDirectory(prefix="lmdm-tiny-")
        model = tmp.name
        build_model(cfg, "tiny conditioned (untrained)", {"trained": False}).save(model)
    engine = ModelEngine(model, margin_ms=0.0)  # loaded: a temporary checkpoint may go when the run ends
    rate = engine.sample_rate
    figures: dict[str, float | int | str] = {"model": engine.name, "rate": rate}
    n = int(rate * (SECONDS + 4.0))
    melody = notes(rate, SECONDS + 4.0, [60, 64, 67, 72, 71, 67, 64, 62], 0.375, 0.25)
    bass = chorale_voice(rate, "bach-bwv398", SECONDS + 8.0)[int(4 * rate):]  # held out from v1 and v2
    hum = voice(rate, SECONDS + 4.0)

    # text: prompt A, then prompt B from the middle on
    silent = np.zeros(n, np.float32)
    half = (n // 2) // 2048 * 2048
    y, L = play(engine, silent, rate, {"mode": "text", "prompt": "piano", "seed": 1},
                {half: [("prompt", "strings")]})
    write("text-out", y, rate, L)
    fig, ax = plt.subplots(1, 1, figsize=(9, 3))
    spectrogram(ax, y, rate, "text: prompt 'piano', then 'strings' (dashed: where the change was asked)")
    ax.axvline(half / rate, color="w", ls="--")
    fig.tight_layout()
    fig.savefig(HERE / "text.png", dpi=60)
    figures["text_latency"] = L

    # text in three styles, each from silence (the v2 captions' words: docs/model-card.md)
    styles = {"house": "house groove with drums and synth bass", "ambient": "ambient pad soundscape, dreamy",
              "chorale": "Bach chorale for string quartet"}
    fig, axs = plt.subplots(1, len(styles), figsize=(12, 3), sharey=True)
    for ax, (name, prompt) in zip(axs, styles.items()):
        y, L = play(engine, silent, rate, {"mode": "text", "prompt": prompt, "seed": 1})
        write(f"text-{name}", y, rate, L)
        spectrogram(ax, y[L:], rate, f"text: '{prompt}'")
    fig.tight_layout()
    fig.savefig(HERE / "text-styles.png", dpi=60)

    # sketch: a hummed glide with a swelling level -> the prompt's timbre
    y, L = play(engine, hum, rate, {"mode": "sketch", "prompt": "piano", "seed": 1})
    write("sketch-in", hum, rate)
    write("sketch-out", y, rate, L)
    figures["sketch_latency"] = L
    figures["sketch_loudness_r"] = round(loudness_r(hum, y, rate, L), 3)
    cx, cy = curves(hum[: n - L], rate, 1024), curves(y[L:], rate, 1024)
    fig, axs = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    t = np.arange(cx.shape[1]) * 1024 / rate
    axs[0].plot(t, cx[LOUDNESS], label="input")
    axs[0].plot(t[: cy.shape[1]], cy[LOUDNESS][: len(t)], label="output (shifted back by the latency)")
    axs[0].set_ylabel("loudness dBFS")
    axs[0].legend(fontsize=8)
    axs[0].set_title(f"sketch: loudness per latent frame (r = {figures['sketch_loudness_r']})", fontsize=9)
    axs[1].plot(t, np.where(cx[PITCH] > 0, cx[PITCH], np.nan), label="input")
    axs[1].plot(t[: cy.shape[1]], np.where(cy[PITCH] > 0, cy[PITCH], np.nan)[: len(t)], label="output")
    axs[1].set_ylabel("pitch (MIDI)")
    axs[1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(HERE / "sketch.png", dpi=80)

    # jam: a bass line -> the upper voices
    y, L = play(engine, bass, rate, {"mode": "jam", "prompt": "Bach chorale for string quartet", "seed": 1})
    write("jam-in", bass, rate)
    write("jam-out", y, rate, L)
    figures["jam_latency"] = L
    try:
        from lmdm_core.eval.metrics import chroma, chroma_agreement, prepare

        a, b = prepare(y[L:], rate), prepare(bass[: n - L], rate)
        figures["jam_chroma_agreement"] = round(chroma_agreement(a, b), 3)
        fig, axs = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
        axs[0].imshow(chroma(b).T, aspect="auto", origin="lower", cmap="Greys")
        axs[0].set_title("jam: chroma of the stem (top) and of the accompaniment, aligned", fontsize=9)
        axs[1].imshow(chroma(a).T, aspect="auto", origin="lower", cmap="Greys")
        for ax in axs:
            ax.set_yticks(range(12), ["C", "", "D", "", "E", "F", "", "G", "", "A", "", "B"], fontsize=7)
        fig.tight_layout()
        fig.savefig(HERE / "jam.png", dpi=80)
    except ImportError:
        pass

    # generative delay: a melody comes back transformed, one latency later, half dry / half wet, with feedback
    y, L = play(engine, melody, rate, {"mode": "delay", "prompt": "piano", "mix": 0.5, "feedback": 0.3, "seed": 1})
    dry, _ = play(engine, melody, rate, {"mode": "delay", "mix": 0.0})
    write("delay-in", melody, rate)
    write("delay-out", y, rate, L)
    figures["delay_latency"] = L
    figures["delay_dry_bit_exact"] = bool(np.array_equal(dry[L:], melody[: n - L]) and not dry[:L].any())
    delay_plot("delay", melody, y, L, rate, "generative delay")

    # the same delay on short blocks (a model trained for both: LoadedModel.block_sizes): it answers sooner
    if "short" in engine.block_sizes:
        y, L = play(engine, melody, rate, {"mode": "delay", "prompt": "piano", "mix": 0.5, "feedback": 0.3,
                                           "seed": 1}, block_size="short")
        write("delay-short-out", y, rate, L)
        figures["delay_short_latency"] = L
        delay_plot("delay-short", melody, y, L, rate, "generative delay, short blocks")

    (HERE / "figures.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
