"""Generated works: deterministic per seed, and their captions claim only what the MIDI holds (drums, BPM, key)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import mido
import numpy as np

from conftest import SMALL_SF
from lmdm_core.data import build, captions, corpus, generator
from lmdm_core.data import midi as M
from lmdm_core.data.manifest import Manifest


def _drum_notes(mid: mido.MidiFile) -> int:
    return sum(1 for tr in mid.tracks for msg in tr if msg.type == "note_on" and msg.velocity and msg.channel == 9)


def _triad_key(mid: mido.MidiFile) -> tuple[int, str]:
    """The (tonic, mode) whose tonic triad's pitch classes sound longest (duration-weighted, drums excluded)."""
    weight = np.zeros(12)
    for tr in mid.tracks:
        for n in M.track_notes(tr)[0]:
            if n.channel != M.DRUM_CHANNEL:
                weight[n.pitch % 12] += n.end - n.start
    best = max(((weight[t] + weight[(t + (4 if mode == "major" else 3)) % 12] + weight[(t + 7) % 12], t, mode)
                for t in range(12) for mode in ("major", "minor")))
    return best[1], best[2]


def test_same_seed_same_bytes_other_seeds_differ():
    first = M.to_bytes(generator.generate(7).midi)
    assert M.to_bytes(generator.generate(7).midi) == first
    others = {M.to_bytes(generator.generate(s).midi) for s in range(8, 14)}
    assert first not in others and len(others) == 6
    # Already clean: midi.fix (what the corpus export applies) leaves the bytes as they are.
    assert M.to_bytes(M.fix(M.load(first))) == first


def test_styles_tempo_length_and_drum_channel():
    seen = set()
    for seed in range(2 * len(generator.STYLES)):
        g = generator.generate(seed)
        seen.add(g.style)
        style = generator.STYLES[g.style]
        assert style.bpm[0] <= g.bpm <= style.bpm[1] and 60 <= g.bpm <= 180
        assert round(M.first_bpm(g.midi)) == g.bpm
        assert 55 <= g.midi.length <= 160, (seed, g.style, g.midi.length)
        assert (_drum_notes(g.midi) > 0) == (style.groove is not None) == g.drums
        voices = M.voice_tracks(g.midi)
        assert len(voices) == len(g.roles) >= 3
        channels = [M.track_channel(g.midi.tracks[t]) for t in voices]
        assert len(set(channels)) == len(channels)                      # one stem per track
        assert (9 in channels) == g.drums
        names = [s for s, _ in g.sections]
        assert names[0] == "intro" and names[-1] == "outro" and len(names) >= 4
    assert seen == set(generator.STYLES)


def test_notes_carry_the_key_they_are_generated_in():
    for seed in range(3 * len(generator.STYLES)):
        g = generator.generate(seed)
        assert _triad_key(g.midi) == (g.tonic_pc, g.mode), (seed, g.style, g.tonic_pc, g.mode)


def _caption_key(caption: str) -> tuple[int, str]:
    m = re.search(r"\b([A-G][b#]?) (major|minor)\b", caption)
    assert m, caption
    for pc in range(12):
        if captions.key_name(pc, m.group(2)) == f"{m.group(1)} {m.group(2)}":
            return pc, m.group(2)
    raise AssertionError(caption)


def test_captions_match_the_rendered_midi(tmp_path):
    works = tmp_path / "works"
    seeds = range(len(generator.STYLES))            # one work of every style, drums or not
    build.export_generated(len(seeds), works, progress=False)
    cfg = build.BuildConfig(works, tmp_path / "out", soundfont=Path(SMALL_SF), renders=2, max_seconds=2.0,
                            progress=False, plot=False, augment=False)
    summary = build.build(cfg)
    assert summary["renders"] == 2 * len(seeds) and summary["failed"] == 0
    assert set(summary["styles"]) == set(generator.STYLES)
    for e in Manifest(tmp_path / "out").entries():
        mid = M.load(tmp_path / "out" / "renders" / e.id / "render.mid")     # exactly what was rendered
        drums = _drum_notes(mid) > 0
        assert ("drums" in e.caption) == drums == e.drums, e.caption
        assert f"{round(M.first_bpm(mid))} BPM" in e.caption, e.caption
        assert _caption_key(e.caption) == _triad_key(mid), e.caption
        for words in e.instruments:
            assert words in e.caption
        assert e.ensemble == "" and len(e.programs) == len(e.instruments)
    records = [json.loads(line) for line in (works / corpus.WORKS_FILE).read_text().splitlines()]
    assert [r["seed"] for r in records] == list(seeds) and all(r["source"] == "generated" for r in records)
