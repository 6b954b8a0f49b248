"""Cross-session batching in the worker: blocks of several sessions computed in one model batch give each session the
output it gets alone, at the engine and through real ZeroMQ sockets against a real `lmdm serve --batch`; the
sessions due are served latest first, and `status.batch` says how many shared the last batch."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from bridge.client import Client
from bridge.engines import ModelEngine
from bridge.params import defaults
from bridge.protocol import Hello
from bridge.session import Session
from tests.bridge.conftest import WorkerProc
from tests.tiny_model import save_tiny

TOL = 1e-4   # after decoding; batched matmuls may round differently from batch-1 ones


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("batch") / "ckpt")


@pytest.fixture(scope="module")
def engine(tiny_ckpt):
    return ModelEngine(str(tiny_ckpt), margin_ms=0.0)


# text mode: the streaming encoder (the slow part of the tiny model on a CPU) is not needed to test the batching
SETTINGS = [{"mode": "text", "prompt": "warm pad", "cfg": 2.0, "steps": 2},
            {"mode": "text", "prompt": "dusty drums", "cfg": 3.0, "steps": 2},
            {"mode": "text", "prompt": "", "cfg": 2.0, "seed": 5, "steps": 2}]


def _open(engine, k):
    s = engine.open(48000, 2, 2, seed=k)
    for name, value in SETTINGS[k].items():
        s.set_param(name, value)
    return s


def test_step_together_equals_each_stream_alone(engine):
    """Three streams at the client's rate (resampled), other prompts, seeds and guidance scales: blocks computed
    together equal blocks computed one stream after another; a stream leaves and joins again on the way."""
    rng = np.random.default_rng(0)
    together, alone = [_open(engine, k) for k in range(3)], [_open(engine, k) for k in range(3)]
    x = rng.uniform(-0.3, 0.3, (together[0].block * 4, 2)).astype(np.float32)
    for s in together + alone:
        s.feed(x)
    shared, frames = [], 0
    for i in range(3):
        members = [0, 1, 2] if i != 1 else [0, 2]          # stream 1 sits out block 1
        engine.step_together([together[k] for k in members])
        shared.append([together[k].batch for k in members])
        for k in members:
            y, ref = together[k].step(), alone[k].step()
            assert y is not None and y.shape == ref.shape  # the first block may be all decoder lookahead
            assert np.abs(y - ref).max(initial=0.0) <= TOL, (i, k)
            frames += len(y)
            assert np.isfinite(y).all()
    assert shared == [[3, 3, 3], [2, 2], [3, 3, 3]]  # one block behind the others, stream 1 stacks with them again
    assert frames > together[0].block  # real output came back, not only the decoder lookahead


def _block_each_way(engine, together, alone, x, i, one_by_one):
    """Block i of every stream: `together` through the engine (stepped together, or each through its own `step`),
    `alone` one after another on the reference engine; each stream's output must be the same."""
    for s in together + alone:
        s.feed(x[i * s.block:(i + 1) * s.block])
    if not one_by_one:
        engine.step_together(together)
    for k, (s, a) in enumerate(zip(together, alone)):
        y, ref = s.step(), a.step()
        assert y is not None and y.shape == ref.shape
        assert np.abs(y - ref).max(initial=0.0) <= TOL, (i, k)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)"))])
