"""Metrics on synthetic and rendered signals: chroma, key, spectral distance, loudness stability."""
from __future__ import annotations

import numpy as np
import pytest

from lmdm_core.data import midi as Mid
from lmdm_core.data.render import render
from lmdm_core.eval import metrics as M

from .builds import SR, midi_of, progression, scale


def tone(midi_notes, seconds=2.0, sr=SR, harmonics=4):
    t = np.arange(int(seconds * sr)) / sr
    x = sum(sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * h * t) / h for h in range(1, harmonics + 1))
            for n in midi_notes)
    return (0.1 * x / np.max(np.abs(x))).astype(np.float32)


def rendered(voices, program=0):
    mid = midi_of(voices)
    tracks = Mid.voice_tracks(mid)
    Mid.set_programs(mid, {t: program for t in tracks})
    return render(mid, separate=False).mix


def test_chroma_of_c_major_triad_peaks_at_c_e_g():
    c = M.mean_chroma(M.prepare(tone([60, 64, 67]), SR))
    top3 = set(np.argsort(c)[-3:])
    assert top3 == {0, 4, 7}, c.round(3)
    assert c[[0, 4, 7]].sum() > 0.6          # harmonics add some G#, B, D; most energy stays on the triad


def test_chroma_of_silence_is_zero_and_agreement_of_clip_with_itself_is_one():
    assert M.mean_chroma(np.zeros(SR)).sum() == 0
    x = M.prepare(tone([62, 66, 69]), SR)
    assert M.chroma_agreement(x, x) == pytest.approx(1.0)
    assert M.chroma_agreement(x, M.prepare(tone([61, 65, 68]), SR)) < 0.2   # a semitone away: other pitch classes
    assert abs(M.chroma_agreement(x, M.prepare(np.random.default_rng(0).standard_normal(2 * SR), SR))) < 0.3


@pytest.mark.parametrize("tonic,name", [(60, "C major"), (67, "G major"), (62, "D major")])
def test_key_of_rendered_scale(tonic, name):
    assert M.key_of(rendered([scale(tonic)]), SR).name == name


def test_key_of_rendered_progression_and_mirex_scores():
    key = M.key_of(rendered(progression(65, 8), program=19), SR)   # organ, F major I-IV-V-I
    assert key.name == "F major"
    f_major, c_major = M.Key(5, "major", 0), M.Key(0, "major", 0)
    d_minor, f_minor = M.Key(2, "minor", 0), M.Key(5, "minor", 0)
    assert [M.key_score(k, f_major) for k in (f_major, c_major, d_minor, f_minor, M.Key(6, "major", 0))] == \
        [1.0, 0.5, 0.3, 0.2, 0.0]


def test_spectral_distance_is_zero_to_itself_and_grows_with_filtering():
    x = M.prepare(rendered(progression(60, 4), program=40), SR)
    assert M.spectral_distance(x, x) == pytest.approx(0.0, abs=1e-9)

    def lowpass(sig, cutoff):   # first order: -3 dB at cutoff, -6 dB per octave above
        f = np.fft.rfftfreq(len(sig), 1 / M.ANALYSIS_SR)
        return np.fft.irfft(np.fft.rfft(sig) / np.sqrt(1 + (f / cutoff) ** 2), len(sig))

    d = [M.spectral_distance(lowpass(x, f), x) for f in (4000, 1500, 500)]
    assert 0 < d[0] < d[1] < d[2], d
    assert M.spectral_distance(0.5 * x, x) < 1e-6   # level alone is not a spectral difference (loudness is separate)


def test_loudness_stability_flags_a_fade():
    steady = tone([60, 64, 67], seconds=10.0)
    fade = steady * np.linspace(1.0, 0.001, len(steady)).astype(np.float32)   # -60 dB over 10 s
    s, f = M.loudness_stability(M.prepare(steady, SR)), M.loudness_stability(M.prepare(fade, SR))
    assert s.stable and abs(s.slope_db_s) < 0.2 and s.std_db < 0.5
    assert not f.stable and f.slope_db_s < -2.0 and f.std_db > 5   # linear gain: the dB fall steepens at the end
    assert not M.loudness_stability(np.zeros(SR)).stable                      # silence is not "stable" output


def test_window_metrics_rows_and_reference_gaps():
    cadence = np.concatenate([tone(c, seconds=0.5) for c in ([60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67])])
    x = np.tile(cadence, 3)
    rows = M.window_metrics(x, x[: 3 * SR], SR, M.Key(0, "major", 0), window_s=2.0)
    assert [r["start_s"] for r in rows] == [0.0, 2.0, 4.0]
    assert rows[0]["spectral_distance_db"] == pytest.approx(0.0, abs=1e-9)
    assert rows[0]["chroma_distance"] == pytest.approx(0.0, abs=1e-9)
    assert rows[2]["spectral_distance_db"] is None and rows[2]["key"] == "C major" and rows[2]["key_score"] == 1.0
