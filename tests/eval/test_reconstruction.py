"""`lmdm eval reconstruction`: note F1 and drum-onset F1 on MIDI-derived and rendered material, the runner on a tiny
build (corpus-like and "generated" drum renders) with a pass-through codec and tiny random autoencoders, the CLI,
and basic-pitch on a rendered clip."""
from __future__ import annotations

import json
import math
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.checkpoint import save_checkpoint
from lmdm_core.config import autoencoder_preset
from lmdm_core.data import midi as M
from lmdm_core.data.render import DRUM_CHANNEL, render
from lmdm_core.eval import notes, onsets
from lmdm_core.eval.reconstruction import MEASURES, ReconConfig, evaluate_reconstruction

from .builds import SR, add_drum_render, add_render, drum_hits, drum_track, midi_of, progression, scale


def midi_file(tmp_path: Path, mid: mido.MidiFile, name: str = "x.mid") -> Path:
    mid.save(str(tmp_path / name))
    return tmp_path / name


def test_note_f1_of_identical_notes_is_one_and_of_shifted_ones_drops(tmp_path):
    truth = notes.midi_notes(midi_file(tmp_path, midi_of(progression(60, 2, seed=1))))
    assert len(truth) == 32                                   # 2 bars x 4 beats x (melody + triad)
    assert notes.note_f1(truth, truth) == 1.0 and notes.note_f1(truth, truth, offsets=True) == 1.0
    assert notes.note_f1(truth, truth.shifted(0.03)) == 1.0   # within the 50 ms onset window
    assert notes.note_f1(truth, truth.shifted(0.1)) == 0.0    # every onset 100 ms late
    assert notes.note_f1(truth, truth.shifted(semitones=1)) == 0.0
    half = notes.Notes(truth.intervals[::2], truth.pitches[::2])
    assert notes.note_f1(truth, half) == pytest.approx(2 / 3)   # precision 1, recall 1/2
    longer = notes.Notes(truth.intervals * [1.0, 2.0], truth.pitches)
    assert notes.note_f1(truth, longer) == 1.0 and notes.note_f1(truth, longer, offsets=True) < 0.1
    assert notes.note_f1(notes.Notes.of([]), truth) is None    # nothing to find: no score, not a perfect one
    cut = truth.within(1.0)
    assert len(cut) == 2 * 4 and cut.intervals[:, 1].max() <= 1.0


def test_drum_onset_f1_of_a_render_against_itself_and_a_shifted_copy(tmp_path):
    hits = drum_hits(16, seed=0)
    mid = midi_of([])
    mid.tracks.append(drum_track(hits))
    x = render(mid, channels=[DRUM_CHANNEL], tail=0.5).mix
    found = onsets.detect(x, SR)
    assert onsets.onset_f1(np.array([b * 0.5 for b, _ in hits]), found) >= 0.9   # 120 BPM: the hits, detected
    assert onsets.onset_f1(found, onsets.detect(x, SR)) == 1.0
    late = np.concatenate([np.zeros((int(0.06 * SR), 2), np.float32), x])
    assert onsets.onset_f1(found, onsets.detect(late, SR)) < 0.2
    assert len(onsets.detect(np.zeros((SR, 2)), SR)) == 0


class PassThrough:
    """A perfect codec at 44.1 kHz: whatever the runner measures on it must come out perfect."""
    sample_rate, audio_channels, hop = SR, 2, 1

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        return audio

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents


def random_ae(sample_rate: int = 22050) -> Autoencoder:
    """A random autoencoder of the tiny layout, narrower still (the CPU time goes into convolutions at audio rate)."""
    cfg = autoencoder_preset("tiny")
    cfg.sample_rate, cfg.channels = sample_rate, 4
    torch.manual_seed(0)
    return Autoencoder(cfg).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """Held out: two corpus-like works (collection "test") and two generated drum renders, one drums alone and one
    drums under a piano melody; one train render, which must be left out."""
    out = tmp_path_factory.mktemp("build")
    add_render(out, "w1-r0", "heldout", progression(60, 3, seed=1), ["flute", "piano"], [73, 0], "mixed", "C major")
    add_render(out, "w2-r0", "heldout", progression(67, 3, seed=2), ["violin", "cello"], [40, 42], "strings",
               "G major")
    add_drum_render(out, "g1-r0", "heldout", drum_hits(12, seed=1))
    add_drum_render(out, "g2-r0", "heldout", drum_hits(12, seed=2), melody=scale(67, 1)[:12])
    add_render(out, "t0-r0", "train", [scale(62)], ["piano"], [0], "piano", "D major")
    return out


