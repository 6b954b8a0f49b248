"""Shared helpers for the data tests: hand-made MIDI files and a tiny exported corpus."""
from __future__ import annotations

from pathlib import Path

import mido
import pytest

SR = 44100
HOP = 2048
TPB = 480
HELDOUT = 0.6      # bwv66.6 hashes to 0.567 (held out), bwv269 to 0.615 (train): the tiny corpus has both sides
SMALL_SF = "/usr/share/sounds/sf2/TimGM6mb.sf2"     # fast to load; where the SoundFont does not matter


def make_midi(tracks: list[list[tuple[int, str, int, int]]], bpm: float = 120.0) -> mido.MidiFile:
    """tracks: per track a list of (abs tick, 'on'|'off', note, channel), written in the given order."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    mid.tracks.append(meta)
    for k, events in enumerate(tracks):
        tr = mido.MidiTrack()
        tr.name = f"voice{k}"
        last = 0
        for tick, kind, note, ch in events:
            msg_type = "note_on" if kind == "on" else "note_off"
            tr.append(mido.Message(msg_type, note=note, velocity=90 if kind == "on" else 0, channel=ch,
                                   time=tick - last))
            last = tick
        mid.tracks.append(tr)
    return mid


@pytest.fixture(scope="session")
def works_dir(tmp_path_factory) -> Path:
    """Two short Bach chorales exported with music21 (cleaned MIDI + works.jsonl), split by work."""
    from lmdm_core.data import build, corpus

    folder = tmp_path_factory.mktemp("works")
    works = corpus.assign_splits([corpus.Work("bach/bwv66.6.mxl", "bach"), corpus.Work("bach/bwv269.mxl", "bach")],
                                 heldout=HELDOUT)
    infos = build.export(works, folder, progress=False)
    assert [i.status for i in infos] == ["ok", "ok"], [i.error for i in infos]
    return folder
