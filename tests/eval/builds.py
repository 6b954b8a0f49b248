"""Hand-made MIDI (scales, chord progressions) rendered with the data pipeline's synth into a tiny data build."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from lmdm_core.data import midi as M
from lmdm_core.data import stems as S
from lmdm_core.data.manifest import Entry, Manifest
from lmdm_core.data.render import DRUM_CHANNEL, render

SR = 44100
TPB = 480
MAJOR = [0, 2, 4, 5, 7, 9, 11]


def midi_of(voices: list[list[tuple[float, float, int]]], bpm: float = 120.0) -> mido.MidiFile:
    """voices: per voice a list of (start beat, length in beats, note); one track and channel per voice."""
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)]))
    for ch, notes in enumerate(voices):
        events = sorted([(round(s * TPB), 1, n) for s, _, n in notes]
                        + [(round((s + d) * TPB), 0, n) for s, d, n in notes])
        tr, last = mido.MidiTrack(), 0
        for tick, on, note in events:
            tr.append(mido.Message("note_on" if on else "note_off", note=note, velocity=90 if on else 0, channel=ch,
                                   time=tick - last))
            last = tick
        mid.tracks.append(tr)
    return M.fix(mid)


def scale(tonic: int = 60, octaves: int = 2) -> list[tuple[float, float, int]]:
    """Major scale up and down, then the tonic triad, one note per beat."""
    up = [tonic + 12 * o + d for o in range(octaves) for d in MAJOR] + [tonic + 12 * octaves]
    notes = up + up[-2::-1]
    return [(float(i), 1.0, n) for i, n in enumerate(notes)] + [(len(notes) + k, 1.0, tonic + d)
                                                                for k, d in enumerate((0, 4, 7, 12))]


def progression(tonic: int, bars: int, seed: int = 0) -> list[list[tuple[float, float, int]]]:
    """Two voices in a major key, a whole cadence in every bar (one chord a beat: I IV V I): a melody on the chord
    roots or (seeded) the third of I, over the triads, so any two seconds (one bar at 120 BPM) name the key."""
    rng = np.random.default_rng(seed)
    chords = [(0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)]
    melody, harmony = [], []
    for b in range(bars):
        for q, chord in enumerate(chords):
            harmony += [(4.0 * b + q, 1.0, tonic - 12 + n) for n in chord]
            third = q in (0, 3) and rng.random() < 0.5
            melody.append((4.0 * b + q, 1.0, tonic + 12 + chord[1 if third else 0]))
    return [melody, harmony]


def render_to(folder: Path, mid: mido.MidiFile, programs: list[int]) -> tuple[np.ndarray, int]:
    """Render with one program per voice, level and write mix + stems and render.mid; returns (levelled stems,
    samples)."""
    voices = M.voice_tracks(mid)
    M.set_programs(mid, dict(zip(voices, programs)))
    out = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in voices], tail=1.0)
    audio, _ = S.level(out.stems)
    S.write(folder, audio, SR)
    mid.save(str(folder / "render.mid"))
    return audio, audio.shape[1]


def add_render(out_dir: Path, rid: str, split: str, voices, names: list[str], programs: list[int], ensemble: str,
               key: str, collection: str = "test") -> Entry:
    folder = Path(out_dir) / "renders" / rid
    audio, samples = render_to(folder, midi_of(voices), programs)
    files = ["mix.flac"] + [S.stem_name(k) for k in range(audio.shape[0])] + ["render.mid"]
    entry = Entry(id=rid, work=rid.rsplit("-r", 1)[0], collection=collection, split=split,
                  caption=f"{' and '.join(names)} playing in {key}", ensemble=ensemble, instruments=names,
                  programs=programs, key=key, mode="major", seconds=samples / SR, samples=samples,
                  frames=-(-samples // 2048), files=files)
    Manifest(out_dir).append(entry)
    return entry


def drum_hits(n: int = 12, seed: int = 0) -> list[tuple[float, int]]:
    """(beat, note) of kick, snare and closed hi-hat 0.5-1 beat apart at random, so a shifted copy cannot line up."""
    rng = np.random.default_rng(seed)
    return [(float(b), int(rng.choice([36, 38, 42]))) for b in np.cumsum(rng.choice([0.5, 0.75, 1.0], n))]


def drum_track(hits: list[tuple[float, int]]) -> mido.MidiTrack:
    """One track on the General-MIDI drum channel (the data pipeline's midi.fix would move it off channel 9)."""
    events = sorted([(round(b * TPB), 1, n) for b, n in hits] + [(round((b + 0.25) * TPB), 0, n) for b, n in hits])
    tr, last = mido.MidiTrack(), 0
    for tick, on, note in events:
        tr.append(mido.Message("note_on" if on else "note_off", note=note, velocity=100 if on else 0,
                               channel=DRUM_CHANNEL, time=tick - last))
        last = tick
    return tr


def add_drum_render(out_dir: Path, rid: str, split: str, hits: list[tuple[float, int]],
                    melody: list[tuple[float, float, int]] | None = None, collection: str = "generated") -> Entry:
    """A render with a drum voice (channel 9), alone or under a piano melody: mix, stems and render.mid as a build
    writes them."""
    mid = midi_of([melody]) if melody else midi_of([])
    mid.tracks.append(drum_track(hits))
    voices = M.voice_tracks(mid)
    out = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in voices], tail=1.0)
    audio, _ = S.level(out.stems)
    folder = Path(out_dir) / "renders" / rid
    files = S.write(folder, audio, SR) + ["render.mid"]
    mid.save(str(folder / "render.mid"))
    names = (["piano"] if melody else []) + ["drums"]
    entry = Entry(id=rid, work=rid.rsplit("-r", 1)[0], collection=collection, split=split, caption=" and ".join(names),
                  instruments=names, programs=[0] * len(names), seconds=audio.shape[1] / SR, samples=audio.shape[1],
                  files=files)
    Manifest(out_dir).append(entry)
    return entry
