"""Room and mastering augmentation: parameters drawn per render, recorded, applied, reproducible; stems still sum."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import HELDOUT, SMALL_SF
from lmdm_core.data import augment, build, stems
from lmdm_core.data.manifest import Manifest


def _build(works_dir: Path, out: Path, **kw) -> list:
    cfg = build.BuildConfig(works_dir, out, soundfont=Path(SMALL_SF), renders=2, max_seconds=4.0, heldout=HELDOUT,
                            progress=False, plot=False, **kw)
    assert build.build(cfg)["failed"] == 0
    return sorted(Manifest(out).entries(), key=lambda e: e.id)


def test_draw_is_a_function_of_the_seed():
    assert augment.draw("0:a-r0", True) == augment.draw("0:a-r0", True)
    drawn = [augment.draw(f"0:w{k}-r0", False) for k in range(40)]
    assert len({repr(d) for d in drawn}) == 40
    assert any(d.reverb is None for d in drawn) and any(d.compressor is None for d in drawn)
    assert all(augment.draw(f"0:w{k}-r0", True).compressor is None for k in range(40))   # never with stems


def test_reverb_recorded_applied_reproducible_and_stems_still_sum(works_dir, tmp_path):
    dry = _build(works_dir, tmp_path / "dry", augment=False)
    wet = _build(works_dir, tmp_path / "wet")
    again = _build(works_dir, tmp_path / "again", workers=2)
    assert all(e.augment is None for e in dry)
    reverbed = [e for e in wet if e.augment["reverb"] is not None]
    assert reverbed and all(e.augment["compressor"] is None for e in wet)
    lsb = 1 / 32768
    for e in reverbed:
        folder = tmp_path / "wet" / "renders" / e.id
        mix, _ = stems.read(folder)
        dry_mix, _ = stems.read(tmp_path / "dry" / "renders" / e.id)
        assert mix.shape == dry_mix.shape and np.sqrt(np.mean((mix - dry_mix) ** 2)) > 0.01   # it was applied
        parts = [stems.read(folder, f)[0] for f in e.files if f.startswith("stem") and f.endswith(".flac")]
        assert len(parts) == 4 and np.max(np.abs(sum(parts) - mix)) <= 2.5 * lsb + 1e-9   # reverb is linear
    assert [e.augment for e in again] == [e.augment for e in wet]
    for e in wet:     # same seed, same audio, whatever the worker count
        a = (tmp_path / "wet" / "renders" / e.id / "mix.flac").read_bytes()
        assert a == (tmp_path / "again" / "renders" / e.id / "mix.flac").read_bytes()


def test_mix_only_builds_compress(works_dir, tmp_path):
    wet = _build(works_dir, tmp_path / "wet", with_stems=False)
    dry = {e.id: e for e in _build(works_dir, tmp_path / "dry", with_stems=False, augment=False)}
    squeezed = [e for e in wet if e.augment["compressor"] is not None]
    assert squeezed and all(e.files[0] == "mix.flac" and "stem0.flac" not in e.files for e in wet)
    for e in squeezed:
        assert e.augment == augment.draw(f"0:{e.id}", False).record()       # what the seed draws is what ran
        mix, _ = stems.read(tmp_path / "wet" / "renders" / e.id)
        dry_mix, _ = stems.read(tmp_path / "dry" / "renders" / e.id)
        assert np.sqrt(np.mean((mix - dry_mix) ** 2)) > 0.01 and e.gain_db != dry[e.id].gain_db


def test_compressor_narrows_the_dynamic_range():
    """A tone 20 dB louder in its second half: compressed, the halves' level difference shrinks by the ratio."""
    sr = 44100
    t = np.arange(2 * sr) / sr
    tone = (0.03 * np.sin(2 * np.pi * 220 * t) * np.where(t < 1, 1.0, 10.0)).astype(np.float32)
    audio = np.stack([tone, tone], axis=1)[None]
    comp = augment.Compressor(threshold_db=-30.0, ratio=4.0, attack_ms=5.0, release_ms=50.0, limiter_db=-1.0)
    _, mix = augment.apply(audio, sr, augment.Augment(None, comp))
    db = lambda a: 20 * np.log10(np.sqrt(np.mean(a**2)))  # noqa: E731
    before, after = db(tone[sr + 4410:]) - db(tone[4410:sr]), db(mix[sr + 4410:, 0]) - db(mix[4410:sr, 0])
    assert abs(before - 20) < 0.1 and after < 12
    _, plain = augment.apply(audio, sr, augment.Augment(None, None))
    assert np.array_equal(plain, audio[0])                 # nothing drawn, nothing done
