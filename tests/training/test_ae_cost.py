"""The autoencoder CPU-cost bench (ae_bench.py) times the real streaming encoder and decoder of each candidate."""
from __future__ import annotations

import dataclasses

import pytest

from lmdm_core.ae_bench import CANDIDATES, candidates, stream_cost, table
from lmdm_core.config import autoencoder_preset

from tests.training.conftest import tiny_ae


def test_stream_cost_reports_both_halves_and_the_block_share():
    cfg = tiny_ae()
    r = stream_cost(cfg, "tiny", block=8, threads=1, repeats=2, warmup=1)
    assert r.encoder_ms > 0 and r.decoder_ms > 0 and r.cpu_ms > 0
    assert r.block_s == pytest.approx(8 * cfg.hop / cfg.sample_rate)
    assert r.share == pytest.approx(r.total_ms / 1e3 / r.block_s)
    assert r.params_encoder > 0 and r.params_decoder > 0
    assert "tiny" in table([r])


def test_candidates_are_built_on_the_preset():
    base = autoencoder_preset("embedded-v2")
    cfgs = candidates(base, ["c16 elu", "c16 snake-dec", "c24 snake-dec"])
    assert cfgs["c16 elu"].channels == 16 and not cfgs["c16 elu"].decoder_snake
    assert cfgs["c16 snake-dec"] == base                   # the preset is one of the weighed candidates
    assert cfgs["c24 snake-dec"] == autoencoder_preset("embedded-v2-c24")
    assert all(dataclasses.replace(base, **kw).hop == base.hop for kw in CANDIDATES.values())


def test_model_option_times_the_checkpoints_autoencoder(tmp_path, capsys):
    import torch

    from lmdm_core.autoencoder import Autoencoder
    from lmdm_core.checkpoint import save_checkpoint

    cfg = tiny_ae()
    torch.manual_seed(1)
    ae = Autoencoder(cfg)
    save_checkpoint(tmp_path / "ckpt", {"autoencoder": ae}, {"autoencoder": cfg})
    from lmdm_core.training.cli import ae_cost
    rows = ae_cost.main(["--model", str(tmp_path / "ckpt"), "--threads", "1", "--repeats", "1", "--json"],
                        standalone_mode=False)
    assert [r.name for r in rows] == [str(tmp_path / "ckpt")]
    assert rows[0].params_encoder == sum(p.numel() for p in ae.encoder.parameters())   # not the preset's size
    assert rows[0].block_s == pytest.approx(48 * cfg.hop / cfg.sample_rate)
    assert '"share"' in capsys.readouterr().out
