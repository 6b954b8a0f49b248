"""MIDI clean-up and variation with mido: one channel per voice, sane notes, GM programs, transposition, tempo.

music21 writes parts that share an instrument onto one channel (unison notes then cut each other off, and stems stop
summing to the mix) and can emit zero-length grace notes whose note_off precedes the note_on at the same tick (the note
never ends). `fix` rebuilds every track from paired note intervals so neither can reach the renderer.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import mido

DRUM_CHANNEL = 9
VOICE_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]
ALL_NOTES_OFF = 123
DEFAULT_TEMPO = 500000  # microseconds per quarter note (120 BPM), the MIDI default


@dataclass
class Note:
    start: int       # ticks
    end: int         # ticks
    pitch: int
    velocity: int
    channel: int


def load(src: bytes | str | Path | mido.MidiFile) -> mido.MidiFile:
    """A MidiFile from bytes, a path or a MidiFile (returned as is)."""
    if isinstance(src, mido.MidiFile):
        return src
    if isinstance(src, (bytes, bytearray)):
        return mido.MidiFile(file=io.BytesIO(bytes(src)))
    return mido.MidiFile(str(src))


def to_bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _is_on(msg: mido.Message) -> bool:
    return msg.type == "note_on" and msg.velocity > 0


def _is_off(msg: mido.Message) -> bool:
    return msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0)


def track_notes(track: mido.MidiTrack, close_at: int | None = None) -> tuple[list[Note], int]:
    """Pair note_on/note_off into intervals; returns (notes, last tick).

    An off closes the oldest open note of its pitch that started before it (or at its own tick: a zero-length note). An
    off with no open note is the first half of a zero-length note written off-before-on at one tick (music21 grace
    notes): the on that follows at the same tick is dropped.
    Notes still open at the end are closed at `close_at` (default: the track's last tick); empty notes are dropped.
    """
    tick = 0
    open_notes: dict[tuple[int, int], list[Note]] = {}
    pending_zero: set[tuple[int, int, int]] = set()   # (channel, pitch, tick) of an off waiting for its on
    notes: list[Note] = []
    for msg in track:
        tick += msg.time
        if _is_on(msg):
            key = (msg.channel, msg.note)
            if (msg.channel, msg.note, tick) in pending_zero:
                pending_zero.discard((msg.channel, msg.note, tick))
                continue
            note = Note(tick, -1, msg.note, msg.velocity, msg.channel)
            open_notes.setdefault(key, []).append(note)
            notes.append(note)
        elif _is_off(msg):
            key = (msg.channel, msg.note)
            started = open_notes.get(key, [])
            earlier = [n for n in started if n.start < tick] or started   # else an on/off pair at one tick
            if earlier:
                earlier[0].end = tick
                started.remove(earlier[0])
            else:
                pending_zero.add((msg.channel, msg.note, tick))
    for note in notes:
        if note.end < 0:
            note.end = max(tick, close_at or 0)
    return [n for n in notes if n.end > n.start], tick


def _rebuild(track: mido.MidiTrack, notes: list[Note], channel: int | None, end_tick: int) -> mido.MidiTrack:
    """Write the track again: its non-note messages, the given notes, CC123 at the end; at one tick offs come first,
    then other messages, then ons."""
    timed: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    tick = 0
    for msg in track:
        tick += msg.time
        if msg.type in ("note_on", "note_off", "end_of_track") or (
                msg.type == "control_change" and msg.control == ALL_NOTES_OFF):   # re-added at the end: idempotent
            continue
        if channel is not None and hasattr(msg, "channel"):
            msg = msg.copy(channel=channel)
        timed.append((tick, 1, msg))
    for n in notes:
        ch = n.channel if channel is None else channel
        timed.append((n.start, 2, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
        timed.append((n.end, 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
    chans = {channel} if channel is not None else {n.channel for n in notes}
    for ch in sorted(chans):
        timed.append((end_tick, 3, mido.Message("control_change", channel=ch, control=ALL_NOTES_OFF, value=0)))
    timed.sort(key=lambda item: (item[0], item[1]))
    out = mido.MidiTrack()
    last = 0
    for t, _, msg in timed:
        out.append(msg.copy(time=t - last))
        last = t
    out.append(mido.MetaMessage("end_of_track", time=0))
    return out


def fix(mid: mido.MidiFile) -> mido.MidiFile:
    """A clean copy: zero-length notes dropped, each note-bearing track on its own channel (never 9, except the one
    drum track whose notes all are on 9: it stays the GM kit), CC123 at ends."""
    end_tick = max((sum(msg.time for msg in tr) for tr in mid.tracks), default=0)
    parsed = [track_notes(tr, end_tick) for tr in mid.tracks]
    drums = [i for i, (notes, _) in enumerate(parsed) if notes and all(n.channel == DRUM_CHANNEL for n in notes)]
    voices = [i for i, (notes, _) in enumerate(parsed) if notes and i not in drums]
    if len(voices) > len(VOICE_CHANNELS):
        raise ValueError(f"{len(voices)} voice tracks; at most {len(VOICE_CHANNELS)} fit on distinct channels")
    if len(drums) > 1:
        raise ValueError(f"{len(drums)} drum tracks; one fits on the drum channel (stems are one per channel)")
    channel_of = {t: VOICE_CHANNELS[k] for k, t in enumerate(voices)} | {t: DRUM_CHANNEL for t in drums}
    out = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
    for i, (tr, (notes, _)) in enumerate(zip(mid.tracks, parsed)):
        new = _rebuild(tr, notes, channel_of.get(i), end_tick) if notes else _rebuild(tr, [], None, end_tick)
        new.name = tr.name
        out.tracks.append(new)
    return out


def voice_tracks(mid: mido.MidiFile) -> list[int]:
    """Indices of note-bearing tracks, top voice first (by mean pitch, so part order in the file does not matter)."""
    means = []
    for i, tr in enumerate(mid.tracks):
        notes, _ = track_notes(tr)
        if notes:
            means.append((-sum(n.pitch for n in notes) / len(notes), i))
    return [i for _, i in sorted(means)]


def track_channel(track: mido.MidiTrack) -> int:
    for msg in track:
        if _is_on(msg):
            return msg.channel
    raise ValueError(f"track {track.name!r} has no notes")


def _edited(mid: mido.MidiFile) -> None:
    """mido caches the merged track (used by iteration and `length`); drop it after editing tracks in place."""
    del mid.merged_track


def set_programs(mid: mido.MidiFile, programs: dict[int, int]) -> None:
    """Give track i the General-MIDI program programs[i] (0-127), replacing any program changes it had."""
    for i, program in programs.items():
        tr = mid.tracks[i]
        ch = track_channel(tr)
        kept = mido.MidiTrack()
        carry = 0
        for msg in tr:
            if msg.type == "program_change":
                carry += msg.time
                continue
            kept.append(msg.copy(time=msg.time + carry))
            carry = 0
        kept.insert(0, mido.Message("program_change", channel=ch, program=program, time=0))
        kept.name = tr.name
        mid.tracks[i] = kept
    _edited(mid)


def set_pans(mid: mido.MidiFile, pans: dict[int, int]) -> None:
    """Place track i in the stereo field: CC10 value pans[i] (0 left, 64 centre, 127 right) at its start."""
    for i, pan in pans.items():
        tr = mid.tracks[i]
        tr.insert(0, mido.Message("control_change", channel=track_channel(tr), control=10, value=pan, time=0))
    _edited(mid)


def pitch_range(mid: mido.MidiFile) -> tuple[int, int]:
    """Lowest and highest note of the pitched channels (drum notes name drums, not pitches)."""
    pitches = [n.pitch for tr in mid.tracks for n in track_notes(tr)[0] if n.channel != DRUM_CHANNEL]
    if not pitches:
        raise ValueError("MIDI has no notes")
    return min(pitches), max(pitches)


def transpose(mid: mido.MidiFile, semitones: int) -> None:
    """Shift every note (channel 9 excepted) by semitones; refuses to leave 0..127."""
    if not semitones:
        return
    lo, hi = pitch_range(mid)
    if lo + semitones < 0 or hi + semitones > 127:
        raise ValueError(f"transposing {semitones:+d} leaves the MIDI range (notes {lo}..{hi})")
    for tr in mid.tracks:
        for k, msg in enumerate(tr):
            if msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
                tr[k] = msg.copy(note=msg.note + semitones)
    _edited(mid)


def scale_tempo(mid: mido.MidiFile, factor: float) -> None:
    """Play factor times faster (factor > 0). A file without set_tempo gets one (from 120 BPM) in its first track."""
    if factor <= 0:
        raise ValueError(f"tempo factor must be > 0, got {factor}")
    found = False
    for tr in mid.tracks:
        for k, msg in enumerate(tr):
            if msg.type == "set_tempo":
                tr[k] = msg.copy(tempo=max(1, min(0xFFFFFF, round(msg.tempo / factor))))
                found = True
    if not found:
        mid.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=round(DEFAULT_TEMPO / factor), time=0))
    _edited(mid)


def set_bpm(mid: mido.MidiFile, bpm: float) -> None:
    """Scale all tempi so the first one becomes bpm (quarter notes per minute)."""
    scale_tempo(mid, bpm / first_bpm(mid))


def first_bpm(mid: mido.MidiFile) -> float:
    for tr in mid.tracks:
        for msg in tr:
            if msg.type == "set_tempo":
                return mido.tempo2bpm(msg.tempo)
    return mido.tempo2bpm(DEFAULT_TEMPO)


def _tempo_map(mid: mido.MidiFile) -> list[tuple[int, int]]:
    """(tick, tempo) changes from all tracks, sorted; type-1 files keep them in the first track but be lenient."""
    changes = []
    for tr in mid.tracks:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    changes.sort()
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, DEFAULT_TEMPO))
    return changes


def seconds_of(mid: mido.MidiFile):
    """A function ticks -> seconds for this file's tempo map."""
    tmap = _tempo_map(mid)
    starts = [0.0]
    for (t0, tempo), (t1, _) in zip(tmap, tmap[1:]):
        starts.append(starts[-1] + mido.tick2second(t1 - t0, mid.ticks_per_beat, tempo))

    def convert(tick: int) -> float:
        k = 0
        while k + 1 < len(tmap) and tmap[k + 1][0] <= tick:
            k += 1
        return starts[k] + mido.tick2second(tick - tmap[k][0], mid.ticks_per_beat, tmap[k][1])

    return convert


def voice_notes(mid: mido.MidiFile) -> list[list[tuple[float, float, int]]]:
    """Per voice track (top first): (start s, end s, pitch) of each note."""
    sec = seconds_of(mid)
    return [[(sec(n.start), sec(n.end), n.pitch) for n in track_notes(mid.tracks[i])[0]] for i in voice_tracks(mid)]
