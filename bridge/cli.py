"""The `lmdm` command. Each subcommand lives in the module that owns its job; this file only gathers them."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lmdm")
def main() -> None:
    """lmdm: Live Music Diffusion Models for Max/MSP and Pure Data.

    \b
    Examples:
      lmdm serve                      # worker with the embedded model on 127.0.0.1
      lmdm serve --model loopback     # check your routing: input comes back one block later
      lmdm bench --preset tiny        # naive vs cached engine, same weights
    """


# Subcommands register below, one line each, in the order they appear in --help.


@main.group()
def bench() -> None:
    """Benchmarks: `lmdm bench model` (naive vs cached engine), `lmdm bench bridge` (frame round trip),
    `lmdm bench soak` (real-time clients for minutes, with a worker restart), `lmdm bench serve` (how many
    real-time streams one worker serves)."""


from bridge import commands as _bridge  # noqa: E402  (the worker: serve, generate, live, devices, doctor)
main.add_command(_bridge.serve)
main.add_command(_bridge.generate)
main.add_command(_bridge.live)
main.add_command(_bridge.monitor)
main.add_command(__import__("bridge.service", fromlist=["service"]).service)  # lmdm service install|uninstall|status
main.add_command(_bridge.devices)
main.add_command(_bridge.doctor)
main.add_command(_bridge.keys)  # lmdm keys new|add|list
main.add_command(__import__("lmdm_core.data.cli", fromlist=["data"]).data)  # lmdm data build
bench.add_command(__import__("lmdm_core.bench", fromlist=["command"]).command)  # lmdm bench model
bench.add_command(__import__("lmdm_core.ae_bench", fromlist=["decoder_command"]).decoder_command)  # lmdm bench decoder
bench.add_command(_bridge.bench_bridge)
bench.add_command(_bridge.bench_soak)
bench.add_command(_bridge.bench_serve)
main.add_command(__import__("lmdm_core.convert", fromlist=["convert_saos_command"]).convert_saos_command)  # lmdm convert-saos
main.add_command(__import__("lmdm_core.eval.cli", fromlist=["eval_command"]).eval_command)  # lmdm eval
from lmdm_core.arc import cli as _arc  # noqa: E402  (ARC-Forcing: lmdm arc, lmdm bench arc, lmdm eval compare)
main.add_command(_arc.arc_command)
bench.add_command(_arc.bench_command)
main.commands["eval"].add_command(_arc.compare_command)
main.add_command(__import__("lmdm_core.training.cli", fromlist=["train"]).train)  # lmdm train