def test_slot_engine_equals_each_stream_alone(tiny_ckpt, engine, device):
    """The slot engine (CPU: Speed(pooled=True), lmdm_core/slots.py's bookkeeping run eagerly; CUDA: the graphed
    engine `lmdm serve --device cuda` runs, bucket graphs replayed): blocks batched in slots, or alone through `step`
    (a bucket of one), equal the plain eager engine's streams computed alone, while prompts, steps, mode and guidance
    change between blocks and a stream restarts."""
    from bridge.engines import Speed

    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        engine = ModelEngine(str(tiny_ckpt), device="cuda", margin_ms=0.0, speed=Speed(graphs=False))
        speed = Speed(graphs=True, slots=2, batch_decoder=False)
    else:
        speed = Speed(pooled=True, slots=2)
    slotted = ModelEngine(str(tiny_ckpt), device=device, margin_ms=0.0, speed=speed)
    assert slotted.graphed == (device == "cuda")
    rng = np.random.default_rng(1)
    together, alone = [_open(slotted, k) for k in range(3)], [_open(engine, k) for k in range(3)]
    x = rng.uniform(-0.3, 0.3, (together[0].block * 8, 2)).astype(np.float32)
    events = {2: [(0, "prompt", "airy bells"), (2, "steps", 3)], 3: [(1, "mode", "delay"), (0, "cfg", 1.0)],
              4: [(2, "cfg", 4.0)]}
    shared = []
    for i in range(6):
        for k, name, value in events.get(i, []):
            together[k].set_param(name, value)
            alone[k].set_param(name, value)
        if i == 4:
            together[1].reset()
            alone[1].reset()
        _block_each_way(slotted, together, alone, x, i, one_by_one=i == 1)   # 1: each its own bucket of one
        shared.append([s.batch for s in together])
    # block 0: all bootstrap (eager, stacked); 2: stream 2's steps make another key; 3-5: every stream in its own
    # state (guidance off rebuilds stream 0's generator, stream 1 restarts)
    assert shared == [[3, 3, 3], [1, 1, 1], [2, 2, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]
    assert len(slotted.pools) == 3
    assert sum(p.replays for p in slotted.pools.values()) >= 8
    assert sum(p.sessions for p in slotted.pools.values()) >= 3


def test_batched_decoder_equals_each_stream_alone(tiny_ckpt, engine):
    """With the batched decoder (lmdm_core/decoding.py) every step's blocks are decoded in one call:
    each stream's audio equals the plain engine's stream alone, through a restart and a stream stepped alone."""
    from bridge.engines import Speed, _DecoderSlot

    slotted = ModelEngine(str(tiny_ckpt), margin_ms=0.0, speed=Speed(pooled=True, slots=3, batch_decoder=True))
    together, alone = [_open(slotted, k) for k in range(3)], [_open(engine, k) for k in range(3)]
    assert all(isinstance(s.audio.dec, _DecoderSlot) for s in together)
    x = np.random.default_rng(2).uniform(-0.3, 0.3, (together[0].block * 6, 2)).astype(np.float32)
    for i in range(4):
        if i == 2:
            together[0].reset()
            alone[0].reset()
        _block_each_way(slotted, together, alone, x, i, one_by_one=i == 3)
    extra = slotted.open(48000, 2, 2)          # past the decoder's slots: decodes with its own
    assert not isinstance(extra.audio.dec, _DecoderSlot)
    del together
    import gc
    gc.collect()
    assert isinstance(slotted.open(48000, 2, 2).audio.dec, _DecoderSlot)   # a closed stream's slot is free again


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])   # bf16: the inputs go through the one stacked copy
def test_prepare_all_equals_each_prepare(tiny_ckpt, engine, dtype):
    """`prepare_all` (one copy of every stream's input to the device) prepares each stream as its own `prepare`:
    the same latents and extras and the same encoder state, a non-finite input zeroed and counted, feedback added."""
    from bridge.engines import Speed
    from lmdm_core.pipeline import prepare_all

    if dtype != "fp32":
        engine = ModelEngine(str(tiny_ckpt), margin_ms=0.0, speed=Speed(dtype=dtype))

    pairs = [(engine.open_audio(seed=k), engine.open_audio(seed=k)) for k in range(3)]
    for a, b in pairs:
        a.set_param("mode", "delay")
        b.set_param("mode", "delay")
    pairs[2][0].set_param("feedback", 0.5)
    pairs[2][1].set_param("feedback", 0.5)
    rng = np.random.default_rng(4)
    shape = (pairs[0][0].channels, pairs[0][0].block_samples)
    for i in range(2):
        blocks = [rng.uniform(-0.3, 0.3, shape).astype(np.float32) for _ in pairs]
        if i == 1:
            blocks[1][0, 7] = np.nan
        together = prepare_all([a for a, _ in pairs], blocks)
        for k, ((a, b), p) in enumerate(zip(pairs, together)):
            ref = b.prepare(blocks[k])
            assert torch.equal(p.z_in, ref.z_in) and p.extras.keys() == ref.extras.keys(), (i, k)
            assert all(torch.equal(p.extras[g], ref.extras[g]) for g in ref.extras)
            assert a.nonfinite_inputs == b.nonfinite_inputs
            y = a.complete(p, a.gen.next_block(p.extras))
            assert np.array_equal(y, b.complete(ref, b.gen.next_block(ref.extras)))
    assert [a.nonfinite_inputs for a, _ in pairs] == [0, 1, 0]
    with pytest.raises(ValueError, match="2 streams but 1 blocks"):
        prepare_all([a for a, _ in pairs[:2]], blocks[:1])


def test_a_stream_gone_bad_recovers_in_a_batch_as_alone(tiny_ckpt, engine):
    """A wild sample reaching one stream's model inside a batched step (slot engine, batched decoder): the step's
    one finiteness check of the latents and the audio's peaks measured with the batch make the same recovery as the
    stream's own checks alone; the streams beside it go on as alone."""
    from bridge.engines import Speed

    slotted = ModelEngine(str(tiny_ckpt), margin_ms=0.0, speed=Speed(pooled=True, slots=3, batch_decoder=True))
    rate = engine.sample_rate        # the model's rate: no resampler between the spike and the model
    together = [slotted.open(rate, 1, 1, seed=k) for k in range(3)]
    alone = [engine.open(rate, 1, 1, seed=k) for k in range(3)]
    for s in together + alone:
        s.set_param("mode", "delay")
    rng = np.random.default_rng(3)
    for i in range(4):
        x = rng.uniform(-0.3, 0.3, (together[0].bm, 1)).astype(np.float32)
        for k, (s, a) in enumerate(zip(together, alone)):
            xk = x.copy()
            if (i, k) == (1, 1):
                xk[100, 0] = 3.4e38
            s.feed(xk)
            a.feed(xk)
        slotted.step_together(together)
        for k, (s, a) in enumerate(zip(together, alone)):
            y, ref = s.step(), a.step()
            assert y.shape == ref.shape and np.abs(y - ref).max(initial=0.0) <= TOL, (i, k)
    assert together[1].recoveries >= 1
    assert [s.recoveries for s in together] == [a.recoveries for a in alone]
    assert [s.audio.nonfinite_outputs for s in together] == [a.audio.nonfinite_outputs for a in alone]


