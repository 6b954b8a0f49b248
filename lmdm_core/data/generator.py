"""Generated works: the material producers and sound designers play with, as General-MIDI files (pure Python + mido).

One seed makes one work: a style (four-on-the-floor house and techno, boom-bap hip-hop, breakbeat, rock, bossa,
half-time, ambient without drums), a tempo, a key, instruments per role (drums on the GM kit, channel 10 = mido 9;
bass, chords, pad, arpeggio, lead) and a form of sections (intro / build / drop / breakdown / verse / chorus / outro)
in which roles enter and leave, with drum fills at section ends and crashes on downbeats. The output is what the
corpus export writes (cleaned MIDI + a works.jsonl record), so renders, stems (one per track), curves, captions and the
manifest run unchanged. The MIDI is the ground truth of the caption: tempo meta = BPM, drums named iff channel 9 has
notes, the key is the progression's tonic (the tonic triad gets the most sounding time), instruments = the programs.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import mido

from lmdm_core.data import midi as midifix

TPB = 480
STEP = TPB // 4                 # a sixteenth note
BAR = 16                        # steps per 4/4 bar
DRUMS = "drums"
ROLES = ("drums", "bass", "chords", "pad", "arp", "lead")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

# GM drum notes.
KICK, STICK, SNARE, CLAP, HAT, PEDAL, OPEN, CRASH, RIDE = 36, 37, 38, 39, 42, 44, 46, 49, 51
TOM_LO, TOM_MID, TOM_HI, SHAKER, CONGA_HI, CONGA_LO, CLAVES, COWBELL, TAMB = 45, 47, 50, 70, 62, 64, 75, 56, 54

Instrument = tuple[int, str]    # (GM program, caption words); for the drum role the program is the bank-128 kit


@dataclass(frozen=True)
class Style:
    name: str                   # the style word(s) of captions
    phrase: tuple[str, ...]     # "driving techno beat", ...: what the caption calls the piece
    bpm: tuple[int, int]
    groove: str | None          # drum pattern family (None: no drums)
    form: str                   # "club" | "song" | "ambient": how sections follow each other
    instruments: dict[str, tuple[Instrument, ...]]
    moods: tuple[str, ...]
    minor: float = 0.5          # share of minor keys
    swing: float = 0.0          # delay of off-beat sixteenths, in steps


_KITS_ELECTRONIC = ((25, "808 drums"), (24, "electronic drums"))
_KITS_ACOUSTIC = ((0, "acoustic drums"), (8, "room drums"))

STYLES: dict[str, Style] = {s.name: s for s in (
    Style("house", ("house track", "deep house groove", "four on the floor house beat"), (118, 128), "four", "club", {
        "drums": _KITS_ELECTRONIC + ((0, "acoustic drums"),),
        "bass": ((38, "synth bass"), (33, "electric bass"), (39, "synth bass")),
        "chords": ((4, "electric piano"), (0, "piano"), (16, "organ")),
        "pad": ((89, "warm synth pad"), (50, "synth strings")),
        "arp": ((81, "saw synth"), (80, "square synth")),
        "lead": ((81, "saw synth"), (85, "synth voice"), (73, "flute"))},
        ("groovy", "warm", "uplifting", "soulful", "smooth"), minor=0.5, swing=0.3),
    Style("techno", ("driving techno beat", "techno track", "hypnotic techno groove"), (124, 140), "four", "club", {
        "drums": _KITS_ELECTRONIC,
        "bass": ((38, "acid synth bass"), (39, "synth bass"), (87, "bass and lead synth")),
        "chords": ((90, "polysynth"), (62, "synth brass")),
        "pad": ((95, "sweep pad"), (89, "warm synth pad"), (94, "halo pad")),
        "arp": ((81, "saw synth"), (80, "square synth"), (87, "bass and lead synth")),
        "lead": ((81, "saw synth"), (84, "charang synth"))},
        ("dark", "hypnotic", "driving", "relentless", "minimal"), minor=0.85),
    Style("hip hop", ("boom bap hip hop beat", "hip hop instrumental", "laid back boom bap groove"), (80, 98),
          "boombap", "song", {
        "drums": ((0, "acoustic drums"), (25, "808 drums"), (8, "room drums")),
        "bass": ((33, "electric bass"), (32, "upright bass"), (38, "synth bass")),
        "chords": ((0, "piano"), (4, "electric piano"), (11, "vibraphone")),
        "pad": ((48, "strings"), (52, "choir")),
        "arp": ((11, "vibraphone"), (46, "harp")),
        "lead": ((73, "flute"), (65, "alto sax"), (56, "trumpet"))},
        ("laid back", "mellow", "dusty", "nostalgic", "gritty"), minor=0.7, swing=0.5),
    Style("breakbeat", ("breakbeat track", "breakbeat groove", "drum and bass roller"), (128, 176), "breakbeat",
          "club", {
        "drums": ((0, "acoustic drums"), (8, "room drums"), (24, "electronic drums")),
        "bass": ((38, "synth bass"), (39, "synth bass"), (35, "fretless bass")),
        "chords": ((4, "electric piano"), (90, "polysynth")),
        "pad": ((89, "warm synth pad"), (50, "synth strings"), (91, "space voice")),
        "arp": ((80, "square synth"), (8, "celesta")),
        "lead": ((81, "saw synth"), (80, "square synth"))},
        ("energetic", "rolling", "urgent", "breakneck", "atmospheric"), minor=0.75),
    Style("rock", ("rock song", "driving rock groove", "guitar rock tune"), (100, 160), "rock", "song", {
        "drums": ((16, "rock drums"), (0, "acoustic drums"), (8, "room drums")),
        "bass": ((34, "picked bass"), (33, "electric bass")),
        "chords": ((29, "overdriven guitar"), (30, "distorted guitar"), (27, "clean electric guitar")),
        "pad": ((18, "rock organ"), (16, "organ")),
        "arp": ((27, "clean electric guitar"), (25, "acoustic guitar")),
        "lead": ((30, "distorted guitar"), (29, "overdriven guitar"))},
        ("energetic", "raw", "loud", "anthemic", "gritty"), minor=0.4),
    Style("bossa nova", ("bossa nova", "latin bossa groove", "gentle bossa nova tune"), (110, 144), "bossa", "song", {
        "drums": ((40, "brush drums"), (0, "acoustic drums"), (32, "jazz drums")),
        "bass": ((32, "upright bass"), (33, "electric bass")),
        "chords": ((24, "nylon guitar"), (4, "electric piano"), (0, "piano")),
        "pad": ((48, "strings"), (52, "choir")),
        "arp": ((24, "nylon guitar"), (11, "vibraphone")),
        "lead": ((73, "flute"), (66, "tenor sax"), (71, "clarinet"))},
        ("relaxed", "sunny", "gentle", "breezy", "romantic"), minor=0.4),
    Style("half time", ("half time beat", "heavy half time groove", "half time bass music track"), (130, 150), "half",
          "club", {
        "drums": _KITS_ELECTRONIC,
        "bass": ((39, "synth bass"), (38, "sub bass"), (87, "bass and lead synth")),
        "chords": ((90, "polysynth"), (62, "synth brass")),
        "pad": ((94, "halo pad"), (89, "warm synth pad"), (91, "space voice")),
        "arp": ((8, "celesta"), (80, "square synth"), (10, "music box")),
        "lead": ((81, "saw synth"), (84, "charang synth"))},
        ("heavy", "dark", "spacious", "brooding", "menacing"), minor=0.85),
    Style("ambient", ("ambient soundscape", "ambient piece", "slow ambient drift"), (60, 90), None, "ambient", {
        "bass": ((39, "soft synth bass"), (32, "upright bass")),
        "chords": ((46, "harp"), (4, "electric piano"), (0, "piano")),
        "pad": ((89, "warm synth pad"), (94, "halo pad"), (91, "space voice"), (48, "strings"), (95, "sweep pad")),
        "arp": ((8, "celesta"), (11, "vibraphone"), (46, "harp"), (10, "music box")),
        "lead": ((73, "flute"), (79, "ocarina"), (85, "synth voice"))},
        ("calm", "dreamy", "floating", "peaceful", "ethereal"), minor=0.5),
)}

# Progressions as scale degrees, one chord per bar; each holds the tonic at least twice in four bars and major ones
# avoid vi (two notes of the tonic triad: it would make the relative minor as likely), so the tonic triad sounds
# longest (the key the caption claims is the one the notes carry). Intros, builds and outros hold the tonic chord (a
# pedal under the build's rising tension), and every piece ends on it.
PROGRESSIONS = {
    "minor": ((0, 5, 0, 6), (0, 3, 0, 4), (0, 0, 5, 6), (0, 6, 5, 0), (0, 3, 6, 0), (0, 0, 3, 4)),
    "major": ((0, 4, 0, 3), (0, 3, 0, 4), (0, 0, 3, 4), (0, 3, 4, 0), (0, 4, 3, 0), (0, 1, 4, 0)),
}

# Sections: (name, bars, roles playing). "fill" roles: the drums play a fill in the section's last bar.
FORMS = {
    "club": (("intro", 8, {"drums", "bass"}), ("build", 8, {"drums", "bass", "arp", "pad"}),
             ("drop", 16, set(ROLES)), ("breakdown", 8, {"pad", "lead", "arp"}),
             ("build", 8, {"drums", "arp", "pad", "chords"}), ("drop", 16, set(ROLES)),
             ("outro", 8, {"drums", "bass"})),
    "song": (("intro", 4, {"chords", "drums"}), ("verse", 8, {"drums", "bass", "chords"}),
             ("chorus", 8, {"drums", "bass", "chords", "lead", "pad"}),
             ("verse", 8, {"drums", "bass", "chords", "arp"}),
             ("chorus", 8, set(ROLES)), ("bridge", 4, {"chords", "pad", "lead"}),
             ("chorus", 8, set(ROLES)), ("outro", 4, {"drums", "bass", "chords"})),
    "ambient": (("intro", 4, {"pad"}), ("rise", 8, {"pad", "arp", "bass"}),
                ("bloom", 8, {"pad", "arp", "lead", "bass"}),
                ("drift", 8, {"pad", "chords", "bass"}), ("bloom", 8, {"pad", "arp", "lead", "bass", "chords"}),
                ("outro", 4, {"pad", "chords"})),
}

TONIC_SECTIONS = ("intro", "build", "outro")
LEVELS = {"drums": 96, "bass": 88, "chords": 104, "pad": 112, "arp": 124, "lead": 100}   # CC7 per role
# CC7 for programs far from their role's level in MuseScore General Lite (synth basses quiet, polysynth loud), so
# most parts are heard: within about 10 dB of the mix while they play (seeds 0-7 with the v2 subset; a few at -16).
PROGRAM_LEVELS = {38: 127, 39: 127, 87: 120, 90: 76, 62: 127}
PANS = {"drums": 64, "bass": 64, "chords": 48, "pad": 64, "arp": 84, "lead": 70}         # CC10 per role


@dataclass
class Generated:
    seed: int
    style: str
    phrase: str
    bpm: int
    tonic_pc: int
    mode: str
    moods: list[str]
    roles: list[str]                        # track order in the file (after the meta track)
    instruments: dict[str, Instrument]      # role -> (program or kit, words)
    sections: list[tuple[str, int]]         # (name, bars)
    midi: mido.MidiFile = field(repr=False, default=None)

    @property
    def drums(self) -> bool:
        return DRUMS in self.roles

    @property
    def seconds(self) -> float:
        return sum(b for _, b in self.sections) * 240.0 / self.bpm


class _Notes:
    """Notes of one track in steps (sixteenths): (start, length, pitch, velocity)."""

    def __init__(self) -> None:
        self.items: list[tuple[float, float, int, int]] = []

    def add(self, start: float, length: float, pitch: int, velocity: int) -> None:
        if 0 <= pitch <= 127 and length > 0:
            self.items.append((start, length, pitch, max(1, min(127, velocity))))


def _chord(tonic: int, scale: tuple[int, ...], degree: int, size: int = 3) -> list[int]:
    """Pitch classes (relative to C) of the diatonic chord on `degree`: root, third, fifth (, seventh)."""
    return [(tonic + scale[(degree + 2 * k) % 7]) % 12 for k in range(size)]


def _near(pc: int, low: int) -> int:
    """The lowest MIDI note of pitch class pc at or above `low`."""
    return low + (pc - low) % 12


def _form(style: Style, rng: random.Random, bars_wanted: int) -> list[tuple[str, int, set[str]]]:
    """Sections from the style's form: the middle repeats until the piece is long enough (the last one shortened to
    fit, at least 4 bars), the outro closes it."""
    template = list(FORMS[style.form])
    intro, middle, outro = template[0], template[1:-1], template[-1]
    sections = [intro]
    k = 0
    while (room := bars_wanted - sum(s[1] for s in sections) - outro[1]) >= 4:
        name, bars, roles = middle[k % len(middle)]
        bars = min(bars, room - room % 4)
        roles = set(roles)
        if rng.random() < 0.25 and len(roles) > 2:          # an instrument sits out now and then
            roles.discard(rng.choice(sorted(roles - {"drums", "pad"}) or sorted(roles)))
        sections.append((name, bars, roles))
        k += 1
    sections.append(outro)
    return sections


def _drum_bar(groove: str, rng: random.Random, variant: int) -> list[tuple[float, int, int]]:
    """One bar of a groove: (step, drum note, velocity)."""
    hits: list[tuple[float, int, int]] = []
    if groove == "four":
        hits += [(s, KICK, 118) for s in (0, 4, 8, 12)]
        hits += [(s, CLAP if variant % 2 else SNARE, 100) for s in (4, 12)]
        hits += [(s, OPEN, 85) for s in (2, 6, 10, 14)]
        hits += [(s, HAT, 70 if s % 2 else 90) for s in range(0, 16, 2 if variant % 3 == 0 else 1) if s % 4 != 2]
    elif groove == "boombap":
        hits += [(s, KICK, 115) for s in ((0, 7, 10) if variant % 2 else (0, 3, 10))]
        hits += [(s, SNARE, 110) for s in (4, 12)]
        hits += [(s, HAT, 95 if s % 4 == 0 else 70) for s in range(0, 16, 2)]
        if variant % 4 == 3:
            hits.append((15, KICK, 90))
    elif groove == "breakbeat":
        hits += [(s, KICK, 115) for s in (0, 2, 10, 11)]
        hits += [(s, SNARE, 110 if s in (4, 12) else 75) for s in (4, 7, 9, 12, 15)]
        hits += [(s, RIDE if variant % 2 else HAT, 80) for s in range(0, 16, 2)]
    elif groove == "rock":
        hits += [(s, KICK, 118) for s in ((0, 8, 10) if variant % 2 else (0, 6, 8))]
        hits += [(s, SNARE, 112) for s in (4, 12)]
        hits += [(s, HAT, 95 if s % 4 == 0 else 75) for s in range(0, 16, 2)]
    elif groove == "bossa":
        hits += [(s, KICK, 95) for s in (0, 3, 4, 7, 8, 11, 12, 15)]
        hits += [(s, STICK, 90) for s in ((0, 3, 6, 10, 13) if variant % 2 == 0 else (2, 4, 7, 10, 12))]
        hits += [(s, SHAKER, 80 if s % 2 == 0 else 60) for s in range(16)]
        if variant % 4 == 1:
            hits += [(s, CONGA_HI, 80) for s in (6, 14)]
    elif groove == "half":
        hits += [(s, KICK, 120) for s in ((0, 10) if variant % 2 else (0, 3, 11))]
        hits.append((8, SNARE, 118))
        hits += [(s, HAT, 85 if s % 4 == 0 else 65) for s in range(0, 16, 2)]
        if variant % 4 == 2:
            hits += [(13 + k / 3, HAT, 60) for k in range(3)]       # a triplet hat roll
    return hits


def _drum_fill(rng: random.Random, intense: bool) -> list[tuple[float, int, int]]:
    """The last bar's second half: snare sixteenths (a roll before a drop) or a run down the toms."""
    if intense:
        return [(8 + k, SNARE, 70 + 6 * k) for k in range(8)]
    toms = [TOM_HI, TOM_HI, TOM_MID, TOM_MID, TOM_LO, TOM_LO, SNARE, SNARE]
    start = rng.choice((8, 12))
    return [(start + k, toms[k * 8 // (16 - start)], 100) for k in range(16 - start)]


def _drums(notes: _Notes, style: Style, sections, rng: random.Random) -> None:
    bar0 = 0
    for si, (name, bars, roles) in enumerate(sections):
        nxt = sections[si + 1][0] if si + 1 < len(sections) else ""
        for b in range(bars):
            if "drums" not in roles:
                continue
            t0 = (bar0 + b) * BAR
            hits = _drum_bar(style.groove, rng, b)
            if name in ("intro", "outro") and style.form == "club":
                hits = [h for h in hits if h[1] in (KICK, HAT, OPEN, SHAKER)]   # a thinner beat enters first
            if b == bars - 1 and nxt:
                hits = [h for h in hits if h[0] < 8] + _drum_fill(rng, name == "build")
            if b == 0 and si > 0:
                hits.append((0, CRASH, 105))
            for step, note, vel in hits:
                swung = step + (style.swing if step % 2 == 1 else 0)
                notes.add(t0 + swung, 0.25, note, vel + rng.randint(-6, 6))   # one-shots: short, never overlapping
        bar0 += bars


def _bass(notes: _Notes, style: Style, sections, chords, rng: random.Random) -> None:
    pattern = {
        "four": ((2, 1.5), (6, 1.5), (10, 1.5), (14, 1.5)),           # off-beat bass
        "boombap": ((0, 3), (7, 1), (10, 4)),
        "breakbeat": ((0, 6), (10, 2), (12, 4)),
        "rock": tuple((s, 1.8) for s in range(0, 16, 2)),
        "bossa": ((0, 3), (3, 1), (4, 3), (8, 3), (11, 1), (12, 3)),
        "half": ((0, 10), (10, 6)),
        None: ((0, 16),),
    }[style.groove]
    rolling = style.name == "techno" and rng.random() < 0.6
    for bar, (pcs, roles) in enumerate(chords):
        if "bass" not in roles:
            continue
        root = _near(pcs[0], 33)
        fifth = _near(pcs[2], root)
        steps = tuple((s, 0.9) for s in range(16) if s % 4) if rolling else pattern
        for k, (s, length) in enumerate(steps):
            pitch = fifth if style.groove == "bossa" and k in (2, 5) else root
            if rolling and s % 4 == 3:
                pitch = root + 12
            notes.add(bar * BAR + s, length, pitch, 100 if s % 4 == 0 else 88)


def _pad(notes: _Notes, chords, rng: random.Random) -> None:
    for bar, (pcs, roles) in enumerate(chords):
        if "pad" in roles:
            for k, pc in enumerate(pcs):
                notes.add(bar * BAR, BAR, _near(pc, 52 + 4 * k), 70)


def _comp(notes: _Notes, style: Style, chords, rng: random.Random) -> None:
    """Chords: stabs on the off-beat (club), strummed bars (rock), syncopated bossa comping, held (ambient)."""
    rhythm = {
        "club": ((2, 1.5), (6, 1.5), (10, 1.5), (14, 1.5)) if rng.random() < 0.5 else ((0, 3), (3, 3), (6, 2)),
        "song": ((0, 3), (3, 3), (6, 2), (8, 3), (11, 3), (14, 2)) if style.groove in ("rock", "bossa")
        else ((0, 6), (6, 2), (8, 8)),
        "ambient": ((0, 16),),
    }[style.form]
    for bar, (pcs, roles) in enumerate(chords):
        if "chords" not in roles:
            continue
        voicing = sorted(_near(pc, 55) for pc in pcs)
        for s, length in rhythm:
            for p in voicing:
                notes.add(bar * BAR + s, length, p, 85 if s % 4 == 0 else 75)


def _arp(notes: _Notes, style: Style, chords, rng: random.Random) -> None:
    rate = 2 if style.bpm[1] > 150 or style.form == "ambient" else 1
    shape = rng.choice(("up", "updown", "random"))
    for bar, (pcs, roles) in enumerate(chords):
        if "arp" not in roles:
            continue
        tones = sorted(_near(pc, 64) for pc in pcs) + [_near(pcs[0], 64) + 12]
        seq = tones if shape == "up" else tones + tones[-2:0:-1] if shape == "updown" else tones
        for k, s in enumerate(range(0, 16, rate)):
            pitch = seq[k % len(seq)] if shape != "random" else rng.choice(tones)
            notes.add(bar * BAR + s, rate * 0.8, pitch, 78 if k % 4 == 0 else 64)


def _lead(notes: _Notes, style: Style, chords, tonic: int, scale, rng: random.Random) -> None:
    """A two-bar motif on chord and scale tones, repeated with small changes; it ends phrases on the tonic."""
    rate = 4 if style.form == "ambient" else 2
    motif = [(s, rng.choice((0, 0, 1, 2, 2, 4))) for s in range(0, 2 * BAR, rate) if rng.random() < 0.7]
    for bar, (pcs, roles) in enumerate(chords):
        if "lead" not in roles:
            continue
        half = bar % 2
        for s, degree_step in motif:
            if s // BAR != half:
                continue
            if rng.random() < 0.15:
                continue
            pc = pcs[degree_step % 3] if degree_step < 3 else (tonic + scale[rng.randrange(7)]) % 12
            if bar % 4 == 3 and s % BAR >= 8:
                pc = tonic
            notes.add(bar * BAR + s % BAR, rate * 0.9, _near(pc, 67), 96)


def _track(name: str, channel: int, program: int, role: str, notes: _Notes, end_tick: int) -> mido.MidiTrack:
    """The track as midi.fix would write it (so fix leaves it byte for byte; the test checks): program, level and pan
    at tick 0, notes ordered by start, at one tick offs before ons, CC123 at the piece's end. Each message is built
    once with its delta time (mido checks every constructor call; this is most of the generator's time)."""
    timed: list[tuple[int, int, str, int, int]] = []
    for start, length, pitch, vel in sorted(notes.items, key=lambda n: (round(n[0] * STEP), n[2])):
        on = round(start * STEP)
        timed.append((on, 2, "note_on", pitch, vel))
        timed.append((max(on + 1, round((start + length) * STEP) - 1), 0, "note_off", pitch, 0))
    timed.sort(key=lambda e: (e[0], e[1]))
    tr = mido.MidiTrack()
    tr.name = name
    tr.append(mido.Message("program_change", channel=channel, program=program, time=0))
    level = LEVELS[role] if role == DRUMS else PROGRAM_LEVELS.get(program, LEVELS[role])
    tr.append(mido.Message("control_change", channel=channel, control=7, value=level, time=0))
    tr.append(mido.Message("control_change", channel=channel, control=10, value=PANS[role], time=0))
    last = 0
    for tick, _, kind, pitch, vel in timed:
        tr.append(mido.Message(kind, channel=channel, note=pitch, velocity=vel, time=tick - last))
        last = tick
    tr.append(mido.Message("control_change", channel=channel, control=midifix.ALL_NOTES_OFF, value=0,
                           time=end_tick - last))
    tr.append(mido.MetaMessage("end_of_track", time=0))
    return tr


def _key_signature(tonic: int, mode: str) -> str:
    names = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"] if mode == "major" else \
        ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
    return names[tonic] + ("m" if mode == "minor" else "")


def generate(seed: int, style: str | None = None, seconds: tuple[float, float] = (60.0, 150.0)) -> Generated:
    """The work of `seed` (the same seed gives the same bytes); `style` forces one of STYLES."""
    rng = random.Random(f"lmdm-generate:{seed}")
    st = STYLES[style if style is not None else sorted(STYLES)[seed % len(STYLES)]]   # styles in equal shares
    bpm = rng.randint(*st.bpm)
    mode = "minor" if rng.random() < st.minor else "major"
    tonic = rng.randrange(12)
    scale = MINOR if mode == "minor" else MAJOR
    target = rng.uniform(*seconds)
    sections = _form(st, rng, max(16, int(target * bpm / 240.0)))
    kept = [r for r in ROLES if r in st.instruments and any(r in roles for _, _, roles in sections)]
    chosen = {r: rng.choice(st.instruments[r]) for r in kept}
    progression = rng.choice(PROGRESSIONS[mode])
    chords = []
    for name, bars, roles in sections:
        for b in range(bars):
            degree = 0 if name in TONIC_SECTIONS else progression[len(chords) % 4]
            chords.append((_chord(tonic, scale, degree), roles))
    chords[-1] = (_chord(tonic, scale, 0), chords[-1][1])      # the last bar rests on the tonic
    parts = {r: _Notes() for r in kept}
    if "drums" in parts:
        _drums(parts["drums"], st, sections, rng)
    if "bass" in parts:
        _bass(parts["bass"], st, sections, chords, rng)
    if "pad" in parts:
        _pad(parts["pad"], chords, rng)
    if "chords" in parts:
        _comp(parts["chords"], st, chords, rng)
    if "arp" in parts:
        _arp(parts["arp"], st, chords, rng)
    if "lead" in parts:
        _lead(parts["lead"], st, chords, tonic, scale, rng)
    roles = [r for r in kept if parts[r].items]
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    meta = mido.MidiTrack([mido.MetaMessage("track_name", name=f"{st.name} {seed}", time=0),
                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
                           mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
                           mido.MetaMessage("key_signature", key=_key_signature(tonic, mode), time=0)])
    mid.tracks.append(meta)
    meta.append(mido.MetaMessage("end_of_track", time=0))
    end_tick = max(round((s + n) * STEP) - 1 for r in roles for s, n, _, _ in parts[r].items)
    channels = iter(midifix.VOICE_CHANNELS)
    for r in roles:
        ch = midifix.DRUM_CHANNEL if r == DRUMS else next(channels)
        mid.tracks.append(_track(r, ch, chosen[r][0], r, parts[r], end_tick))
    moods = rng.sample(st.moods, 2)
    return Generated(seed, st.name, rng.choice(st.phrase), bpm, tonic, mode, moods, roles,
                     {r: chosen[r] for r in roles}, [(n, b) for n, b, _ in sections], mid)


def programs() -> set[tuple[int, int]]:
    """(bank, program) of every preset the generator can ask for: the presets a SoundFont subset must keep."""
    out = set()
    for st in STYLES.values():
        for role, options in st.instruments.items():
            out |= {(128 if role == DRUMS else 0, p) for p, _ in options}
    return out


def slug(seed: int, style: str) -> str:
    return f"gen-{seed:05d}-{style.replace(' ', '-')}"


def export(seed: int, out_dir, heldout: float):
    """Write the work of `seed` as <slug>.mid into out_dir; returns its works.jsonl record (corpus.WorkInfo)."""
    from pathlib import Path

    from lmdm_core.data.corpus import WorkInfo, split_of

    g = generate(seed)
    info = WorkInfo(id=f"generated/{seed:05d}", slug=slug(seed, g.style), collection="generated", split="",
                    title=f"{g.phrase} {seed}", style=g.style, tonic_pc=g.tonic_pc, mode=g.mode, bpm=float(g.bpm),
                    seconds=round(g.midi.length, 3), source="generated", seed=seed,
                    roles={r: g.instruments[r][1] for r in g.roles}, phrase=g.phrase, moods=g.moods, drums=g.drums)
    info.split = split_of(info.split_key, heldout)
    voices = midifix.voice_tracks(g.midi)
    info.parts = [g.midi.tracks[t].name for t in voices]
    g.midi.save(str(Path(out_dir) / f"{info.slug}.mid"))
    return info
