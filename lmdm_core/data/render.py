"""SoundFont rendering with tinysoundfont (the synth ships inside its wheel: no libfluidsynth needed, same on every
machine). One synth per MIDI channel, all advanced in lock-step, so a single pass yields every voice's stem and the mix
is their sum. Rendering stops at the last event plus a release tail, never past max_seconds, and gives up after a
wall-clock timeout: a broken MIDI cannot run forever or fill a disk.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import mido
import numpy as np

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")   # 6 MB, Debian timgm6mb-soundfont: tests, fallback
# 39 MB, Debian musescore-general-soundfont-small: the data build's default (drum kits, vorbis samples, docs/data.md)
MUSESCORE_SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")
DRUM_CHANNEL = 9


class RenderError(RuntimeError):
    """The MIDI could not be rendered within the guard (wall-clock timeout) or the SoundFont failed to load."""


@dataclass
class Rendered:
    stems: np.ndarray        # [voices, samples, 2] float32, one per channel in `channels`
    channels: list[int]
    sample_rate: int
    truncated: bool          # events past max_seconds were cut off
    fallback_presets: list[tuple[int, int]] = field(default_factory=list)   # (bank, program) taken from the fallback

    @property
    def mix(self) -> np.ndarray:
        return self.stems.sum(axis=0)

    @property
    def seconds(self) -> float:
        return self.stems.shape[1] / self.sample_rate


@lru_cache(maxsize=4)
def _soundfont_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


class _Player:
    """One tinysoundfont synth with the main SoundFont and, loaded on first need, a fallback for presets the main one
    lacks (a subset SF3 without the 15 MB piano takes it from TimGM6mb). Drum channel 9 selects bank-128 kits in MIDI
    drum mode. SF3 samples are decoded to float when loaded (seconds for a big file), so players are pooled per
    process and reset between renders instead of loaded again."""

    def __init__(self, soundfont: str, sample_rate: int, fallback: str | None):
        try:
            import tinysoundfont  # imported here so the rest of the data package loads without it
        except ImportError as err:
            raise RenderError("tinysoundfont is missing: `pip install --no-deps tinysoundfont` (its declared pyaudio "
                              "dependency is only for live playback)") from err
        self.synth = tinysoundfont.Synth(samplerate=sample_rate)
        self.sfid = self._load(soundfont)
        self.fallback, self.fallback_id = fallback, None
        self.used_fallback: set[tuple[int, int]] = set()

    def _load(self, path: str) -> int:
        try:
            return self.synth.sfload(_soundfont_bytes(path))
        except Exception as err:  # tinysoundfont raises its own exception type for bad files
            raise RenderError(f"cannot load SoundFont {path}: {err}") from err

    def select(self, channel: int, program: int) -> None:
        """Program `program` on `channel` (a drum kit on channel 9), from the main SoundFont, else the fallback; a
        preset neither has leaves the channel as it was."""
        drums = channel == DRUM_CHANNEL
        try:
            self.synth.program_select(channel, self.sfid, 0, program, drums)
            return
        except RuntimeError:
            pass
        if self.fallback is None:
            return
        if self.fallback_id is None:
            self.fallback_id = self._load(self.fallback)
        try:
            self.synth.program_select(channel, self.fallback_id, 0, program, drums)
            self.used_fallback.add((128 if drums else 0, program))
        except RuntimeError:
            pass

    def reset(self) -> None:
        """Back to a fresh synth's state: every voice stopped and flushed, channels at their defaults, program 0."""
        for sfid in (self.sfid, self.fallback_id):
            if sfid is not None:
                self.synth._get_soundfont(sfid).reset()
        self.synth.generate_simple(4096)          # the quick fade of stopped voices, discarded
        for ch in range(16):
            self.select(ch, 0)
        self.used_fallback = set()


_POOL: dict[tuple[str, int, str | None], list[_Player]] = {}


def _players(soundfont: str, sample_rate: int, fallback: str | None, n: int) -> list[_Player]:
    pool = _POOL.setdefault((soundfont, sample_rate, fallback), [])
    while len(pool) < n:
        pool.append(_Player(soundfont, sample_rate, fallback))
    for player in pool[:n]:
        player.reset()
    return pool[:n]


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


def _send(player: _Player, msg: mido.Message) -> None:
    synth = player.synth
    if msg.type == "note_on" and msg.velocity > 0:
        synth.noteon(msg.channel, msg.note, msg.velocity)
    elif msg.type in ("note_on", "note_off"):
        synth.noteoff(msg.channel, msg.note)
    elif msg.type == "program_change":
        player.select(msg.channel, msg.program)
    elif msg.type == "control_change":
        synth.control_change(msg.channel, msg.control, msg.value)
    elif msg.type == "pitchwheel":
        synth.pitchbend(msg.channel, msg.pitch + 8192)


def render(mid: mido.MidiFile, soundfont: str | Path = DEFAULT_SOUNDFONT, sample_rate: int = 44100, *,
           separate: bool = True, channels: list[int] | None = None, tail: float = 1.5,
           max_seconds: float = 600.0, timeout: float | None = 120.0,
           fallback: str | Path | None = None) -> Rendered:
    """Render a MIDI file to stereo float32.

    separate=True: one stem per channel, for the given `channels` in that order (silent ones are zeros) or else every
    channel that plays a note; separate=False: one synth for all channels, a single stem that is the mix as a plain
    SoundFont player would make it. The audio lasts until the last
    event plus `tail` seconds of release, capped at max_seconds. Raises RenderError past `timeout` wall-clock seconds.
    Presets the SoundFont lacks come from `fallback` when given (listed in `fallback_presets`).
    """
    if sample_rate <= 0 or max_seconds <= 0:
        raise ValueError("sample_rate and max_seconds must be > 0")
    events, last, cut = _timeline(mid, max_seconds)
    total = int(round(min(last + tail, max_seconds) * sample_rate))
    played = channels if channels is not None else sorted(
        {m.channel for _, m in events if m.type == "note_on" and m.velocity > 0})
    groups = [[ch] for ch in played] if separate else [list(played)]
    players = _players(str(soundfont), sample_rate, None if fallback is None else str(fallback), len(groups))
    route = {ch: k for k, group in enumerate(groups) for ch in group}
    out = np.zeros((len(groups), total, 2), dtype=np.float32)
    deadline = None if timeout is None else time.monotonic() + timeout
    pos = 0

    def advance(to: int) -> None:
        nonlocal pos
        to = min(to, total)
        if to > pos:
            for k, player in enumerate(players):
                out[k, pos:to] = np.frombuffer(player.synth.generate_simple(to - pos), dtype=np.float32).reshape(-1, 2)
            pos = to

    for when, msg in events:
        advance(int(round(when * sample_rate)))
        if deadline is not None and time.monotonic() > deadline:
            raise RenderError(f"render exceeded its {timeout} s timeout at {when:.1f} s of audio")
        if msg.channel in route:  # channels that never play a note need no synth
            _send(players[route[msg.channel]], msg)
    advance(total)
    fell_back = sorted(set().union(*(p.used_fallback for p in players)))
    return Rendered(stems=out, channels=played if separate else [-1], sample_rate=sample_rate, truncated=cut,
                    fallback_presets=fell_back)
