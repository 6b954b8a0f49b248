"""Distributed data parallel for 1..N processes: `torchrun --nproc_per_node N ...` sets RANK/WORLD_SIZE/LOCAL_RANK;
a plain `python` run is world size 1 with no process group. NCCL on CUDA, gloo on CPU (the tests run 2 CPU ranks).

The global batch is split evenly over ranks; each rank draws its own windows from a generator seeded by (seed, rank),
so ranks see different data and DDP averages their gradients: N ranks with batch B/N equal one process with batch B.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def setup(device: str | None = None) -> Dist:
    """Join the process group torchrun describes (if any) and pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    want = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(f"cuda:{local}") if want == "cuda" else torch.device(want)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, local, dev)


def wrap(model: nn.Module, d: Dist) -> nn.Module:
    """The module to call in training: DDP-wrapped when there are several ranks."""
    if not d.active:
        return model
    ids = [d.device.index] if d.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def split_batch(global_batch: int, d: Dist) -> int:
    if global_batch % d.world:
        raise ValueError(f"global batch {global_batch} does not split over {d.world} ranks")
    return global_batch // d.world


def mean(value: float, d: Dist) -> float:
    """Average a scalar (e.g. the loss) over ranks, for logging."""
    if not d.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=d.device if d.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / d.world


def allreduce_grads(module: nn.Module, d: Dist) -> None:
    """Average the gradients of a module that is not inside DDP (e.g. the text encoder feeding the DiT)."""
    if not d.active:
        return
    for p in module.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= d.world


def barrier(d: Dist) -> None:
    if d.active:
        dist.barrier()


def teardown(d: Dist) -> None:
    if d.active and dist.is_initialized():
        dist.destroy_process_group()
