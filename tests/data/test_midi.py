"""MIDI fixes: zero-length notes, one channel per track, CC123; variations (programs, transposition, tempo)."""
from __future__ import annotations

import mido
import numpy as np
import pytest

from conftest import TPB, make_midi
from lmdm_core.data import midi as M
from lmdm_core.data.render import render


def _note_msgs(track):
    return [m for m in track if m.type in ("note_on", "note_off")]


def test_zero_length_notes_dropped_and_open_notes_closed():
    # Track 0: a normal note, then a grace note written off-before-on at one tick (it would never end), then a note
    # whose note_off is missing. Track 1: an on/off pair at the same tick (zero length, on first).
    mid = make_midi([
        [(0, "on", 60, 0), (480, "off", 60, 0), (960, "off", 62, 0), (960, "on", 62, 0), (960, "on", 64, 0)],
        [(0, "on", 55, 0), (0, "off", 55, 0), (240, "on", 57, 0), (1440, "off", 57, 0)],
    ])
    fixed = M.fix(mid)
    notes = {i: [(n.pitch, n.start, n.end) for n in M.track_notes(t)[0]] for i, t in enumerate(fixed.tracks)}
    # 62 (grace) and 55 (zero length) are gone; 64 is closed at the file's last tick instead of ringing forever.
    assert notes[1] == [(60, 0, 480), (64, 960, 1440)]
    assert notes[2] == [(57, 240, 1440)]
    for t in fixed.tracks:
        ons = [m for m in t if m.type == "note_on" and m.velocity > 0]
        offs = [m for m in t if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)]
        assert len(ons) == len(offs)


def test_each_track_gets_its_own_channel_and_cc123():
    mid = make_midi([[(0, "on", 60 + k, 0), (480, "off", 60 + k, 0)] for k in range(12)])
    fixed = M.fix(mid)
    voices = M.voice_tracks(fixed)
    channels = [M.track_channel(fixed.tracks[i]) for i in voices]
    assert len(set(channels)) == 12 and 9 not in channels
    for i in voices:
        track = fixed.tracks[i]
        assert {m.channel for m in track if hasattr(m, "channel")} == {M.track_channel(track)}
        body = [m for m in track if not m.is_meta]
        assert body[-1].type == "control_change" and body[-1].control == M.ALL_NOTES_OFF
    too_many = make_midi([[(0, "on", 40 + k, 0), (480, "off", 40 + k, 0)] for k in range(16)])
    with pytest.raises(ValueError, match="at most 15"):
        M.fix(too_many)


def test_voice_order_programs_transpose_tempo():
    mid = M.fix(make_midi([[(0, "on", 48, 0), (960, "off", 48, 0)], [(0, "on", 72, 0), (960, "off", 72, 0)]]))
    top, low = M.voice_tracks(mid)
    assert [n.pitch for n in M.track_notes(mid.tracks[top])[0]] == [72]
    M.set_programs(mid, {top: 40, low: 42})
    progs = {i: [m.program for m in mid.tracks[i] if m.type == "program_change"] for i in (top, low)}
    assert progs == {top: [40], low: [42]}
    M.transpose(mid, 5)
    assert M.pitch_range(mid) == (53, 77)
    with pytest.raises(ValueError, match="MIDI range"):
        M.transpose(mid, 60)
    before = mid.length
    M.scale_tempo(mid, 2.0)
    assert mid.length == pytest.approx(before / 2)
    assert M.first_bpm(mid) == pytest.approx(240.0, rel=1e-4)
    notes = M.voice_notes(mid)
    assert notes[0] == [(0.0, pytest.approx(0.5), 77)]


def test_channel_fix_makes_stems_sum_to_the_mix():
    # Two parts on one channel: one holds a C, the other strikes the same C briefly inside it. On one channel the
    # synth cannot tell whose note_off is whose and releases the held note early (what music21's files do); after the
    # fix the plain one-synth mix equals the sum of the stems.
    unison = make_midi([[(0, "on", 60, 0), (4 * TPB, "off", 60, 0)], [(TPB, "on", 60, 0), (2 * TPB, "off", 60, 0)]])
    fixed = M.fix(unison)
    stems = render(fixed, max_seconds=10)
    one_synth_fixed = render(fixed, separate=False, max_seconds=10).stems[0]
    one_synth_raw = render(unison, separate=False, max_seconds=10).stems[0]
    assert len(stems.channels) == 2
    assert np.max(np.abs(one_synth_fixed - stems.mix)) < 1e-5
    err_raw = np.sqrt(np.mean((one_synth_raw - stems.mix) ** 2) / np.mean(stems.mix**2))
    assert err_raw > 0.1, "the unfixed file should release the held note early"


def test_midi_round_trip_bytes():
    mid = M.fix(make_midi([[(0, "on", 60, 0), (480, "off", 60, 0)]]))
    again = M.load(M.to_bytes(mid))
    assert isinstance(again, mido.MidiFile)
    assert [(n.pitch, n.start, n.end) for n in M.track_notes(again.tracks[1])[0]] == [(60, 0, 480)]
