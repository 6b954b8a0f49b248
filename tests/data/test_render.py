"""Renderer: expected duration, stems, and the guards that stop a broken MIDI from running forever."""
from __future__ import annotations

import mido
import numpy as np
import pytest

from conftest import SR, TPB, make_midi
from lmdm_core.data import midi as M
from lmdm_core.data import stems as S
from lmdm_core.data.render import RenderError, render


def test_known_midi_renders_to_expected_duration():
    # Two beats of C4 then two of E4 at 120 BPM: the last event is at 2.0 s; audio = events + 1.5 s release tail.
    mid = M.fix(make_midi([[(0, "on", 60, 0), (2 * TPB, "off", 60, 0), (2 * TPB, "on", 64, 0),
                            (4 * TPB, "off", 64, 0)]]))
    out = render(mid, tail=1.5)
    assert out.stems.shape == (1, int(round(3.5 * SR)), 2)
    assert out.stems.dtype == np.float32 and not out.truncated
    rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
    assert rms(out.mix[: SR]) > 1e-3                       # sound while the note plays
    assert rms(out.mix[-SR // 10:]) < rms(out.mix[: SR]) / 30   # released by the end
    M.scale_tempo(mid, 0.5)                                # half as fast: twice the length
    assert render(mid, tail=1.5).stems.shape[1] == int(round(5.5 * SR))


def test_note_that_never_ends_is_capped_by_max_seconds():
    # Unfixed file: a grace note written off-before-on (never ends) and a stray event an hour later.
    mid = make_midi([[(0, "on", 60, 0), (TPB, "off", 60, 0), (TPB, "off", 62, 0), (TPB, "on", 62, 0),
                      (7200 * TPB, "on", 64, 0)]])
    out = render(mid, max_seconds=4.0)
    assert out.truncated
    assert out.stems.shape[1] == 4 * SR


def test_wall_clock_timeout_raises():
    mid = M.fix(make_midi([[(k * TPB, "on", 60, 0) for k in range(0, 40, 2)]]))
    with pytest.raises(RenderError, match="timeout"):
        render(mid, timeout=0.0)


def test_bad_soundfont_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    mid = M.fix(make_midi([[(0, "on", 60, 0), (TPB, "off", 60, 0)]]))
    with pytest.raises(RenderError, match="SoundFont"):
        render(mid, bad)


def test_chorale_stems_sum_to_mix_after_writing(works_dir, tmp_path):
    mid = M.load(works_dir / "bach-bwv66-6.mid")
    voices = M.voice_tracks(mid)
    out = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in voices], max_seconds=5.0)
    assert out.stems.shape[0] == 4
    audio, _ = S.level(out.stems)
    S.write(tmp_path, audio, SR)
    mix, _ = S.read(tmp_path)
    parts = [S.read(tmp_path, S.stem_name(k))[0] for k in range(4)]
    lsb = 1 / 32768
    assert np.max(np.abs(sum(parts) - mix)) <= 2.5 * lsb + 1e-9   # (voices + 1) / 2 roundings at worst
    assert np.sqrt(np.mean(mix**2)) > 0.05                         # levelled near -20 dBFS, not silence
    solo, rest, _ = S.mix_without(tmp_path, 0)
    assert np.max(np.abs(rest - sum(parts[1:]))) <= 2.5 * lsb + 1e-9
    assert np.allclose(solo, parts[0])


def test_render_accepts_bytes_roundtrip_of_fixed_midi():
    mid = M.fix(make_midi([[(0, "on", 67, 0), (TPB, "off", 67, 0)]]))
    again = M.load(M.to_bytes(mid))
    assert isinstance(again, mido.MidiFile)
    np.testing.assert_array_equal(render(mid).stems, render(again).stems)


def test_pan_places_a_voice_in_the_stereo_field():
    mid = M.fix(make_midi([[(0, "on", 60, 0), (TPB, "off", 60, 0)], [(0, "on", 64, 0), (TPB, "off", 64, 0)]]))
    top, low = M.voice_tracks(mid)
    M.set_pans(mid, {top: 0, low: 127})
    out = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in (top, low)])
    left_voice, right_voice = (np.sqrt(np.mean(s**2, axis=0)) for s in out.stems)
    assert left_voice[0] > 5 * left_voice[1] and right_voice[1] > 5 * right_voice[0]
