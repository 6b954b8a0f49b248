"""BatchDecoder (lmdm_core/decoding.py): many slots in one forward give, per slot, what the per-stream streaming
decoder gives (and the whole-clip decode at the exact lookahead). CPU fp32 here; the GPU part (bf16, compiled snake,
CUDA graphs per bucket) runs where CUDA is."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lmdm_core.autoencoder import Autoencoder
from lmdm_core.config import autoencoder_preset
from lmdm_core.decoding import BatchDecoder, fast_stream_decoder, flops_per_block, whole_window_flops

CUDA = torch.cuda.is_available()


def _ae(name: str, device: str = "cpu") -> Autoencoder:
    torch.manual_seed(0)
    cfg = autoencoder_preset("tiny" if name in ("tiny-elu", "tiny-scaled") else name)
    if name == "tiny-elu":
        cfg = dataclasses.replace(cfg, use_snake=False, decoder_snake=None, final_tanh=True)
    if name == "tiny-scaled":
        cfg = dataclasses.replace(cfg, latent_scale=2.5)
    ae = Autoencoder(cfg).eval().to(device)
    with torch.no_grad():       # snake parameters away from 0, so a wrong alpha/beta would show
        for m in ae.decoder.modules():
            if hasattr(m, "alpha") and isinstance(m.alpha, torch.nn.Parameter):
                m.alpha.normal_(0, 0.5)
                m.beta.normal_(0, 0.5)
    return ae


# rows per call (a subset, any order), block length, slots reset before the call
SCHEDULE = [([0, 1, 2], 6, []), ([0, 2], 6, []), ([1], 6, []), ([2, 0, 1], 4, []), ([0, 1], 6, [1]),
            ([1, 0, 2], 6, []), ([2], 12, [])]


def _run(dec: BatchDecoder, ae: Autoencoder, lookahead, device="cpu", ref_dtype=torch.float32):
    """Drive `dec` and one reference BlockStream per slot through SCHEDULE; yields (got, want) per row and call."""
    refs = [ae.stream_decoder(lookahead=lookahead) for _ in range(3)]
    gen = torch.Generator().manual_seed(1)
    for rows, n, resets in SCHEDULE:
        if resets:
            dec.reset(resets)
            for r in resets:
                refs[r].reset()
        z = torch.randn(len(rows), ae.latent_dim, n, generator=gen).to(device)
        got = dec.decode(rows, z)
        assert got.shape == (len(rows), ae.audio_channels, n * ae.hop)
        with torch.no_grad():
            for k, r in enumerate(rows):
                yield got[k].float(), refs[r].push(z[k:k + 1].to(ref_dtype))[0].float()


@pytest.mark.parametrize("name", ["tiny", "embedded-v2", "tiny-elu", "tiny-scaled"])
@pytest.mark.parametrize("lookahead", [None, 0, 3])
def test_batched_slots_equal_per_stream_decoders(name, lookahead):
    ae = _ae(name)
    dec = BatchDecoder(ae, 3, lookahead=lookahead)
    assert dec.latency == ae.stream_decoder(lookahead=lookahead).latency
    worst = 0.0
    for got, want in _run(dec, ae, lookahead):
        worst = max(worst, (got - want).abs().max().item() / (want.abs().max().item() + 1e-9))
    assert worst < 1e-5


@pytest.mark.parametrize("channels_last", [True, False])
def test_folded_dilations_give_the_same_stream(channels_last):
    ae = _ae("embedded-v2")
    dec = BatchDecoder(ae, 3, lookahead=2, channels_last=channels_last, fold_dilation=True)
    assert sum(op.folded is not None for op in _convs(dec.ops)) == 2 * 5     # d = 3 and 9 in each of the 5 blocks
    worst = 0.0
    for got, want in _run(dec, ae, 2):
        worst = max(worst, (got - want).abs().max().item() / (want.abs().max().item() + 1e-9))
    assert worst < 1e-5


def _convs(ops: list) -> list:
    out = []
    for op in ops:
        out += _convs(op.body) if hasattr(op, "body") else [op] if hasattr(op, "dilation") else []
    return out


def test_exact_lookahead_gives_the_whole_clip_decode():
    ae = _ae("embedded-v2")
    dec = fast_stream_decoder(ae)
    z = torch.randn(1, ae.latent_dim, 30)
    y = torch.cat([dec.push(z[..., i:i + 6]) for i in range(0, 30, 6)], dim=-1)[..., dec.latency:]
    with torch.no_grad():
        whole = ae.decode(z)[..., : y.shape[-1]]
    assert y.shape[-1] == (30 - dec.dec.lookahead) * ae.hop
    assert (y - whole).abs().max().item() < 1e-5 * whole.abs().max().item() + 1e-6


def test_the_start_mask_is_what_makes_the_first_block_exact():
    """A fresh slot's window reaches before the stream: unmasked, the zeros there leak into the first block."""
    ae = _ae("tiny")
    dec = BatchDecoder(ae, 1)
    plan = dec.plan(6)
    window = torch.cat([torch.zeros(1, ae.latent_dim, dec.held), torch.randn(1, ae.latent_dim, 6)], dim=-1)
    first = torch.tensor([dec.held])
    with torch.no_grad():
        masked = dec.forward(plan, window, first)
        unmasked = dec.forward(plan, window, first, masked=False)
        want = ae.stream_decoder().push(window[..., dec.held:])
    assert (masked - want).abs().max() < 1e-5 * want.abs().max() + 1e-6
    assert (unmasked - want).abs().max() > 1e-2 * want.abs().max()


