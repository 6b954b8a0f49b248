"""Transcription statistics: exact values on written notes, and basic-pitch on real SoundFont renders of known MIDI
(a held chord against a progression that changes chord every 2 s)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lmdm_core.eval import texture as T
from lmdm_core.eval.heldout import HeldOut
from lmdm_core.eval.notes import Notes
from tests.eval.builds import midi_of

I, IV, V, VI = (60, 64, 67), (60, 65, 69), (59, 62, 67), (57, 60, 64)      # C major: I IV V vi
SR = 44100


def struck(chords: list[tuple[int, ...]], beats: int = 4) -> list[list[tuple[float, float, int]]]:
    """Voices of triads struck on every beat, each chord for `beats` beats (2 s at 120 BPM)."""
    voices: list[list[tuple[float, float, int]]] = [[], [], []]
    for c, chord in enumerate(chords):
        for b in range(beats):
            for k, note in enumerate(chord):
                voices[k].append((float(c * beats + b), 1.0, note))
    return voices


def written(voices, beat_s: float = 0.5) -> Notes:
    return Notes.of(sorted((s * beat_s, (s + d) * beat_s, n) for v in voices for s, d, n in v))


def test_statistics_of_written_notes():
    held, prog = T.texture(written(struck([I] * 4)), 8.0), T.texture(written(struck([I, IV, V, VI])), 8.0)
    assert held.notes_per_second == prog.notes_per_second == 6.0            # 3 notes a beat, 2 beats a second
    assert held.mean_polyphony == prog.mean_polyphony == 3.0
    assert held.pitch_class_entropy == pytest.approx(math.log2(3))
    assert held.harmonic_change == 0.0
    # I->IV share C (2/3 of the pitch-class time moves), IV->V and V->vi share none (1): (2/3 + 1 + 1) / 3
    assert prog.harmonic_change == pytest.approx(8 / 9)
    scale = Notes.of([(0.5 * i, 0.5 * i + 0.25, 60 + i) for i in range(12)])   # a note, a rest, the next note...
    s = T.texture(scale, 6.0)
    assert s.mean_polyphony == 1.0                                         # rests do not count
    assert s.pitch_class_entropy == pytest.approx(math.log2(12))
    assert T.texture(scale, 3.0).notes_per_second == 2.0                  # only the notes of the first 3 s count
    empty = T.texture(Notes.of([]), 4.0)
    assert (empty.notes_per_second, empty.mean_polyphony, empty.pitch_class_entropy, empty.harmonic_change) == (
        0.0, None, None, None)
    assert T.texture(written(struck([I])), 3.0).harmonic_change is None    # one whole 2 s window: nothing to compare


def test_compare_gives_ratios_and_flags_those_off_target():
    real = [T.Texture(4.0, 2.0, 2.5, 0.4), T.Texture(6.0, 3.0, 2.5, 0.6)]
    same = T.compare(real, real)
    assert same["ratio"] == {k: 1.0 for k in T.STATS} and all(same["within_tolerance"].values())
    dense = T.compare([T.Texture(10.0, 2.5, 2.5, None)], real)
    assert dense["ratio"]["notes_per_second"] == 2.0 and not dense["within_tolerance"]["notes_per_second"]
    assert dense["ratio"]["mean_polyphony"] == 1.0 and dense["within_tolerance"]["mean_polyphony"]
    assert dense["ratio"]["harmonic_change"] is None and dense["within_tolerance"]["harmonic_change"] is None


def rendered(chords, program: int) -> np.ndarray:
    """The chords rendered with one GM program (real SoundFont synthesis), [2, samples] at 44.1 kHz."""
    from lmdm_core.data import midi as M
    from lmdm_core.data import stems as S
    from lmdm_core.data.render import render

    mid = midi_of(struck(chords))
    voices = M.voice_tracks(mid)
    M.set_programs(mid, {t: program for t in voices})
    out = render(mid, "/usr/share/sounds/sf2/TimGM6mb.sf2", channels=[M.track_channel(mid.tracks[t]) for t in voices],
                 tail=0.5)
    audio, _ = S.level(out.stems)
    return audio.sum(axis=0).T[:, : 8 * SR]


def held_out(audio: np.ndarray, rid: str) -> HeldOut:
    return HeldOut(rid, "piano chords", "piano", ["piano"], "C major", SR, audio)


@pytest.mark.parametrize("program, density_tolerance", [(0, 0.25), (48, None)])   # piano, string ensemble
def test_transcribed_renders_tell_a_progression_from_a_held_chord(program, density_tolerance):
    pytest.importorskip("basic_pitch")
    held, prog = rendered([I] * 4, program), rendered([I, IV, V, VI], program)
    a, b = T.of_audio(held, SR), T.of_audio(prog, SR)
    assert b.harmonic_change > 0.6 and a.harmonic_change < 0.1, (a, b)
    assert abs(a.pitch_class_entropy - math.log2(3)) < 0.2 and b.pitch_class_entropy > a.pitch_class_entropy + 0.8
    assert 2.5 <= a.mean_polyphony <= 3.5 and 2.5 <= b.mean_polyphony <= 3.5     # the triads, not their overtones
    truth = T.texture(written(struck([I, IV, V, VI])), 8.0)
    if density_tolerance is not None:      # basic-pitch splits re-struck sustained strings into extra notes (1.8x)
        assert abs(b.notes_per_second / truth.notes_per_second - 1) < density_tolerance, (b, truth)
    # the runner: the progression as the real render; generated = itself (ratios near 1) or the held chord
    result, real = T.run_texture([held_out(prog, "prog")], [prog], SR)
    assert all(abs(r - 1) < 0.05 for r in result["ratio"].values()), result["ratio"]
    other, _ = T.run_texture([held_out(prog, "prog")], [held], SR, real=real)
    assert other["ratio"]["harmonic_change"] < 0.15 and not other["within_tolerance"]["harmonic_change"]
    assert other["per_clip"][0]["real"] == result["per_clip"][0]["real"]
