"""SoundFont rendering with tinysoundfont (the synth ships inside its wheel: no libfluidsynth needed, same on every
machine). One synth per MIDI channel, all advanced in lock-step, so a single pass yields every voice's stem and the mix
is their sum. Rendering stops at the last event plus a release tail, never past max_seconds, and gives up after a
wall-clock timeout: a broken MIDI cannot run forever or fill a disk.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import mido
import numpy as np

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
DRUM_CHANNEL = 9


class RenderError(RuntimeError):
    """The MIDI could not be rendered within the guard (wall-clock timeout) or the SoundFont failed to load."""


@dataclass
class Rendered:
    stems: np.ndarray        # [voices, samples, 2] float32, one per channel in `channels`
    channels: list[int]
    sample_rate: int
    truncated: bool          # events past max_seconds were cut off

    @property
    def mix(self) -> np.ndarray:
        return self.stems.sum(axis=0)

    @property
    def seconds(self) -> float:
        return self.stems.shape[1] / self.sample_rate


@lru_cache(maxsize=4)
def _soundfont_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def _synth(soundfont: str, sample_rate: int):
    try:
        import tinysoundfont  # imported here so the rest of the data package loads without it
    except ImportError as err:
        raise RenderError("tinysoundfont is missing: `pip install --no-deps tinysoundfont` (its declared pyaudio "
                          "dependency is only for live playback)") from err

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    try:
        sfid = synth.sfload(_soundfont_bytes(soundfont))
    except Exception as err:  # tinysoundfont raises its own exception type for bad files
        raise RenderError(f"cannot load SoundFont {soundfont}: {err}") from err
    for ch in range(16):
        synth.program_select(ch, sfid, 128 if ch == DRUM_CHANNEL else 0, 0)
    return synth, sfid


def _timeline(mid: mido.MidiFile, max_seconds: float) -> tuple[list[tuple[float, mido.Message]], float, bool]:
    """Channel messages with absolute times in seconds up to max_seconds; also the last event time and a cut flag."""
    events, now, cut, tempo = [], 0.0, False, 500000
    # Merge afresh: mido caches its merged track and edits made in place to mid.tracks would not show in `iter(mid)`.
    for msg in mido.merge_tracks(mid.tracks):
        now += mido.tick2second(msg.time, mid.ticks_per_beat, tempo) if msg.time else 0.0
        if msg.type == "set_tempo":
            tempo = msg.tempo
        if now > max_seconds:
            cut = True
            break
        if not msg.is_meta and hasattr(msg, "channel"):
            events.append((now, msg))
    return events, min(now, max_seconds), cut


def _send(synth, sfid: int, msg: mido.Message) -> None:
    if msg.type == "note_on" and msg.velocity > 0:
        synth.noteon(msg.channel, msg.note, msg.velocity)
    elif msg.type in ("note_on", "note_off"):
        synth.noteoff(msg.channel, msg.note)
    elif msg.type == "program_change":
        bank = 128 if msg.channel == DRUM_CHANNEL else 0
        try:
            synth.program_select(msg.channel, sfid, bank, msg.program)
        except Exception:  # a preset the SoundFont lacks: keep the previous one
            pass
    elif msg.type == "control_change":
        synth.control_change(msg.channel, msg.control, msg.value)
    elif msg.type == "pitchwheel":
        synth.pitchbend(msg.channel, msg.pitch + 8192)


def render(mid: mido.MidiFile, soundfont: str | Path = DEFAULT_SOUNDFONT, sample_rate: int = 44100, *,
           separate: bool = True, channels: list[int] | None = None, tail: float = 1.5,
           max_seconds: float = 600.0, timeout: float | None = 120.0) -> Rendered:
    """Render a MIDI file to stereo float32.

    separate=True: one stem per channel, for the given `channels` in that order (silent ones are zeros) or else every
    channel that plays a note; separate=False: one synth for all channels, a single stem that is the mix as a plain
    SoundFont player would make it. The audio lasts until the last
    event plus `tail` seconds of release, capped at max_seconds. Raises RenderError past `timeout` wall-clock seconds.
    """
    if sample_rate <= 0 or max_seconds <= 0:
        raise ValueError("sample_rate and max_seconds must be > 0")
    events, last, cut = _timeline(mid, max_seconds)
    total = int(round(min(last + tail, max_seconds) * sample_rate))
    played = channels if channels is not None else sorted(
        {m.channel for _, m in events if m.type == "note_on" and m.velocity > 0})
    groups = [[ch] for ch in played] if separate else [list(played)]
    synths = [_synth(str(soundfont), sample_rate) for _ in groups]
    route = {ch: k for k, group in enumerate(groups) for ch in group}
    out = np.zeros((len(groups), total, 2), dtype=np.float32)
    deadline = None if timeout is None else time.monotonic() + timeout
    pos = 0

    def advance(to: int) -> None:
        nonlocal pos
        to = min(to, total)
        if to > pos:
            for k, (synth, _) in enumerate(synths):
                out[k, pos:to] = np.frombuffer(synth.generate_simple(to - pos), dtype=np.float32).reshape(-1, 2)
            pos = to

    for when, msg in events:
        advance(int(round(when * sample_rate)))
        if deadline is not None and time.monotonic() > deadline:
            raise RenderError(f"render exceeded its {timeout} s timeout at {when:.1f} s of audio")
        if msg.channel in route:  # channels that never play a note need no synth
            synth, sfid = synths[route[msg.channel]]
            _send(synth, sfid, msg)
    advance(total)
    return Rendered(stems=out, channels=played if separate else [-1], sample_rate=sample_rate, truncated=cut)
