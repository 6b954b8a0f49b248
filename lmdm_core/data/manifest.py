"""The build's record: `manifest.jsonl` (one line per finished render, appended as each completes, so an interrupted
build resumes where it stopped) and `summary.json` (counts and durations per split and collection)."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"


@dataclass
class Entry:
    id: str                   # "<work slug>-r<k>", also the render's folder under renders/
    work: str                 # corpus id of the work
    collection: str
    split: str
    status: str = "ok"        # "ok" | "failed"
    error: str = ""
    caption: str = ""
    ensemble: str = ""
    instruments: list[str] = field(default_factory=list)   # per voice, top first
    programs: list[int] = field(default_factory=list)
    pans: list[int] = field(default_factory=list)           # CC10 per voice, 64 = centre
    transpose: int = 0
    tempo_factor: float = 1.0
    bpm: float = 0.0
    key: str = ""
    mode: str = ""
    seconds: float = 0.0
    samples: int = 0
    frames: int = 0           # latent frames = curve frames = ceil(samples / hop)
    sample_rate: int = 44100
    hop: int = 2048
    gain_db: float = 0.0
    truncated: bool = False
    files: list[str] = field(default_factory=list)
    pitch_agreement: float | None = None   # share of single-note frames of the stems within a semitone of the MIDI
    style: str = ""                        # the work's style ("Bach chorale", "techno", ...)
    drums: bool = False                    # the GM drum channel plays
    soundfont: str = ""                    # file name of the SoundFont rendered with
    fallback_presets: list[list[int]] = field(default_factory=list)   # (bank, program) taken from the fallback
    augment: dict | None = None            # augment.Augment.record(): reverb and compressor parameters, or None (dry)


class Manifest:
    def __init__(self, out_dir: Path):
        self.dir = Path(out_dir)
        self.path = self.dir / MANIFEST

    def entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        return [Entry(**json.loads(line)) for line in self.path.read_text().splitlines() if line.strip()]

    def done(self) -> set[str]:
        """Ids already recorded (finished or failed for good): a rerun skips them."""
        return {e.id for e in self.entries()}

    def append(self, entry: Entry) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(asdict(entry)) + "\n")
            fh.flush()

    def summary(self) -> dict:
        """Counts and hours per split and per collection, written to summary.json and returned."""
        entries = self.entries()
        ok = [e for e in entries if e.status == "ok"]
        by_split: dict[str, dict] = defaultdict(lambda: {"works": set(), "renders": 0, "seconds": 0.0, "frames": 0})
        by_col: dict[str, dict] = defaultdict(lambda: {"works": set(), "renders": 0, "seconds": 0.0})
        by_style: dict[str, dict] = defaultdict(lambda: {"works": set(), "renders": 0, "seconds": 0.0})
        for e in ok:
            for table, key in ((by_split, e.split), (by_col, e.collection), (by_style, e.style or e.collection)):
                row = table[key]
                row["works"].add(e.work)
                row["renders"] += 1
                row["seconds"] += e.seconds
            by_split[e.split]["frames"] += e.frames
        agreements = [e.pitch_agreement for e in ok if e.pitch_agreement is not None]

        def finish(table: dict) -> dict:
            return {k: {**v, "works": len(v["works"]), "hours": round(v["seconds"] / 3600, 4),
                        "seconds": round(v["seconds"], 2)} for k, v in sorted(table.items())}

        out = {
            "renders": len(ok),
            "failed": len(entries) - len(ok),
            "works": len({e.work for e in ok}),
            "seconds": round(sum(e.seconds for e in ok), 2),
            "hours": round(sum(e.seconds for e in ok) / 3600, 4),
            "splits": finish(by_split),
            "collections": finish(by_col),
            "styles": finish(by_style),
            "drums_hours": round(sum(e.seconds for e in ok if e.drums) / 3600, 4),
            "pitch_agreement_mean": round(sum(agreements) / len(agreements), 4) if agreements else None,
            "errors": [f"{e.id}: {e.error}" for e in entries if e.status != "ok"][:50],
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / SUMMARY).write_text(json.dumps(out, indent=2) + "\n")
        return out


def load(out_dir: Path, split: str | None = None) -> list[Entry]:
    """Finished renders of a build (optionally one split), for the training loaders."""
    return [e for e in Manifest(out_dir).entries() if e.status == "ok" and (split is None or e.split == split)]