def test_slot_decoder_is_a_drop_in_for_block_stream():
    ae = _ae("tiny")
    fast, ref = fast_stream_decoder(ae, lookahead=2), ae.stream_decoder(lookahead=2)
    assert fast.latency == ref.latency == 2 * ae.hop
    for i in range(5):
        if i == 3:
            fast.reset()
            ref.reset()
        z = torch.randn(1, ae.latent_dim, 8)
        with torch.no_grad():
            want = ref.push(z)
        assert torch.allclose(fast.push(z), want, atol=1e-5 * want.abs().max().item() + 1e-6)


def test_the_cut_plan_does_less_than_decoding_the_window():
    dec = BatchDecoder(Autoencoder(autoencoder_preset("saos")), 1)
    assert flops_per_block(dec, 48) < 0.75 * whole_window_flops(dec, 48)
    assert 200e9 < flops_per_block(dec, 48) < 300e9           # ~5 GFLOP per latent, SAOS size


def test_bad_calls_are_refused():
    ae = _ae("tiny")
    dec = BatchDecoder(ae, 2)
    z = torch.randn(2, ae.latent_dim, 4)
    with pytest.raises(ValueError, match="once per call"):
        dec.decode([1, 1], z)
    with pytest.raises(ValueError, match="out of range"):
        dec.decode([0, 2], z)
    with pytest.raises(ValueError, match="decode expects latents"):
        dec.decode([0], z)
    with pytest.raises(ValueError, match="decode expects latents"):
        dec.decode([0, 1], z[:, :10])
    with pytest.raises(ValueError, match="CUDA"):
        BatchDecoder(ae, 2, graphs=True)
    with pytest.raises(ValueError, match=">= 0"):
        BatchDecoder(ae, 2, lookahead=-1)
    with pytest.raises(ValueError, match="out of range"):
        dec.reset([5])


# ----- the GPU path: bf16, the Triton activation, CUDA graphs (tests run on the device machine) -----

def _triton_device() -> str:
    """CUDA where there is one; the CPU under TRITON_INTERPRET=1 (a check without a GPU); else skip."""
    import os
    pytest.importorskip("triton")
    if CUDA:
        return "cuda"
    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("the Triton kernel needs CUDA or TRITON_INTERPRET=1")
    return "cpu"


