"""General-MIDI instrument sets and text captions built from a render's metadata (instruments, key, mode, tempo)."""
from __future__ import annotations

import random
from dataclasses import dataclass

# Ensembles, top voice first: (GM program, name). A work with n voices takes instruments spread over the list.
ENSEMBLES: dict[str, list[tuple[int, str]]] = {
    "string quartet": [(40, "violin"), (40, "violin"), (41, "viola"), (42, "cello")],
    "string orchestra": [(48, "strings"), (48, "strings"), (48, "strings"), (43, "contrabass")],
    "brass quartet": [(56, "trumpet"), (60, "french horn"), (57, "trombone"), (58, "tuba")],
    "woodwind quartet": [(73, "flute"), (68, "oboe"), (71, "clarinet"), (70, "bassoon")],
    "saxophone quartet": [(64, "soprano sax"), (65, "alto sax"), (66, "tenor sax"), (67, "baritone sax")],
    "church organ": [(19, "church organ")],
    "choir": [(52, "choir")],
    "piano": [(0, "piano")],
    "harpsichord": [(6, "harpsichord")],
    "recorder consort": [(74, "recorder"), (74, "recorder"), (74, "recorder"), (74, "recorder")],
    "guitar trio": [(25, "steel guitar"), (24, "nylon guitar"), (32, "acoustic bass")],
    "mallets": [(11, "vibraphone"), (12, "marimba"), (12, "marimba"), (32, "acoustic bass")],
    "electric band": [(81, "synth lead"), (4, "electric piano"), (4, "electric piano"), (33, "electric bass")],
    "mixed winds and strings": [(73, "flute"), (71, "clarinet"), (41, "viola"), (42, "cello")],
}

_KEYS_MAJOR = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_KEYS_MINOR = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]

# (upper BPM bound, word), quarter-note tempo.
_TEMPO_WORDS = [(60, "largo"), (76, "adagio"), (108, "andante"), (120, "moderato"), (156, "allegro"), (1e9, "presto")]
_PACE = [(76, "slow"), (120, "medium tempo"), (1e9, "fast")]


@dataclass
class Orchestration:
    ensemble: str
    programs: list[int]        # one per voice, top voice first
    names: list[str]


def orchestrate(ensemble: str, voices: int) -> Orchestration:
    """Instruments for `voices` voices: voice k takes the ensemble member at the same relative height."""
    members = ENSEMBLES[ensemble]
    picks = [members[0]] if voices == 1 else [
        members[round(k * (len(members) - 1) / (voices - 1))] for k in range(voices)]
    return Orchestration(ensemble, [p for p, _ in picks], [n for _, n in picks])


def key_name(tonic_pc: int, mode: str) -> str:
    names = _KEYS_MINOR if mode == "minor" else _KEYS_MAJOR
    return f"{names[tonic_pc % 12]} {mode}"


def _word(bpm: float, table: list[tuple[float, str]]) -> str:
    return next(word for bound, word in table if bpm < bound)


def tempo_word(bpm: float) -> str:
    return _word(bpm, _TEMPO_WORDS)


def _listing(names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


def caption(style: str, orch: Orchestration, tonic_pc: int, mode: str, bpm: float, rng: random.Random) -> str:
    """One of a few phrasings, so a model does not learn a single template; all carry the same facts."""
    key = key_name(tonic_pc, mode)
    inst = _listing(orch.names)
    words = f"{tempo_word(bpm)}, {_word(bpm, _PACE)}"
    bpm_s = f"{round(bpm)} BPM"
    forms = [
        f"{style} for {orch.ensemble} ({inst}) in {key}, {words}, {bpm_s}",
        f"{inst} playing a {style} in {key}; {words} at {bpm_s}",
        f"{words.capitalize()} {style} in {key} ({mode} key), {orch.ensemble}: {inst}, {bpm_s}",
    ]
    return rng.choice(forms)


_ROLE_WORDS = {"chords": "{} chords", "pad": "{} pad", "arp": "{} arpeggios", "lead": "{} melody"}


def part_words(role: str, instrument: str) -> str:
    """How a generated work's caption names one track: the instrument plus what it plays ("flute melody")."""
    form = _ROLE_WORDS.get(role, "{}")
    return instrument if role == "pad" and "pad" in instrument else form.format(instrument)


def generated_caption(phrase: str, parts: list[str], tonic_pc: int, mode: str, bpm: float, moods: list[str],
                      rng: random.Random) -> str:
    """A generated work's caption: what it is, tempo, key, the instruments (drums named only when they play), moods,
    e.g. "driving techno beat at 128 BPM in A minor with 808 drums, acid synth bass, sweep pad and saw synth
    arpeggios, dark, hypnotic" (parts in generator.ROLES order)."""
    key = key_name(tonic_pc, mode)
    inst = _listing(parts)
    mood = ", ".join(moods)
    bpm_s = f"{round(bpm)} BPM"
    forms = [
        f"{phrase} at {bpm_s} in {key} with {inst}, {mood}",
        f"{mood} {phrase} in {key}, {bpm_s}: {inst}",
        f"{inst} in a {mood} {phrase}, {key}, {bpm_s}",
    ]
    return rng.choice(forms)
