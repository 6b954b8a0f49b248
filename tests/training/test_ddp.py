"""DDP on CPU with gloo and two processes: ranks end with the same weights, and two ranks with half the batch each
compute the gradient of one process with the whole batch."""
from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from lmdm_core.conditions import Conditions
from lmdm_core.dit import DiT, pack_input_add
from lmdm_core.text import WordEncoder
from lmdm_core.training import ddp
from lmdm_core.training.dit import DiTTrainConfig, text_config, train_dit
from tests.training.conftest import tiny_dit, tiny_stream

VOCAB = ["warm", "piano", "chorale", "bright", "brass"]
CAPTIONS = ["warm piano", "bright brass chorale", "piano chorale", "warm brass"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batch():
    g = torch.Generator().manual_seed(1)
    n = tiny_stream().window
    x = torch.randn(4, 4, n, generator=g)
    target = torch.randn(4, 4, n, generator=g)
    t = torch.rand(4, generator=g)
    flag = torch.zeros(4, 1, n)
    flag[..., : tiny_stream().context] = 1
    return x, target, t, flag


def _models():
    torch.manual_seed(0)
    return DiT(tiny_dit()), WordEncoder(text_config(tiny_dit(), VOCAB))


def _loss(model, dit_cfg, text, rows):
    x, target, t, flag = (v[rows] for v in _batch())
    tokens, mask, _ = text.encode([CAPTIONS[i] for i in range(4)][rows])
    s = tiny_stream()
    v = model(x, t, Conditions(tokens, mask), pack_input_add(dit_cfg, flag, x), mode="block_causal", block=s.block,
              window_chunks=s.window_chunks, window=s.window)
    return torch.nn.functional.mse_loss(v[..., s.context:], target[..., s.context:])


def _grads(dit, text):
    return {**{f"dit.{k}": p.grad.clone() for k, p in dit.named_parameters() if p.grad is not None},
            **{f"text.{k}": p.grad.clone() for k, p in text.named_parameters() if p.grad is not None}}


def _worker(rank: int, port: int, out: str, latents) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    d = ddp.setup("cpu")
    dit, text = _models()
    model = ddp.wrap(dit, d)
    _loss(model, dit.cfg, text, slice(2 * rank, 2 * rank + 2)).backward()
    ddp.allreduce_grads(text, d)
    grads = _grads(dit, text)
    cfg = DiTTrainConfig(steps_bidirectional=1, steps_finetune=1, batch=4, warmup=1, log_every=1, save_every=100)
    trained, _, _ = train_dit(tiny_dit(), tiny_stream(), latents, os.path.join(out, f"run{rank}"), cfg, VOCAB, d,
                              progress=False)
    torch.save({"grads": grads, "weights": trained.state_dict()}, os.path.join(out, f"rank{rank}.pt"))
    ddp.teardown(d)


def test_two_gloo_ranks_agree_with_each_other_and_with_one_process(latents, tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path), latents), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for k, v in r0["weights"].items():
        torch.testing.assert_close(r1["weights"][k], v, rtol=0, atol=0)
    dit, text = _models()
    _loss(dit, dit.cfg, text, slice(0, 4)).backward()
    single = _grads(dit, text)
    assert set(single) == set(r0["grads"])
    for k, g in single.items():
        torch.testing.assert_close(r0["grads"][k], g, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(r1["grads"][k], g, rtol=1e-4, atol=1e-6)