@pytest.mark.parametrize("snake", [True, False])
@pytest.mark.parametrize("layout", ["channels_last", "cropped", "nchw"])
def test_triton_activation_matches_the_eager_one(snake, layout):
    dev = _triton_device()
    from lmdm_core.decoding import elu_act, snake_act
    from lmdm_core.snake_kernel import act
    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    b, c, t = 3, 48, 700
    x = torch.randn(b, c, 1, t + 40, device=dev).to(dtype)
    x = x.contiguous(memory_format=torch.contiguous_format if layout == "nchw" else torch.channels_last)
    if layout == "cropped":
        x = x[..., 17:17 + t]
    alpha = (torch.rand(1, c, 1, 1, device=dev) + 0.5) if snake else None
    inv_beta = (torch.rand(1, c, 1, 1, device=dev) + 0.5) if snake else None
    limits = torch.tensor([[0, 5], [0, 300], [0, -3]], device=dev)[:, 1]     # a strided column, as the plan's
    for limit in (None, limits):
        got = act(x, alpha, inv_beta, limit)
        want = snake_act(x, alpha, inv_beta, limit) if snake else elu_act(x, limit)
        assert got.shape == want.shape and torch.isfinite(got).all()
        assert (got.float() - want.float()).abs().max() <= 1e-2 * want.float().abs().max()
        assert got.is_contiguous(memory_format=torch.contiguous_format if layout == "nchw" else torch.channels_last)
    assert (got[1, :, :, :300] == 0).all() and (got[1, :, :, 300:] != 0).any()

@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("name", ["embedded-v2", "tiny-elu"])
def test_graphed_bf16_slots_follow_the_fp32_stream(name):
    ae = _ae(name, "cuda")
    # max_batch 2 and 3 slots: a call of 3 rows runs as two replays (buckets 2 and 1), one of 2 pads nothing
    dec = BatchDecoder(ae, 3, max_batch=2)
    assert dec.use_graphs and dec.act_impl == "triton" and dec.dtype == torch.bfloat16
    num = den = 0.0
    for got, want in _run(dec, ae, None, device="cuda"):
        assert torch.isfinite(got).all()
        num, den = num + (got - want).norm().item() ** 2, den + want.norm().item() ** 2
    assert dec.act_error is None and dec.replays > 0
    assert (num / den) ** 0.5 < 2e-2            # bf16 through the whole decoder


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_graph_replay_equals_the_eager_batched_forward():
    ae = _ae("embedded-v2", "cuda")
    graphed = BatchDecoder(ae, 5, max_batch=4, fold_dilation=True)     # 3 rows pad into bucket 4
    eager = BatchDecoder(ae, 5, graphs=False, act="eager", fold_dilation=False, max_batch=4)
    for i in range(4):
        rows = [4, 0, 2] if i % 2 else [1, 3, 0]
        z = torch.randn(3, ae.latent_dim, 48, device="cuda")
        a, b = graphed.decode(rows, z).float(), eager.decode(rows, z).float()
        assert (a - b).norm() / b.norm() < 1e-2
    assert graphed.replays == 4


def test_bench_decoder_command_reports_every_variant(tmp_path):
    import json

    from click.testing import CliRunner

    from bridge.cli import main as lmdm
    prof = tmp_path / "profile.txt"
    res = CliRunner().invoke(lmdm, ["bench", "decoder", "--presets", "tiny", "--batches", "2", "--block", "12",
                                    "--dtype", "fp32", "--blocks", "1", "--warmup", "1", "--json",
                                    "--variants", "stream,batched,batched-eager", "--profile", str(prof)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["variant"] for r in rows] == ["stream", "batched", "batched-eager"]
    assert all(r["ms"] > 0 and r["error"] is None for r in rows)
    assert rows[0]["rel_err"] is None and all(r["rel_err"] < 1e-5 for r in rows[1:])
    assert rows[1]["gflop_per_row"] < rows[0]["gflop_per_row"]
    assert prof.read_text().count("## tiny") == 3 and "aten::conv" in prof.read_text()
    res = CliRunner().invoke(lmdm, ["bench", "decoder", "--variants", "fastest"])
    assert res.exit_code != 0 and "unknown decoder variants" in res.output
