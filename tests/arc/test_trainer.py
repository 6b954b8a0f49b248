"""ARC training on the tiny preset on the CPU: a step moves both models and keeps them finite, a resumed run
continues from its saved step and makes the same updates, samples and plots are written, and two gloo ranks agree."""
from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from lmdm_core.arc.discriminator import Discriminator
from lmdm_core.arc.trainer import make_optimizer, train_arc, train_step
from lmdm_core.autoencoder import Autoencoder
from lmdm_core.config import autoencoder_preset, stream_preset
from tests.arc.conftest import tiny_arc, tiny_model, toy_batches


def _length(stream, arc):
    return stream.context + arc.blocks * stream.block


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_one_step_changes_both_models_and_stays_finite(stream):
    gen, arc = tiny_model(), tiny_arc()
    disc = Discriminator(gen, arc)
    before_g, before_d = _snapshot(gen), _snapshot(disc)
    opt = make_optimizer(gen, disc, arc)
    rng = torch.Generator().manual_seed(0)
    real, cond = toy_batches(gen, _length(stream, arc))(2, rng)
    stats, fake = train_step(gen, disc, real, cond, stream, arc, opt, rng)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert fake.shape == real.shape and not fake.requires_grad
    torch.testing.assert_close(fake[..., :stream.context], real[..., :stream.context])   # the real context is kept
    for name, module, before in (("generator", gen, before_g), ("discriminator", disc, before_d)):
        after = module.state_dict()
        assert all(torch.isfinite(v).all() for v in after.values()), name
        moved = [k for k in before if not torch.equal(before[k], after[k])]
        assert moved, f"{name} did not change"
    # the generator's update moved transformer weights (the gradient came through the discriminator)
    assert any("transformer.layers" in k for k in before_g if not torch.equal(before_g[k], gen.state_dict()[k]))


def test_discriminator_can_learn_faster_than_the_generator():
    """--disc-lr sets the discriminator group's rate only; unset, both groups use lr."""
    gen = tiny_model()
    for disc_lr, want in ((None, [1e-6, 1e-6]), (1e-4, [1e-6, 1e-4])):
        arc = tiny_arc(lr=1e-6, disc_lr=disc_lr)
        opt = make_optimizer(gen, Discriminator(gen, arc), arc)
        assert [g["lr"] for g in opt.param_groups] == want


def test_one_rank_needs_two_windows(stream):
    gen, arc = tiny_model(), tiny_arc()
    disc = Discriminator(gen, arc)
    rng = torch.Generator().manual_seed(0)
    real, cond = toy_batches(gen, _length(stream, arc))(1, rng)
    with pytest.raises(ValueError, match="at least 2 windows"):
        train_step(gen, disc, real, cond, stream, arc, make_optimizer(gen, disc, arc), rng)


def test_resumed_run_continues_from_the_same_step(tmp_path, stream):
    arc = tiny_arc(train_steps=2, sample_every=100)
    batches = toy_batches(tiny_model(), _length(stream, arc))
    straight, _, hist = train_arc(tiny_model(), batches, stream, arc, tmp_path / "a", progress=False)
    assert [s for s, _ in hist["loss_g"]] == [1, 2]

    train_arc(tiny_model(), batches, stream, arc, tmp_path / "b", progress=False, steps=1)
    saved = torch.load(tmp_path / "b" / "state.pt", weights_only=False)
    assert saved["step"] == 1
    resumed, _, hist_b = train_arc(tiny_model(), batches, stream, arc, tmp_path / "b", progress=False)
    assert [s for s, _ in hist_b["loss_g"]] == [1, 2]
    assert json.loads((tmp_path / "b" / "history.json").read_text())["loss_g"][-1][0] == 2
    for k, v in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v, msg=k)
    assert (tmp_path / "b" / "losses.png").stat().st_size > 1000


def test_sample_wavs_are_written(tmp_path, stream):
    import soundfile as sf

    arc = tiny_arc(train_steps=1)
    torch.manual_seed(0)
    ae = Autoencoder(autoencoder_preset("tiny")).eval()
    gen = tiny_model()
    train_arc(gen, toy_batches(gen, _length(stream, arc)), stream, arc, tmp_path, autoencoder=ae, progress=False)
    wavs = sorted((tmp_path / "samples").glob("*.wav"))
    assert [w.name for w in wavs] == ["step000001_real.wav", "step000001_rollout.wav"]
    audio, sr = sf.read(wavs[1])
    assert sr == ae.sample_rate and audio.shape == (_length(stream, arc) * ae.hop, ae.audio_channels)


def _rank(rank: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from lmdm_core.training import ddp
    d = ddp.setup("cpu")
    stream, arc = stream_preset("tiny"), tiny_arc(train_steps=1, batch=4, sample_every=100)
    gen = tiny_model()
    before = _snapshot(gen)
    gen, disc, hist = train_arc(gen, toy_batches(gen, _length(stream, arc)), stream, arc, out, d, progress=False)
    moved = any(not torch.equal(before[k], v) for k, v in gen.state_dict().items())
    torch.save((moved, gen.state_dict(), disc.state_dict(), hist["loss_g"]), os.path.join(out, f"rank{rank}.pt"))
    ddp.teardown(d)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_take_one_step_together(tmp_path):
    ctx = mp.get_context("spawn")
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, port, str(tmp_path))) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
        if p.is_alive():
            p.kill()
            p.join()
        assert p.exitcode == 0
    (moved0, gen0, disc0, loss0), (moved1, gen1, disc1, loss1) = (
        torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2))
    assert moved0 and moved1
    for k in gen0:                                   # averaged gradients: both ranks made the same update
        torch.testing.assert_close(gen0[k], gen1[k], msg=k)
    for k in disc0:
        torch.testing.assert_close(disc0[k], disc1[k], msg=k)
    assert loss0 == loss1 and len(loss0) == 1        # the logged loss is the mean over ranks
    assert (tmp_path / "state.pt").is_file()


def test_bench_times_tiny_steps():
    from lmdm_core.arc.cli import bench_command

    out = bench_command.main(["--dit-preset", "tiny", "--stream-preset", "tiny", "--steps", "1", "--blocks", "1",
                              "--device", "cpu"], standalone_mode=False)
    assert out["disc_layer"] == 1 and len(out["step_s"]) == 1 and out["step_s"][0] > 0
