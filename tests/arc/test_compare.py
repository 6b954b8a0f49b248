"""Side-by-side drift curves from eval.json files shaped as `lmdm eval` writes them."""
from __future__ import annotations

import json

import pytest

from lmdm_core.arc.cli import compare_command
from lmdm_core.arc.compare import curves, load_runs, markdown
from lmdm_core.eval.drift import METRICS


def _eval_json(path, base: float):
    def methods(offset):
        return {"generated": {m: [base + offset + w for w in range(3)] for m in METRICS},
                "noise": {m: [9.0, 9.0, 9.0] for m in METRICS}}
    drift = {"audio_primed": {"windows_s": [0.0, 10.0, 20.0], "methods": methods(0.0)},
             "text_only": {"windows_s": [0.0, 10.0, 20.0], "methods": methods(0.5)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": "x", "drift": drift}))
    return path


def test_curves_table_and_png(tmp_path):
    a = _eval_json(tmp_path / "stage1" / "eval.json", 1.0)
    b = _eval_json(tmp_path / "arc" / "eval.json", 0.0)
    runs = load_runs([f"stage1-8={a}", str(b)])
    assert list(runs) == ["stage1-8", "arc"]
    windows, per_run = curves(runs, "text_only", "chroma_distance")
    assert windows == [0.0, 10.0, 20.0] and per_run == {"stage1-8": [1.5, 2.5, 3.5], "arc": [0.5, 1.5, 2.5]}
    table = markdown(runs, ("chroma_distance",))
    assert "| stage1-8 | 1.000 | 2.000 | 3.000 |" in table and "| arc | 0.500 | 1.500 | 2.500 |" in table
    assert "0–10 s" in table
    compare_command.main([f"s={a}", f"a={b}", "--png", str(tmp_path / "d.png"), "--md", str(tmp_path / "d.md")],
                         standalone_mode=False)
    assert (tmp_path / "d.png").stat().st_size > 5000 and "| s |" in (tmp_path / "d.md").read_text()


def test_a_run_without_drift_is_refused(tmp_path):
    p = tmp_path / "eval.json"
    p.write_text(json.dumps({"model": "x", "adherence": {}}))
    with pytest.raises(ValueError, match="no drift results"):
        load_runs([str(p)])