@pytest.mark.parametrize("bad", ["exploded", "nonfinite"])
def test_bad_audio_recovers_in_a_batch_as_alone(tiny_ckpt, bad):
    """The decoded audio's checks made once for the batch (its peaks measured on the device, one copy back): a
    decoder whose audio explodes or goes NaN (its last convolution's weights made so, alike in both engines, before
    their decoders copy them) silences and recovers every stream as the stream's own checks do alone."""
    from bridge.engines import Speed

    slotted = ModelEngine(str(tiny_ckpt), margin_ms=0.0, speed=Speed(pooled=True, slots=2, batch_decoder=True))
    plain = ModelEngine(str(tiny_ckpt), margin_ms=0.0)
    for eng in (slotted, plain):
        last = [m for m in eng.model.autoencoder.decoder.modules() if isinstance(m, torch.nn.Conv1d)][-1]
        with torch.no_grad():
            last.weight.mul_(1e4) if bad == "exploded" else last.weight[0, 0, 0].fill_(float("nan"))
    together, alone = [_open(slotted, k) for k in range(2)], [_open(plain, k) for k in range(2)]
    x = np.random.default_rng(5).uniform(-0.3, 0.3, (together[0].block * 4, 2)).astype(np.float32)
    for i in range(3):
        _block_each_way(slotted, together, alone, x, i, one_by_one=False)
    assert [s.recoveries for s in together] == [a.recoveries for a in alone] and together[0].recoveries >= 1
    bad_counts = [s.audio.nonfinite_outputs for s in together]
    assert bad_counts == [a.audio.nonfinite_outputs for a in alone]
    assert (min(bad_counts) > 0) == (bad == "nonfinite")


def test_due_sessions_are_served_latest_first(engine):
    """Slack = requested index minus the client's stated play position: a session further behind goes first."""
    hello = lambda sid: Hello(stream=sid, rate=48000, channels=2, out_channels=2)  # noqa: E731
    sessions = {sid: Session(hello(sid), engine, defaults()) for sid in ("early", "late")}
    for sid, s in sessions.items():
        s.audio(0, np.zeros((s.block * 2, 2), np.float32))
        s.request(s.latency, 4096)
        s.play.value = s.latency - (48000 if sid == "late" else -48000)
        assert s.wants_block()
    assert sessions["late"].slack_s() == pytest.approx(1.0) and sessions["early"].slack_s() == pytest.approx(-1.0)


def _client_output(address: str, k: int, n: int, out: dict, ready: threading.Barrier) -> None:
    try:
        with Client(address, stream=f"b{k}", rate=48000, channels=2, mode="text", timeout=120) as c:
            for name, value in SETTINGS[k].items():
                if name != "mode":
                    c.set(name, value)
            ready.wait(timeout=120)
            for start in range(0, n, 8000):
                c.request(start, min(8000, n - start))
            got = []
            while sum(g.frames for g in got) < n:
                c.heartbeat()
                msg = c.recv(timeout=120)
                assert msg is not None and msg.TYPE == "generated", msg
                got.append(msg)
            out[k] = (np.concatenate([g.data for g in got]), c.status())
    except Exception as exc:  # the test thread reports it
        out[k] = exc


def _serve(address: str, n: int, clients: int) -> dict:
    out: dict = {}
    ready = threading.Barrier(clients)
    threads = [threading.Thread(target=_client_output, args=(address, k, n, out, ready)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sorted(out) == list(range(clients)), "a client did not finish"
    assert not [r for r in out.values() if isinstance(r, Exception)], out
    return out


def test_batched_worker_streams_equal_unbatched_over_zeromq(tiny_ckpt):
    """Two text-mode clients at once against `lmdm serve --batch 4` and `--batch 1`: the same audio per stream,
    and the batched worker's status says the blocks were shared. Three blocks each: even if one stream's first block
    is computed before the other's request arrives, two of their steady-state blocks share a batch."""
    n, clients = 100000, 2   # the first `latency` frames are silence
    results = {}
    for batch in (4, 1):
        w = WorkerProc("--model", str(tiny_ckpt), "--margin-ms", "20", "--batch", str(batch), "--client-timeout", "300")
        try:
            results[batch] = _serve(w.address, n, clients)
        finally:
            w.stop()
    for k in range(clients):
        y4, st4 = results[4][k]
        y1, st1 = results[1][k]
        assert np.isfinite(y4).all() and np.abs(y4).max() > 0
        assert np.abs(y4 - y1).max() <= TOL, k
        assert st1.batch == 1 and st4.blocks == st1.blocks >= 3
    assert max(results[4][k][1].batch for k in range(clients)) == 2  # a last block may be one the other lacks
