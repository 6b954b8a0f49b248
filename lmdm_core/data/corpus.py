"""Works from the music21 corpus (shipped inside the music21 wheel, offline): selection, split by work, export to MIDI.

Export is the only step that needs music21. It writes `<slug>.mid` (already cleaned by midi.fix, at a sensible base
tempo) and one line per work in `works.jsonl` (key, mode, parts, tempo, duration, split), so rendering can run where
music21 is absent by carrying that small folder.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmdm_core.data import midi as midifix

WORKS_FILE = "works.jsonl"
MAX_QUARTERS = 600.0   # longer scores keep their first measures (music21's MIDI writer is slow on long movements)
HELDOUT = "heldout"
TRAIN = "train"


@dataclass(frozen=True)
class Collection:
    """A group of corpus folders that share a style word for captions and a default tempo."""

    dirs: tuple[str, ...]
    exts: tuple[str, ...]
    style: str                 # words for captions: "Bach chorale", "fiddle tune", ...
    default_bpm: float         # used when the score carries no metronome mark (music21 would write 120)
    limit: int | None = None   # default cap on works taken (a stable hash-ordered sample)


COLLECTIONS: dict[str, Collection] = {
    "bach": Collection(("bach",), (".mxl", ".xml", ".krn"), "Bach chorale", 80),
    "palestrina": Collection(("palestrina",), (".krn",), "Renaissance sacred polyphony", 96, 150),
    "monteverdi": Collection(("monteverdi",), (".mxl",), "Italian madrigal", 88),
    "trecento": Collection(("trecento",), (".xml", ".mxl"), "medieval trecento song", 100, 60),
    "quartets": Collection(("haydn", "mozart", "beethoven", "schumann_robert"), (".mxl", ".xml", ".krn"),
                           "classical string quartet movement", 112),
    "fiddle": Collection(("ryansMammoth",), (".abc",), "fiddle tune", 112, 80),
    "misc": Collection(("joplin", "corelli", "handel", "schubert", "verdi", "weber", "chopin", "cpebach", "luca",
                        "beach", "schumann_clara", "lusitano", "johnson_j_r", "liliuokalani", "ciconia"),
                       (".mxl", ".xml", ".krn", ".musicxml"), "concert piece", 100),
}


@dataclass
class Work:
    id: str                    # path inside the music21 corpus, e.g. "bach/bwv66.6.mxl"
    collection: str
    split: str = TRAIN

    @property
    def key(self) -> str:
        """The piece without its file format: some works are in the corpus twice (.krn and .mxl)."""
        return self.id.rsplit(".", 1)[0]

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", self.key).strip("-")


@dataclass
class WorkInfo:
    """One line of works.jsonl (a corpus work, or a generated one: source "generated", its seed and roles)."""

    id: str
    slug: str
    collection: str
    split: str
    status: str = "ok"                      # "ok" | "failed"
    error: str = ""
    title: str = ""
    composer: str = ""
    style: str = ""
    tonic_pc: int = 0                       # pitch class of the tonic, C = 0
    mode: str = "major"
    bpm: float = 120.0
    seconds: float = 0.0
    parts: list[str] = field(default_factory=list)   # part names, top voice first
    cropped: bool = False                   # only the first MAX_QUARTERS quarter notes were exported
    source: str = "corpus"                  # "corpus" | "generated"
    seed: int | None = None                 # generator seed (generated works): their split hashes it
    roles: dict[str, str] = field(default_factory=dict)    # generated: track name (role) -> instrument words
    phrase: str = ""                        # generated: what the caption calls the piece ("driving techno beat")
    moods: list[str] = field(default_factory=list)
    drums: bool = False                     # notes on the GM drum channel

    @property
    def split_key(self) -> str:
        """What the split hashes: the corpus piece without its file format, or the generator seed."""
        return f"generated:{self.seed}" if self.source == "generated" else self.id.rsplit(".", 1)[0]


def _unit_hash(text: str) -> float:
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big") / 2**64


def split_of(key: str, heldout: float) -> str:
    """The side of one work, from its key alone: the same on every rebuild, whatever else is selected, in whatever
    order or number of workers. (An older rule also forced one held-out work into an all-train selection, which made
    a work's side depend on the selection; it is gone.)"""
    if not 0.0 <= heldout < 1.0:
        raise ValueError(f"held-out fraction must be in [0, 1), got {heldout}")
    return HELDOUT if _unit_hash(key) < heldout else TRAIN


def assign_splits(works: list[Work], heldout: float) -> list[Work]:
    """Each work's side by a stable hash of its key (split_of)."""
    for w in works:
        w.split = split_of(w.key, heldout)
    return works


def select_works(names: list[str] | None = None, limit: int | None = None, heldout: float = 0.1) -> list[Work]:
    """Works of the named collections (all by default); per collection a hash-ordered sample of at most `limit`
    (or the collection's own cap). Split assigned by work."""
    from music21 import corpus

    names = list(COLLECTIONS) if names is None else names
    unknown = sorted(set(names) - set(COLLECTIONS))
    if unknown:
        raise ValueError(f"unknown collections {unknown}; choose from {sorted(COLLECTIONS)}")
    rel = [str(p).split("/corpus/", 1)[1] for p in corpus.getPaths()]
    works: list[Work] = []
    for name in names:
        col = COLLECTIONS[name]
        ids = [r for r in rel if r.split("/", 1)[0] in col.dirs and r.endswith(col.exts) and "Analyses" not in r]
        by_piece: dict[str, Work] = {}
        for i in sorted(ids, key=lambda r: col.exts.index("." + r.rsplit(".", 1)[1])):   # one format per piece
            by_piece.setdefault(Work(i, name).key, Work(i, name))
        pieces = sorted(by_piece.values(), key=lambda w: _unit_hash("sample:" + w.key))  # not the split's hash
        cap = limit if limit is not None else col.limit
        works += pieces[:cap]
    return assign_splits(works, heldout)


def _key_of(score) -> tuple[int, str]:
    key = score.analyze("key")
    mode = key.mode if key.mode in ("major", "minor") else "major"
    return key.tonic.pitchClass, mode


def _has_tempo(score) -> bool:
    from music21 import tempo

    return any(True for _ in score.recurse().getElementsByClass(tempo.MetronomeMark))


def _crop(score, max_quarters: float):
    """The first measures of a long score, up to max_quarters quarter notes; returns (score, cropped)."""
    from music21 import stream

    if score.highestTime <= max_quarters:
        return score, False
    numbers = [m.number for m in score.parts[0].getElementsByClass(stream.Measure) if m.offset < max_quarters]
    return score.measures(numbers[0], numbers[-1]), True


def _strip_repeats(score) -> None:
    """Drop repeat barlines and jumps (for scores whose repeats music21 cannot expand): played once, straight."""
    from music21 import bar, repeat, stream

    for m in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(m.leftBarline, bar.Repeat):
            m.leftBarline = None
        if isinstance(m.rightBarline, bar.Repeat):
            m.rightBarline = None
    for expr in list(score.recurse().getElementsByClass(repeat.RepeatExpression)):
        expr.activeSite.remove(expr)


def _to_midi(score) -> bytes:
    from music21.midi import translate
    from music21.repeat import ExpanderException

    try:
        return translate.streamToMidiFile(score).writestr()
    except ExpanderException:
        _strip_repeats(score)
        return translate.streamToMidiFile(score).writestr()


def export_work(work: Work, out_dir: Path) -> WorkInfo:
    """Parse one work, write its cleaned MIDI, return its record (status "failed" with the reason on any error)."""
    from music21 import corpus, stream

    col = COLLECTIONS[work.collection]
    info = WorkInfo(id=work.id, slug=work.slug, collection=work.collection, split=work.split, style=col.style)
    try:
        score = corpus.parse(work.id)
        if isinstance(score, stream.Opus):
            score = score.scores[0]
        if not 1 <= len(score.parts) <= len(midifix.VOICE_CHANNELS):
            raise ValueError(f"{len(score.parts)} parts")
        score, info.cropped = _crop(score, MAX_QUARTERS)
        mid = midifix.fix(midifix.load(_to_midi(score)))
        if not _has_tempo(score):
            midifix.set_bpm(mid, col.default_bpm)
        info.tonic_pc, info.mode = _key_of(score)
        info.title = (score.metadata.title if score.metadata and score.metadata.title else "") or work.slug
        info.composer = (score.metadata.composer if score.metadata and score.metadata.composer else "") or ""
        info.bpm = round(midifix.first_bpm(mid), 2)
        info.seconds = round(mid.length, 3)
        info.parts = [mid.tracks[i].name or f"voice {k + 1}" for k, i in enumerate(midifix.voice_tracks(mid))]
        if info.seconds < 2.0:
            raise ValueError(f"only {info.seconds:.1f} s long")
        mid.save(str(out_dir / f"{work.slug}.mid"))
    except Exception as err:  # music21 raises many types on odd files; record and move on
        info.status, info.error = "failed", f"{type(err).__name__}: {err}"[:300]
    return info


def read_works(works_dir: Path) -> list[WorkInfo]:
    """The records of works.jsonl; a work exported again (a retry after a failure) counts by its last line."""
    path = Path(works_dir) / WORKS_FILE
    if not path.exists():
        return []
    latest = {}
    for line in path.read_text().splitlines():
        if line.strip():
            info = WorkInfo(**json.loads(line))
            latest.pop(info.id, None)
            latest[info.id] = info
    return list(latest.values())


def append_work(works_dir: Path, info: WorkInfo) -> None:
    with open(Path(works_dir) / WORKS_FILE, "a") as fh:
        fh.write(json.dumps(asdict(info)) + "\n")
