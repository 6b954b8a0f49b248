"""The worker's subcommands: `lmdm serve`, `lmdm generate`, `lmdm live`, `lmdm devices`, `lmdm doctor`."""
from __future__ import annotations

import logging
import signal
import sys

import click

MODEL_HELP = "checkpoint path, `loopback` (input back one block later), or nothing for the embedded default"


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _hostport(value: str | None) -> tuple[str, int] | None:
    if value is None or value.lower() == "none":
        return None
    host, _, port = value.rpartition(":")
    if not port.isdigit():
        raise click.BadParameter(f"{value!r}: expected HOST:PORT")
    return host or "127.0.0.1", int(port)


@click.command()
@click.option("--zmq", "zmq_addr", default="tcp://127.0.0.1:5555", show_default=True,
              help="ZeroMQ endpoint the ROUTER binds (tcp://0.0.0.0:PORT makes it reachable from the network)")
@click.option("--osc", "osc_addr", default="127.0.0.1:9000", show_default=True,
              help="HOST:PORT for OSC parameters (UDP), or `none`")
@click.option("--osc-reply", default="127.0.0.1:9001", show_default=True,
              help="HOST:PORT where OSC acks, errors and status go (`/lmdm/reply_to` changes it), or `none`")
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--device", default="cpu", show_default=True, help="torch device for model engines (cpu, cuda, mps)")
@click.option("--block", default=4096, show_default=True, help="loopback block in frames at the client's rate")
@click.option("--margin-ms", default=50.0, show_default=True,
              help="model engines: compute margin added to the latency")
@click.option("--heartbeat-ms", default=1000, show_default=True, help="heartbeat period announced to clients")
@click.option("--client-timeout", default=5.0, show_default=True,
              help="seconds of silence after which a client's stream is freed")
@click.option("-v", "--verbose", is_flag=True)
def serve(zmq_addr: str, osc_addr: str, osc_reply: str, model: str | None, device: str, block: int,
          margin_ms: float, heartbeat_ms: int, client_timeout: float, verbose: bool) -> None:
    """Run the headless worker that patches talk to (ZeroMQ audio, OSC parameters).

    \b
    Examples:
      lmdm serve                                  # embedded model, tcp://127.0.0.1:5555, OSC on 9000
      lmdm serve --model loopback --block 2048    # routing check: input back 2048 frames later
      lmdm serve --model ckpt/lmdm.safetensors --device cuda
      lmdm serve --zmq tcp://0.0.0.0:5555 --osc 0.0.0.0:9000   # reachable from the network
      lmdm serve --zmq tcp://127.0.0.1:0 --osc 127.0.0.1:0     # free ports (printed on start)
    """
    from bridge.engines import load_engine
    from bridge.server import ServerConfig, Worker

    _setup_logging(verbose)
    osc = _hostport(osc_addr)
    cfg = ServerConfig(zmq=zmq_addr, osc_host=osc[0] if osc else "127.0.0.1", osc_port=osc[1] if osc else None,
                       osc_reply=_hostport(osc_reply), heartbeat_ms=heartbeat_ms,
                       client_timeout_ms=int(client_timeout * 1000))
    try:
        engine = load_engine(model, block=block, device=device, margin_ms=margin_ms)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot load model {model!r}: {exc}") from None
    worker = Worker(engine, cfg)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    # One parseable line for scripts and tests: where to connect.
    click.echo(f"lmdm serve: model {engine.name} zmq {worker.endpoint} osc "
               f"{cfg.osc_host}:{worker.osc_port} reply {cfg.osc_reply}", err=False)
    sys.stdout.flush()
    worker.serve()
