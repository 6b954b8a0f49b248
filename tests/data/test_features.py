"""Sketch curves: YIN pitch, loudness, brightness; and curves of a render against its MIDI."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import HOP, SR
from lmdm_core import features as F
from lmdm_core.data import checks
from lmdm_core.data import midi as M
from lmdm_core.data.render import render

T = np.arange(2 * SR) / SR


@pytest.mark.parametrize("freq", [55.0, 98.0, 261.63, 440.0, 1046.5])
def test_yin_finds_the_pitch_of_a_tone(freq):
    tone = 0.4 * np.sin(2 * np.pi * freq * T) + 0.2 * np.sin(2 * np.pi * 2 * freq * T + 1.0)
    c = F.curves(tone, SR, HOP)
    expected = 69 + 12 * np.log2(freq / 440)
    inner = c[F.PITCH, 1:-1]
    assert np.max(np.abs(inner - expected)) < 0.05          # within 5 cents


def test_frames_shape_layouts_and_silence():
    stereo = np.zeros((SR + 5, 2), dtype=np.float32)
    c = F.curves(stereo, SR, HOP)
    assert c.shape == (3, -(-(SR + 5) // HOP)) and c.dtype == np.float32
    assert np.all(c[F.PITCH] == 0) and np.all(c[F.BRIGHTNESS] == 0) and np.all(c[F.LOUDNESS] == F.FLOOR_DB)
    tone = 0.5 * np.sin(2 * np.pi * 220 * T)
    np.testing.assert_allclose(F.curves(np.stack([tone, tone]), SR), F.curves(tone[:, None], SR), atol=1e-4)
    with pytest.raises(ValueError, match="NaN"):
        F.curves(np.full(4096, np.nan), SR)


def test_loudness_follows_a_ramp():
    db = np.linspace(-50, -6, len(T))                    # amplitude envelope in dB, rising
    tone = np.sqrt(2) * 10 ** (db / 20) * np.sin(2 * np.pi * 330 * T)   # RMS of a sine = amplitude / sqrt 2
    c = F.curves(tone, SR, HOP)
    centers = (np.arange(c.shape[1]) + 0.5) * HOP
    inner = slice(1, -1)
    expected = np.interp(centers, np.arange(len(T)), db)[inner]
    assert np.all(np.diff(c[F.LOUDNESS, inner]) > 0)
    assert np.max(np.abs(c[F.LOUDNESS, inner] - expected)) < 1.0


def test_brightness_orders_dull_and_bright():
    saw = 2 * ((110 * T) % 1.0) - 1                      # rich in harmonics
    sine = np.sin(2 * np.pi * 110 * T)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(T))
    dull = np.convolve(noise, np.ones(32) / 32, mode="same")   # moving average = low-pass
    med = lambda x: float(np.median(F.curves(0.3 * x, SR)[F.BRIGHTNESS]))  # noqa: E731
    assert med(sine) < med(saw) and med(dull) < med(noise)
    assert med(sine) == pytest.approx(110, rel=0.2)


def test_curves_of_a_render_agree_with_its_midi(works_dir):
    """Each chorale voice rendered alone: its pitch curve matches the MIDI where one note sounds."""
    mid = M.load(works_dir / "bach-bwv66-6.mid")
    M.set_programs(mid, {t: 73 for t in M.voice_tracks(mid)})     # flute: a clear fundamental
    voices = M.voice_tracks(mid)
    out = render(mid, channels=[M.track_channel(mid.tracks[t]) for t in voices], tail=1.5)
    notes = M.voice_notes(mid)
    for stem, voice_notes in zip(out.stems, notes):
        c = F.curves(stem, SR, HOP)
        agree = checks.pitch_agreement(c[F.PITCH], voice_notes, SR, HOP)
        assert agree is not None and agree > 0.85, agree
    # The mix's loudness drops once every note has ended (the last 1.5 s is release only).
    c = F.curves(out.mix, SR, HOP)
    end = max(e for v in notes for _, e, _ in v)
    frame_end = int(end * SR / HOP)
    assert np.median(c[F.LOUDNESS, :frame_end]) > np.median(c[F.LOUDNESS, -8:]) + 10
