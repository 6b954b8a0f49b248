"""`lmdm bench model` runs end to end on the tiny preset and reports every figure (no timing assertions)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from bridge.cli import main as lmdm
from lmdm_core import bench


def test_bench_json_figures(capsys, tmp_path):
    png = tmp_path / "bench.png"
    bench.command.main(["--preset", "tiny", "--blocks", "1", "--warmup", "1", "--steps", "2", "--json", "--plot",
                        str(png)], standalone_mode=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = json.loads(capsys.readouterr().out)
    assert set(r["engines"]) == {"naive", "block_causal", "encdec"}
    for e in r["engines"].values():
        assert e["ms_per_block"] > 0 and e["cpu_ms_per_block"] >= 0 and e["rtf"] > 0
    assert r["speedup_block_causal"] > 0 and r["speedup_encdec"] > 0
    assert r["block_seconds"] == round(8 * 2048 / 44100, 4)
    assert r["decoder_ms_per_block"] is None or r["decoder_ms_per_block"] > 0


def test_cli_registration_and_errors():
    runner = CliRunner()
    res = runner.invoke(lmdm, ["bench", "model", "--help"])
    assert res.exit_code == 0 and "--cuda-graphs" in res.output
    res = runner.invoke(lmdm, ["bench", "model", "--preset", "tiny", "--engines", "nothing"])
    assert res.exit_code != 0 and "--engines" in res.output
    res = runner.invoke(lmdm, ["bench", "model", "--preset", "tiny", "--cuda-graphs"])
    assert res.exit_code != 0 and "CUDA" in res.output
