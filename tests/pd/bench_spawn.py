"""Bench (not a test) of `[lmdm~ -spawn]` in real headless Pd: seconds from starting Pd with the patch to the first
non-silent output, and from SIGKILL of the worker to output heard again (the spawner's restart, the worker's start,
lmdm~'s reconnection). Figures go to docs/pd.md "The patch starts the worker".

    PYTHONPATH=. .venv/bin/python tests/pd/bench_spawn.py --model loopback --model embedded --runs 3
"""
from __future__ import annotations

import os
import socket
import signal
import statistics
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).parent))
from pdrun import LMDM, PD_DIR, SPAWNED, PdWatch, free_port  # noqa: E402


def heard_patch(path: Path, address: str, command: str) -> Path:
    """noise~ -> [lmdm~ 1 1 ADDRESS -spawn] -> env~: `heard 1` when the output turns non-silent, `heard 0` silent."""
    path.write_text("\n".join([
        "#N canvas 0 0 600 400 12;",
        "#X obj 10 10 loadbang;",                       # 0
        f"#X msg 10 40 {command} \\, prompt warm pads;",  # 1
        "#X msg 200 10 \\; pd dsp 1;",                  # 2
        "#X obj 200 60 noise~;",                        # 3
        f"#X obj 200 100 lmdm~ 1 1 {address} -spawn;",  # 4
        "#X obj 200 140 env~ 1024 512;",                # 5
        "#X obj 200 170 > 10;",                         # 6
        "#X obj 200 200 change;",                       # 7
        "#X obj 200 230 print heard;",                  # 8
        "#X connect 0 0 1 0;", "#X connect 0 0 2 0;", "#X connect 1 0 4 0;", "#X connect 3 0 4 0;",
        "#X connect 4 0 5 0;", "#X connect 5 0 6 0;", "#X connect 6 0 7 0;", "#X connect 7 0 8 0;",
    ]) + "\n")
    return path


def one_run(tmp: Path, model: str, block: int) -> tuple[float, float]:
    address = f"tcp://127.0.0.1:{free_port()}"
    model_args = "--model loopback --block {block} ".format(block=block) if model == "loopback" else (
        "" if model == "embedded" else f"--model {model} ")
    command = f"spawncmd {LMDM} serve {model_args}--osc 127.0.0.1:{free_port(socket.SOCK_DGRAM)} --osc-reply none"
    t0 = time.monotonic()
    pd = PdWatch(heard_patch(tmp / "bench.pd", address, command))
    try:
        pid = int(pd.wait_for(SPAWNED.pattern, 60).group(1))
        pd.wait_for(r"^heard: 1", 300)
        first = time.monotonic() - t0
        time.sleep(2.0)
        mark = len(pd.lines)
        os.kill(pid, signal.SIGKILL)
        t1 = time.monotonic()
        pd.wait_for(r"^heard: 0", 60, after=mark)
        pd.wait_for(r"^heard: 1", 300, after=mark)
        again = time.monotonic() - t1
    finally:
        pd.proc.terminate()
        pd.finish(timeout=10)
    return first, again


@click.command()
@click.option("--model", "models", multiple=True, default=("loopback", "embedded"), show_default=True,
              help="loopback, embedded (lmdm serve's default model) or a checkpoint path; repeatable")
@click.option("--runs", default=3, show_default=True)
@click.option("--block", default=4096, show_default=True, help="loopback block in frames")
def main(models: tuple[str, ...], runs: int, block: int) -> None:
    import subprocess
    import tempfile

    subprocess.run(["make", "-s", "-C", str(PD_DIR)], check=True, capture_output=True)
    for model in models:
        firsts, agains = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                first, again = one_run(Path(tmp), model, block)
            firsts.append(first)
            agains.append(again)
            click.echo(f"{model}: first output {first:.2f} s, heard again {again:.2f} s after SIGKILL")
        click.echo(f"{model}: median of {runs}: first output {statistics.median(firsts):.2f} s "
                   f"(min {min(firsts):.2f}, max {max(firsts):.2f}), after SIGKILL {statistics.median(agains):.2f} s "
                   f"(min {min(agains):.2f}, max {max(agains):.2f})")


if __name__ == "__main__":
    main()
