"""SoundFonts: MuseScore General Lite (SF3, Ogg Vorbis samples) renders melodic presets and the drum kit through
tinysoundfont, and a subset keeps exactly the presets asked for, sounding as they do in the full file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SMALL_SF, SR, TPB, make_midi
from lmdm_core.data import midi as M
from lmdm_core.data import soundfont as S
from lmdm_core.data.render import MUSESCORE_SOUNDFONT, render

needs_musescore = pytest.mark.skipif(not MUSESCORE_SOUNDFONT.is_file(),
                                     reason="Debian musescore-general-soundfont-small (scripts/install.sh --test)")


def _note_midi(program: int, pitch: int, channel: int = 0) -> M.mido.MidiFile:
    mid = make_midi([[(0, "on", pitch, channel), (TPB, "off", pitch, channel)]])
    mid.tracks[1].insert(0, M.mido.Message("program_change", channel=channel, program=program, time=0))
    return mid


def _play(sf: str | Path, program: int, pitch: int, channel: int = 0, **kw) -> np.ndarray:
    return render(_note_midi(program, pitch, channel), sf, separate=False, tail=0.5, **kw).mix[:, 0]


def _spectrum(x: np.ndarray) -> tuple[float, float]:
    """(strongest frequency, spectral centroid) in Hz of the first 0.37 s."""
    frame = x[:16384] * np.hanning(16384)
    mag = np.abs(np.fft.rfft(frame))
    freqs = np.fft.rfftfreq(16384, 1 / SR)
    return float(freqs[mag.argmax()]), float((mag * freqs).sum() / mag.sum())


@pytest.fixture(scope="module")
def subset_sf3(tmp_path_factory) -> Path:
    """A few presets of MuseScore General Lite (fast to decode), written by the subset writer."""
    path = tmp_path_factory.mktemp("sf") / "few.sf3"
    S.write_subset(MUSESCORE_SOUNDFONT, path, {(0, 33), (0, 73), (0, 81), (128, 0)})
    return path


@needs_musescore
def test_musescore_sf3_melodic_and_drum_notes_sound(subset_sf3):
    rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
    for program, pitch in ((33, 45), (73, 69), (81, 57)):       # fingered bass A2, flute A4, saw lead A3
        x = _play(subset_sf3, program, pitch)
        assert rms(x) > 1e-3, program                            # Vorbis samples decoded: not silence
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        peak, _ = _spectrum(x)
        assert min(abs(peak / (f0 * h) - 1) for h in (1, 2, 3, 4)) < 0.03, (program, peak, f0)   # a harmonic of f0
    kick, hat = _play(subset_sf3, 0, 36, channel=9), _play(subset_sf3, 0, 42, channel=9)
    assert rms(kick) > 1e-3 and rms(hat) > 1e-3
    assert _spectrum(kick)[1] < 1500 < 4000 < _spectrum(hat)[1]   # a kick is low, a closed hat bright


@needs_musescore
def test_subset_sounds_like_the_full_file_and_drops_the_rest(subset_sf3, tmp_path):
    full = S.read(MUSESCORE_SOUNDFONT)
    assert full.tables["shdr"][0][9] & S.VORBIS and full.smpl[full.tables["shdr"][0][1]:][:4] == b"OggS"
    part = S.read(subset_sf3)
    assert {(b, p) for b, p, _ in part.presets} == {(0, 33), (0, 73), (0, 81), (128, 0)}
    assert all(part.tables[t][-1][0] == full.tables[t][-1][0] for t in ("phdr", "inst", "shdr"))   # terminals kept
    assert part.tables["phdr"][-1][3] == len(part.tables["pbag"]) - 1 and part.tables["shdr"][-1] == full.tables[
        "shdr"][-1]
    assert subset_sf3.stat().st_size < MUSESCORE_SOUNDFONT.stat().st_size / 4
    for program, pitch, channel in ((73, 69, 0), (0, 38, 9)):
        a = _play(MUSESCORE_SOUNDFONT, program, pitch, channel)
        b = _play(subset_sf3, program, pitch, channel)
        # Float rounding at most: the samples sit at other offsets of tinysoundfont's decoded buffer, and the
        # interpolation position (offset + phase) rounds differently; -100 dB of full scale.
        assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(a)) and np.max(np.abs(a)) > 1e-2
    size, absent = S.write_subset(MUSESCORE_SOUNDFONT, tmp_path / "one.sf3", {(0, 73), (0, 200)})
    assert absent == [(0, 200)] and size > 0
    # A preset that was not kept is absent: the synth refuses it, the renderer plays the fallback's instead.
    piano = _play(subset_sf3, 0, 60, fallback=SMALL_SF)
    assert np.array_equal(piano, _play(SMALL_SF, 0, 60))
    rendered = render(_note_midi(0, 60), subset_sf3, separate=False, fallback=SMALL_SF)
    assert rendered.fallback_presets == [(0, 0)]


def test_subset_of_an_sf2_sounds_the_same(tmp_path):
    path = tmp_path / "two.sf2"
    _, absent = S.write_subset(SMALL_SF, path, {(0, 40), (0, 0)})
    assert absent == [] and {(b, p) for b, p, _ in S.read(path).presets} == {(0, 40), (0, 0)}
    for program in (40, 0):       # 16-bit samples moved to other offsets: equal to float rounding, as with SF3
        a, b = _play(SMALL_SF, program, 64), _play(path, program, 64)
        assert np.max(np.abs(a - b)) <= 1e-5 * np.max(np.abs(a)) and np.max(np.abs(a)) > 1e-2


def test_not_a_soundfont_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sf3"
    bad.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(S.SoundFontError, match="not a SoundFont"):
        S.read(bad)


def test_cli_writes_a_subset_and_names_what_is_absent(tmp_path):
    from click.testing import CliRunner

    from bridge.cli import main

    dst = tmp_path / "sub" / "small.sf2"
    result = CliRunner().invoke(main, ["data", "soundfont-subset", SMALL_SF, str(dst), "--preset", "0:40",
                                       "--preset", "0:200", "--preset", "128:0"])
    assert result.exit_code == 0, result.output
    assert "2 presets" in result.output and "absent from TimGM6mb.sf2: 0:200" in result.output
    assert {(b, p) for b, p, _ in S.read(dst).presets} == {(0, 40), (128, 0)}
    bad = CliRunner().invoke(main, ["data", "soundfont-subset", SMALL_SF, str(dst), "--preset", "violin"])
    assert bad.exit_code != 0 and "BANK:PROGRAM" in bad.output