def test_runner_scores_a_perfect_codec_perfectly_and_random_models_finitely(build, tmp_path):
    aes = {"same": PassThrough(), "tiny22": random_ae(22050)}
    cfg = ReconConfig(build, tmp_path, works=4, seconds=3.0, examples=2, example_seconds=1.0, progress=False)
    result = evaluate_reconstruction(cfg, autoencoders=aes)
    data = json.loads((tmp_path / "reconstruction.json").read_text())
    assert set(data["groups"]) == {"test", "generated", "all"}
    assert sorted(e["id"] for e in data["excerpts"]) == ["g1-r0", "g2-r0", "w1-r0", "w2-r0"]
    assert {e["id"]: e["drums"] for e in data["excerpts"]} == {"g1-r0": "mix", "g2-r0": "stems", "w1-r0": None,
                                                               "w2-r0": None}
    groups = data["groups"]
    assert groups["generated"]["with_drums"] == 2 and groups["test"]["excerpts"] == 2
    for group, g in groups.items():
        for name in aes:
            row = g["models"][name]
            assert set(row) == set(MEASURES), (group, name)
            for key, v in row.items():
                if key == "drum_onset_f1" and group == "test":
                    assert v is None                           # no drums there: no score
                else:
                    assert v is not None and math.isfinite(v), (group, name, key, v)
    same = groups["all"]["models"]["same"]
    assert same["mrstft"] < 1e-3 and same["lsd_db"] < 0.01 and same["log_mel_db"] < 0.01
    assert same["note_f1"] == 1.0 and same["onset_f1"] == 1.0 and groups["generated"]["models"]["same"][
        "drum_onset_f1"] == 1.0
    tiny22 = groups["all"]["models"]["tiny22"]
    assert tiny22["lsd_db_full"] > tiny22["lsd_db"]           # the band above 11 kHz it cannot carry counts
    assert groups["test"]["transcriber_f1"] > 0.5
    md = (tmp_path / "reconstruction.md").read_text()
    assert "## test (2 excerpts" in md and "## generated (2 excerpts, 2 with drums)" in md
    assert "| note F1, onsets (vs transcription of the original) | 1.000 |" in md
    rates = {"original": SR, "same": SR, "tiny22": 22050}
    for rid in ("w1-r0", "g1-r0"):                            # the first excerpt of each group
        for name, rate in rates.items():
            info = sf.info(tmp_path / f"{rid}-{name}.wav")
            assert (info.samplerate, info.subtype, info.frames) == (rate, "PCM_16", rate)
        assert (tmp_path / f"{rid}-spectrograms.png").read_bytes()[:4] == b"\x89PNG"
    assert len(result["files"]) == 2 + 2 * (len(rates) + 1)


def test_cli_loads_checkpoints_and_names_bad_input(build, tmp_path):
    from bridge.cli import main

    ae = random_ae()
    save_checkpoint(tmp_path / "ae-only", {"autoencoder": ae}, {"autoencoder": ae.cfg})
    runner = CliRunner()
    base = ["eval", "reconstruction", "--data", str(build), "--seconds", "2", "--works", "1", "--examples", "1"]
    res = runner.invoke(main, base + ["--model", f"v2={tmp_path / 'ae-only'}", "--measures", "spectral",
                                      "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "v2 (22050 Hz, 2 ch)" in res.output and "| MR-STFT distance (model rate) |" in res.output
    assert "note F1" not in res.output
    assert json.loads((tmp_path / "out" / "reconstruction.json").read_text())["models"]["v2"]["sample_rate"] == 22050
    for extra, message in ((["--group-by", "genre"], "no field 'genre'"),
                           (["--measures", "vibes"], "unknown measures"),
                           (["--model", str(tmp_path / "absent")], "not found"),
                           (["--model", f"a={tmp_path / 'ae-only'}", "--model", f"a={tmp_path / 'ae-only'}"],
                            "given twice")):
        bad = runner.invoke(main, base + extra + ["--out", str(tmp_path / "bad")])
        assert bad.exit_code != 0 and message in bad.output, (extra, bad.output)
    bad = runner.invoke(main, ["eval", "reconstruction", "--data", str(tmp_path / "none")])
    assert bad.exit_code != 0 and "no 'heldout' renders" in bad.output


def test_basic_pitch_finds_the_notes_of_a_rendered_clip(tmp_path):
    mid = midi_of(progression(60, 2, seed=1))
    voices = M.voice_tracks(mid)
    M.set_programs(mid, dict(zip(voices, [73, 0])))
    audio = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in voices], tail=0.5).mix   # 4.5 s
    truth = notes.midi_notes(midi_file(tmp_path, mid))
    found = notes.transcribe(audio, SR)
    assert len(found) >= 0.8 * len(truth)
    assert notes.note_f1(truth, found) >= 0.7                    # measured 0.89 (flute + piano)
    assert notes.note_f1(truth.shifted(semitones=2), found) < 0.2   # another piece (a tone higher): measured 0
    assert notes.note_f1(found, notes.transcribe(audio, SR)) == 1.0
