"""The worker's subcommands: `lmdm serve`, `lmdm generate`, `lmdm live`, `lmdm monitor`, `lmdm devices`,
`lmdm doctor`, `lmdm keys`, and the worker benchmarks `lmdm bench bridge`, `lmdm bench soak`, `lmdm bench serve`."""
from __future__ import annotations

import logging
import signal
import sys

import click

OSC_MAP_HELP = ("sensor map (TOML, docs/installations.md): OSC addresses outside /lmdm/ drive stream parameters, "
                "scaled, clipped and smoothed; unknown ones are ignored and counted in status")
MODEL_HELP = ("checkpoint path, `loopback` (input back one block later), `random:PRESET` (a `lmdm bench model` "
              "preset's shapes, random weights: benchmarks), or nothing for the embedded default")


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
              help="ZeroMQ endpoint the ROUTER binds (tcp://0.0.0.0:PORT: the network, needs --curve-keys or "
                   "--insecure)")
@click.option("--osc", "osc_addr", default="127.0.0.1:9000", show_default=True,
              help="HOST:PORT for OSC parameters (UDP), or `none`")
@click.option("--osc-reply", default="127.0.0.1:9001", show_default=True,
              help="HOST:PORT where OSC acks, errors and status go (`/lmdm/reply_to` changes it), or `none`")
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--device", default="cpu", show_default=True, help="torch device for model engines (cpu, cuda, mps)")
@click.option("--t5", default=None, metavar="PATH_OR_NAME",
              help="T5-conditioned models (SAOS, LMDM): a local folder holding T5, or a hub name found in the "
                   "Hugging Face cache (default: the T5 the model names, t5-base); docs/models.md")
@click.option("--block", default=4096, show_default=True, help="loopback block in frames at the client's rate")
@click.option("--block-size", type=click.Choice(["long", "short"]), default="long", show_default=True,
              help="block size of streams whose hello names none: short answers sooner (a model trained for it)")
@click.option("--margin-ms", type=float, default=None,
              help="model engines: compute margin added to the latency (default: 1.5 x the median block compute, "
                   "50 ms .. one block, measured once per model and device and cached; `lmdm doctor --calibrate`)")
@click.option("--heartbeat-ms", default=1000, show_default=True, help="heartbeat period announced to clients")
@click.option("--batch", type=click.IntRange(1, 4096), default=None,
              help="model engines: at most this many sessions whose next block is due share one model batch, the "
                   "latest first; 1 computes one session's block after another [default: 8]")
@click.option("--client-timeout", type=float, default=None,
              help="seconds of silence after which a client's stream is freed (default: 5 x --heartbeat-ms)")
@click.option("--curve-keys", type=click.Path(file_okay=False), default=None,
              help="key folder from `lmdm keys new`: CURVE encryption, only allowed client keys get in")
@click.option("--osc-allow", multiple=True, metavar="ADDR[/MASK]",
              help="OSC senders taken (repeatable); default: loopback only. Others are dropped unanswered")
@click.option("--insecure", is_flag=True, help="accept a network bind without --curve-keys (or OSC without "
              "--osc-allow); warns at start")
@click.option("--osc-map", "osc_map", type=click.Path(dir_okay=False), default=None, metavar="MAP.toml",
              help=OSC_MAP_HELP)
@click.option("--exit-with-parent", is_flag=True,
              help="stop when the program that started this worker goes, even killed (lmdm~ -spawn, the Max bridge)")
@click.option("--graphs/--no-graphs", default=None,
              help="model engines: fixed slots replaying one CUDA graph per batch bucket [default: on for cuda]")
@click.option("--dtype", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="model engines: weights and activations")
@click.option("--noise", type=click.Choice(["host", "device"]), default="host", show_default=True,
              help="graphed engine: each stream's noise from its seeded CPU generator (the eager stream exactly), or "
                   "drawn inside the graph (no host work)")
@click.option("--slots", type=click.IntRange(1, 65536), default=64, show_default=True,
              help="graphed engine: sessions the slot buffers hold before growing (growing recaptures the graphs)")
@click.option("--batch-decoder/--no-batch-decoder", default=None,
              help="decode every stream of a step in one batch (lmdm_core/decoding.py) [default: with "
                   "the graphed engine]")
@click.option("-v", "--verbose", is_flag=True)
def serve(zmq_addr: str, osc_addr: str, osc_reply: str, model: str | None, device: str, t5: str | None, block: int,
          block_size: str, margin_ms: float | None, heartbeat_ms: int, batch: int | None, client_timeout: float | None,
          curve_keys: str | None, osc_allow: tuple[str, ...], insecure: bool, osc_map: str | None,
          exit_with_parent: bool, graphs: bool | None, dtype: str, noise: str, slots: int, batch_decoder: bool | None,
          verbose: bool) -> None:
    """Run the headless worker that patches talk to (ZeroMQ audio, OSC parameters).

    \b
    Examples:
      lmdm serve                                  # embedded model, tcp://127.0.0.1:5555, OSC on 9000
      lmdm serve --model loopback --block 2048    # routing check: input back 2048 frames later
      lmdm serve --model ckpt/lmdm.safetensors --device cuda --dtype bf16     # graphed engine (CUDA default)
      lmdm serve --model random:saos-small --device cuda --dtype bf16       # SAOS-size, random weights (benchmarks)
      lmdm serve --zmq tcp://0.0.0.0:5555 --curve-keys keys --osc 0.0.0.0:9000 --osc-allow 192.168.1.0/24
      lmdm serve --zmq tcp://127.0.0.1:0 --osc 127.0.0.1:0     # free ports (printed on start)
      lmdm serve --osc 0.0.0.0:9000 --osc-allow 192.168.1.23 --osc-map sensors.toml   # docs/installations.md
    """
    from bridge import security
    from bridge.server import BATCH, ServerConfig, Worker

    _setup_logging(verbose)
    if exit_with_parent:
        from bridge import lifeline

        lifeline.hold()
    osc = _hostport(osc_addr)
    sensors = _load_map(osc_map, osc is not None)
    try:  # docs/security.md: a network bind needs keys (or --insecure), OSC from the network an allow-list
        exposure = security.check_exposure(zmq_addr, osc[0] if osc else None, curve_keys, insecure, osc_allow)
    except security.SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in exposure.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)
    cfg = ServerConfig(zmq=zmq_addr, osc_host=osc[0] if osc else "127.0.0.1", osc_port=osc[1] if osc else None,
                       osc_reply=_hostport(osc_reply), heartbeat_ms=heartbeat_ms,
                       client_timeout_ms=None if client_timeout is None else int(client_timeout * 1000),
                       curve_keys=curve_keys, osc_allow=exposure.osc_allow, block_size=block_size,
                       batch=BATCH if batch is None else batch)
    from bridge.engines import Speed

    engine = _engine(model, block, device, margin_ms, t5,
                     Speed(graphs=graphs, dtype=dtype, noise=noise, slots=slots, batch_decoder=batch_decoder))
    if hasattr(engine, "prepare"):
        engine.prepare(cfg.batch, block_size)   # the graphed engine's bucket graphs, before any client waits on them
    if block_size not in engine.block_sizes:
        raise click.ClickException(f"--block-size {block_size}: model {engine.name} streams "
                                   f"{' or '.join(engine.block_sizes)} blocks only")
    if getattr(engine, "untrained", False):
        click.secho("WARNING: no trained weights: the embedded model is UNTRAINED (random weights) and makes noise. "
                    "Pass --model PATH for a trained checkpoint.", fg="yellow", err=True)
    worker = Worker(engine, cfg, sensors)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    # One parseable line for scripts and tests: where to connect.
    osc_at = f"{cfg.osc_host}:{worker.osc_port}" if worker.osc_port else "none"
    reply_at = f"{cfg.osc_reply[0]}:{cfg.osc_reply[1]}" if cfg.osc_reply else "none"
    click.echo(f"lmdm serve: model {engine.name} zmq {worker.endpoint} osc {osc_at} reply {reply_at}")
    sys.stdout.flush()
    worker.serve()


def _load_map(path: str | None, osc_on: bool):
    """The OSC map, checked before the model loads: a bad file is one line naming its line and why."""
    if path is None:
        return None
    from bridge.oscmap import MapError, load

    if not osc_on:
        raise click.BadParameter("the map needs OSC: drop `--osc none`", param_hint="--osc-map")
    try:
        sensors = load(path)
    except MapError as exc:
        raise click.ClickException(f"--osc-map {exc}") from None
    click.echo(f"osc map {path}: {len(sensors.mappings)} entries", err=True)
    return sensors


def _map_listener(sensors, osc_addr: str, osc_allow: tuple[str, ...], insecure: bool):
    """`lmdm live`'s OSC socket for the map, under the rules of docs/security.md (loopback unless allowed)."""
    from bridge import security
    from bridge.oscmap import Listener

    host, port = _hostport(osc_addr) or ("127.0.0.1", 9000)
    try:
        exposure = security.check_exposure("inproc://lmdm-live", host, None, insecure, osc_allow)
    except security.SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in exposure.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)
    guard = security.Guard(None, None, None, exposure.osc_allow)  # no ZeroMQ here: its OSC allow-list only
    try:
        return Listener(sensors, host, port, guard.admit)
    except OSError as exc:
        raise click.ClickException(f"--osc {osc_addr}: {exc}") from None


def _values(settings: tuple[str, ...]) -> dict:
    """`--set name=value` pairs -> validated parameter values (numbers parsed, strings kept)."""
    from bridge.params import SPECS, ParamError, defaults, validate

    values = defaults()
    for item in settings:
        name, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--set")
        value: object = raw
        spec = SPECS.get(name)
        for cast in (int, float) if spec is not None and spec.kind in ("int", "float", "bool") else ():
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        try:
            values[name] = validate(name, value)
        except ParamError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
    return values


def _engine(model: str | None, block: int, device: str, margin_ms: float | None, t5: str | None = None,
            speed=None):
    from bridge.engines import load_engine

    try:
        return load_engine(model, block=block, device=device, margin_ms=margin_ms, t5=t5, speed=speed)
    except Exception as exc:  # missing file, bad checkpoint, unknown device: one clear line, no traceback
        raise click.ClickException(f"cannot load model {model!r}: {type(exc).__name__}: {exc}") from None


def _encode_prompts(engine, values: dict) -> None:
    """Run the prompts through the model's text encoder before streaming: a T5 that cannot load is then one clear
    error line, not a file generated without its prompt."""
    from lmdm_core.params import ParamError

    prompts = [values[k] for k in ("prompt", "prompt_b") if values.get(k)]
    text = getattr(getattr(engine, "model", None), "text", None)
    if text is None or not prompts:
        return
    try:
        text.encode(prompts)
    except ParamError as exc:
        raise click.ClickException(str(exc)) from None


SET_HELP = "stream parameter NAME=VALUE (docs/osc.md), repeatable"


@click.command()
@click.option("-i", "--input", "input_path", type=click.Path(exists=True, dir_okay=False),
              help="input audio file (any format soundfile reads); without it the input is silence")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False), help="output WAV")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="length when there is no input file")
@click.option("--rate", type=int, default=None, help="client rate (default: the input's, else 44100)")
@click.option("--channels", type=int, default=2, show_default=True, help="output channels")
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--device", default="cpu", show_default=True)
@click.option("--t5", default=None, metavar="PATH_OR_NAME",
              help="T5-conditioned models (SAOS, LMDM): a local folder holding T5, or a hub name found in the "
                   "Hugging Face cache (default: the T5 the model names, t5-base); docs/models.md")
@click.option("--block", default=4096, show_default=True, help="loopback block in frames")
@click.option("--set", "settings", multiple=True, help=SET_HELP)
@click.option("--align/--no-align", default=True, show_default=True,
              help="cut the latency off the front so the output lines up with the input")
def generate(input_path: str | None, output_path: str, seconds: float, rate: int | None, channels: int,
             model: str | None, device: str, t5: str | None, block: int, settings: tuple[str, ...],
             align: bool) -> None:
    """Stream a file (or silence) through the engine offline and write a WAV, exactly as the worker would.

    \b
    Examples:
      lmdm generate -o pad.wav --seconds 20 --set mode=text --set prompt="warm analog pad"
      lmdm generate -i guitar.wav -o echo.wav --set mode=delay --set mix=0.5 --set feedback=0.3
      lmdm generate -i drums.wav -o check.wav --model loopback          # must equal the input
    """
    import numpy as np
    import soundfile as sf
    from tqdm import tqdm

    from bridge.offline import render
    from bridge.protocol import RATES

    values = _values(settings)
    if input_path:
        x, file_rate = sf.read(input_path, dtype="float32", always_2d=True)
        rate = rate or file_rate
        if rate != file_rate:
            import soxr
            x = soxr.resample(x, file_rate, rate).astype(np.float32)
    else:
        rate = rate or 44100
        x = np.zeros((int(seconds * rate), channels), np.float32)
    if rate not in RATES:
        raise click.BadParameter(f"rate {rate} is not one of {list(RATES)}", param_hint="--rate")
    engine = _engine(model, block, device, 0.0, t5)  # offline: no compute margin needed
    _encode_prompts(engine, values)
    with tqdm(total=len(x), unit="frame", unit_scale=True, desc="generate") as bar:
        y, latency = render(engine, x[:, :8], rate, values, channels, progress=bar, report=bar.write)
    y = y[latency:] if align else y
    sf.write(output_path, y, rate, subtype="FLOAT")
    click.echo(f"wrote {output_path}: {len(y) / rate:.2f} s at {rate} Hz, latency {latency} samples"
               f"{' (cut)' if align else ''}")


@click.command()
@click.option("--input-device", default=None, help="input device: index or name fragment (`lmdm devices`)")
@click.option("--output-device", default=None, help="output device: index or name fragment")
@click.option("--host-api", default=None, help="pick devices of this host API, e.g. JACK, ALSA, CoreAudio, WASAPI")
@click.option("--input", "input_kind", type=click.Choice(["device", "tone"]), default="device", show_default=True,
              help="`tone`: a 440 Hz test tone instead of the input device")
@click.option("--rate", type=int, default=None, help="sample rate (default: the output device's)")
@click.option("--blocksize", type=int, default=256, show_default=True, help="frames per audio callback")
@click.option("--channels", type=int, default=2, show_default=True)
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--device", default="cpu", show_default=True, help="torch device")
@click.option("--block", default=4096, show_default=True, help="loopback block in frames")
@click.option("--margin-ms", type=float, default=None,
              help="model engines: compute margin (default: measured, 1.5 x one block's compute)")
@click.option("--set", "settings", multiple=True, help=SET_HELP)
@click.option("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
@click.option("--record", type=click.Path(dir_okay=False), default=None, help="also write what was played to a WAV")
@click.option("--osc-map", "osc_map", type=click.Path(dir_okay=False), default=None, metavar="MAP.toml",
              help=OSC_MAP_HELP + " (`lmdm live`: entries for stream \"*\" or \"live\")")
@click.option("--osc", "osc_addr", default="127.0.0.1:9000", show_default=True,
              help="HOST:PORT the map listens on (with --osc-map)")
@click.option("--osc-allow", multiple=True, metavar="ADDR[/MASK]",
              help="OSC senders taken (repeatable); default: loopback only")
@click.option("--insecure", is_flag=True, help="take OSC from any sender when --osc is not loopback")
def live(input_device: str | None, output_device: str | None, host_api: str | None, input_kind: str,
         rate: int | None, blocksize: int, channels: int, model: str | None, device: str, block: int,
         margin_ms: float | None, settings: tuple[str, ...], seconds: float | None, record: str | None,
         osc_map: str | None, osc_addr: str, osc_allow: tuple[str, ...], insecure: bool) -> None:
    """Input device -> engine -> output device, with no patcher: a generative delay on its own.

    \b
    Examples:
      lmdm live --set mix=0.5 --set feedback=0.3 --set prompt="tape echo"
      lmdm live --model loopback --input tone --seconds 5     # hear the routing: a tone, one block late
      lmdm live --host-api JACK --input-device system --output-device system
      lmdm live --osc-map sensors.toml --set prompt="rain on a tin roof"    # a Pi with sensors, no patcher
    """
    import time

    import sounddevice as sd
    import soundfile as sf

    from bridge.live import Live, find_device
    from bridge.offline import prompt_report

    values = _values(settings)
    sensors = _load_map(osc_map, True)
    listener = _map_listener(sensors, osc_addr, osc_allow, insecure) if sensors is not None else None
    try:
        dev_in = None if input_kind == "tone" else find_device(input_device, host_api, "input")
        dev_out = find_device(output_device, host_api, "output")
        rate = rate or int(sd.query_devices(dev_out, "output")["default_samplerate"])
    except (ValueError, sd.PortAudioError) as exc:
        raise click.ClickException(f"{exc} (see `lmdm devices`)") from None
    engine = _engine(model, block, device, margin_ms)
    runner = Live(engine, rate, channels, channels, values, use_tone=input_kind == "tone", record=bool(record),
                  osc_map=sensors)
    if input_kind == "tone":
        stream = sd.OutputStream(samplerate=rate, blocksize=blocksize, device=dev_out, channels=channels,
                                 dtype="float32", callback=lambda o, f, t, s: runner.callback(None, o, f))
    else:
        stream = sd.Stream(samplerate=rate, blocksize=blocksize, device=(dev_in, dev_out), channels=channels,
                           dtype="float32", callback=runner.callback)
    click.echo(f"lmdm live: {engine.name} at {rate} Hz, latency {runner.latency} samples "
               f"({1000 * runner.latency / rate:.1f} ms); Ctrl-C stops")
    for line in prompt_report(runner.session, values):
        click.echo(line)
    runner.start()
    if listener is not None:
        listener.start()
        click.echo(f"osc map listening on {osc_addr.rpartition(':')[0]}:{listener.port}")
    t0 = time.monotonic()
    try:
        with stream:
            while seconds is None or time.monotonic() - t0 < seconds:
                time.sleep(min(1.0, seconds or 1.0))
                st = runner.session.status(0)
                m = sensors.status() if sensors is not None else None
                click.echo(f"  {runner.clock / rate:7.1f} s  underruns {runner.underruns}  "
                           f"compute {st['compute_ms']:.1f} ms"
                           + (f"  map: received {m['received']} unknown {m['unknown']}"
                              + (f" ({m['last_unknown']})" if m["last_unknown"] else "") if m else ""))
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        if listener is not None:
            listener.stop()
    if runner.first_underrun is not None:
        click.echo(f"first underrun at sample {runner.first_underrun} (latency {runner.latency})")
    if record:
        sf.write(record, runner.recording(), rate, subtype="FLOAT")
        click.echo(f"wrote {record}")


@click.command()
@click.option("--zmq", "zmq_addr", default="tcp://127.0.0.1:5555", show_default=True,
              help="the worker's ZeroMQ endpoint; a remote worker: tcp://HOST:5555")
@click.option("--curve-keys", type=click.Path(file_okay=False, exists=True), default=None,
              help="this machine's client folder (`lmdm keys new DIR --client NAME`) for a worker with --curve-keys")
@click.option("--every", type=click.FloatRange(0.1), default=1.0, show_default=True, help="seconds between updates")
@click.option("--once", is_flag=True, help="print one view and exit (status 1 when the worker does not answer)")
def monitor(zmq_addr: str, curve_keys: str | None, every: float, once: bool) -> None:
    """A live view of a running worker: its streams (mode, prompt, latency, compute per block, underruns, gaps),
    queue, memory and OSC map counters. Watching needs no session and changes nothing.

    \b
    Examples:
      lmdm monitor                                        # the worker on this machine
      lmdm monitor --zmq tcp://studio.local:5555 --curve-keys keys/clients/laptop
      lmdm monitor --once                                 # one view, e.g. from cron or ssh
    """
    import time

    from rich.console import Console
    from rich.live import Live

    from bridge.monitor import Probe, view
    from bridge.security import CurveKeys, SecurityError

    try:
        probe = Probe(zmq_addr, CurveKeys.load(curve_keys) if curve_keys else None, timeout=max(2.0, every))
    except SecurityError as exc:
        raise click.ClickException(str(exc)) from None
    heard, console = time.monotonic(), Console()
    if once:
        st = probe.ask()
        console.print(view(st, zmq_addr, probe.timeout, console.width))
        raise SystemExit(0 if st is not None else 1)
    try:
        with Live(view(None, zmq_addr), console=console, refresh_per_second=4, screen=False) as screen:
            while True:
                t0 = time.monotonic()
                st = probe.ask()
                heard = t0 if st is not None else heard
                screen.update(view(st, zmq_addr, time.monotonic() - heard, console.width))
                time.sleep(max(0.0, every - (time.monotonic() - t0)))
    except KeyboardInterrupt:
        pass
    finally:
        probe.close()


@click.command()
def devices() -> None:
    """List audio devices (index, host API, channels, default rate) for `lmdm live`.

    \b
    Examples:
      lmdm devices
      lmdm live --input-device 3 --output-device 3
    """
    import sounddevice as sd

    apis = sd.query_hostapis()
    devs = sd.query_devices()
    if not len(devs):
        click.echo("no audio devices (no sound card, or no audio server such as JACK running)")
        return
    for i, d in enumerate(devs):
        click.echo(f"{i:3d}  {d['name'][:40]:40s}  {apis[d['hostapi']]['name'][:28]:28s}  "
                   f"in {d['max_input_channels']:2d}  out {d['max_output_channels']:2d}  "
                   f"{int(d['default_samplerate'])} Hz")


@click.command()
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--zmq-port", default=5555, show_default=True, help="port `lmdm serve` would bind")
@click.option("--osc-port", default=9000, show_default=True, help="OSC port `lmdm serve` would bind")
@click.option("--device", default="cpu", show_default=True, help="torch device the compute margin is measured on")
@click.option("--calibrate", is_flag=True, help="store the compute margin measured now as the one `lmdm serve` uses")
def doctor(model: str | None, zmq_port: int, osc_port: int, device: str, calibrate: bool) -> None:
    """Check libraries, ports, audio devices and the model; exit status 1 when something needed is broken.

    \b
    Examples:
      lmdm doctor
      lmdm doctor --model ckpt/lmdm.safetensors --zmq-port 6000
      lmdm doctor --calibrate            # measure the compute margin again (on an idle machine) and keep it
    """
    from bridge.doctor import run_checks

    failed = 0
    for ok, what, detail in run_checks(model, zmq_port, osc_port, device, calibrate):
        click.echo(f"{'ok  ' if ok else ('FAIL' if ok is False else 'warn')}  {what:24s} {detail}")
        failed += ok is False
    if failed:
        raise SystemExit(1)


@click.command("bridge")
@click.option("--frames", default=256, show_default=True, help="frames per message for the round trip")
@click.option("--count", default=5000, show_default=True, help="round trips measured")
@click.option("--bps-seconds", default=20.0, show_default=True, help="wall seconds for blocks/s (0 skips)")
@click.option("--model", default=None, help="model for blocks/s (default: the embedded one)")
@click.option("--device", default="cpu", show_default=True, help="torch device for the blocks/s worker")
@click.option("--memory-minutes", default=0.0, show_default=True,
              help="stream in real time this long and report worker RSS each minute (10 for the 1 vs 10 min figure)")
@click.option("--memory-model", default="loopback", show_default=True, help="engine for the memory run")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="also write results here")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="PNG: round-trip histogram (and memory curve)")
def bench_bridge(frames: int, count: int, bps_seconds: float, model: str | None, device: str,
                 memory_minutes: float, memory_model: str, json_path: str | None, plot_path: str | None) -> None:
    """Frame round trip on loopback (p50/p99, no model time), blocks/s with the model, memory over time.

    \b
    Examples:
      lmdm bench bridge                                   # round trip + blocks/s, about 40 s
      lmdm bench bridge --bps-seconds 0 --memory-minutes 10 --json mem.json --plot bridge.png
      lmdm bench bridge --model ckpt/lmdm --device cuda --bps-seconds 60
    """
    import json

    from bridge import bench as B

    results: dict = {}
    rt = results["round_trip"] = B.round_trip(frames=frames, count=count)
    click.echo(f"round trip, loopback, {frames} frames x 2 ch at 48 kHz, {count} messages: "
               f"p50 {rt['p50_ms']:.3f} ms  p99 {rt['p99_ms']:.3f} ms  max {rt['max_ms']:.3f} ms")
    base = results["echo_baseline"] = B.echo_baseline(frames=frames, count=count)
    click.echo(f"baseline, bare pyzmq ROUTER echo, same payload:        "
               f"p50 {base['p50_ms']:.3f} ms  p99 {base['p99_ms']:.3f} ms  max {base['max_ms']:.3f} ms")
    if bps_seconds > 0:
        bps = results["blocks_per_second"] = B.blocks_per_second(bps_seconds, model=model, device=device)
        click.echo(f"model {bps['model']} on {device}: {bps['blocks_per_s']:.2f} blocks/s, "
                   f"{bps['audio_s_per_s']:.2f} s of "
                   f"audio per s, compute {bps['compute_ms_avg']:.1f} ms/block")
    if memory_minutes > 0:
        rows = results["memory"] = []
        for row in B.memory(memory_minutes, model=memory_model):
            rows.append(row)
            click.echo(f"memory after {row['t_s']:7.1f} s: RSS {row['rss_mib']:.1f} MiB")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2, default=str)
    if plot_path:
        B.plot(results, plot_path)
        click.echo(f"wrote {plot_path}")


@click.group()
def keys() -> None:
    """CURVE keys for `lmdm serve --curve-keys DIR` (docs/security.md).

    \b
    Examples:
      lmdm keys new keys                    # the worker's pair: keys/server.key, keys/server.key_secret
      lmdm keys new keys --client laptop    # keys/clients/laptop/ for that machine, and allows its key
      lmdm keys add keys ~/mixer.key        # allow a key made elsewhere (keys/allowed/mixer.key)
      lmdm keys list keys
    """


def _keys_error(fn):
    """SecurityError -> one line and exit status 1."""
    import functools

    from bridge.security import SecurityError

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SecurityError as exc:
            raise click.ClickException(str(exc)) from None
    return run


@keys.command("new")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--client", "client", default=None, metavar="NAME", help="make a client's folder instead")
@click.option("--force", is_flag=True, help="replace an existing server pair (every client must be made again)")
@_keys_error
def keys_new(folder: str, client: str | None, force: bool) -> None:
    """Make the worker's key pair in FOLDER, or with --client NAME a client's folder FOLDER/clients/NAME."""
    from bridge import security

    if client is None:
        path = security.new_server(folder, force)
        click.echo(f"server public key {security.listing(folder)[0][2]} in {path}; the secret stays in "
                   f"{path}_secret")
    else:
        out = security.new_client(folder, client)
        click.echo(f"client {client}: copy {out} to that machine (server.key, client.key, client.key_secret); "
                   f"its key is allowed in {folder}/{security.ALLOWED}")


@keys.command("add")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.argument("key")
@click.option("--name", default=None, help="name on the allow-list (default: the file's name)")
@_keys_error
def keys_add(folder: str, key: str, name: str | None) -> None:
    """Allow a client: KEY is its public certificate file (or a 40-character Z85 key with --name)."""
    from bridge.security import add_client

    click.echo(f"allowed: {add_client(folder, key, name)} (a running worker reads the list at start)")


@keys.command("list")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@_keys_error
def keys_list(folder: str) -> None:
    """The server's public key, the allowed client keys and the client folders made here."""
    from bridge.security import listing

    for role, name, key in listing(folder):
        click.echo(f"{role:8s} {name:20s} {key}")


@click.command("soak")
@click.option("--minutes", type=click.FloatRange(0, min_open=True), default=2.0, show_default=True,
              help="length of the run")
@click.option("--clients", type=click.IntRange(1, 64), default=4, show_default=True,
              help="real-time clients (callbacks of 512, 1024, 2048, 4096 frames in turn, 48 / 44.1 kHz)")
@click.option("--model", default="loopback", show_default=True,
              help="`loopback` (output checked bit-exact), a checkpoint, or \"\" for the embedded model")
@click.option("--block", default=4096, show_default=True, help="loopback block = latency (≥ the largest callback)")
@click.option("--device", default="cpu", show_default=True, help="torch device for model engines")
@click.option("--restart", type=click.Choice(["restart", "kill", "none"]), default="restart", show_default=True,
              help="half way: SIGKILL the worker and start it again at the same address (kill: never again)")
@click.option("--every", "every_s", type=click.FloatRange(0.5), default=5.0, show_default=True, help="seconds per sample")
@click.option("--seed", default=0, show_default=True, help="seed of the parameter changes and the input noise")
@click.option("--pace", type=click.FloatRange(0.1, 10), default=1.0, show_default=True,
              help="client callback speed vs real time (< 1 makes a broken client, to see lateness reported)")
@click.option("--out", "out_prefix", default="soak", show_default=True,
              help="writes OUT.json, OUT.png and OUT.md")
def bench_soak(minutes: float, clients: int, model: str, block: int, device: str, restart: str, every_s: float,
               seed: int, pace: float, out_prefix: str) -> None:
    """Soak: N real-time clients, random parameter changes, one worker restart; lost/late frames, RSS, files.

    Exits with status 1 when frames were lost outside the restart, the loopback output was not bit-exact, or a
    client was not served again after the restart (docs/bench/soak.md).

    \b
    Examples:
      lmdm bench soak --minutes 2 --clients 8 --out loop                  # loopback, bit-exact check
      lmdm bench soak --minutes 2 --clients 2 --model "" --out model      # the embedded model
      lmdm bench soak --minutes 60 --clients 8 --out soak60
    """
    import json
    import shlex

    from tqdm import tqdm

    from bridge import soak, soak_report

    cfg = soak.SoakConfig(minutes=minutes, clients=clients, model=model or None, block=block, device=device,
                          every_s=every_s, restart=restart, seed=seed, pace=pace)
    with tqdm(total=round(minutes * 60), unit="s", desc="soak") as bar:
        def progress(t: float, totals: dict) -> None:
            bar.update(max(0, int(t) - bar.n))
            bar.set_postfix(totals, refresh=False)
        try:
            results = soak.run(cfg, progress)
        except (ValueError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None
    results["command"] = "lmdm " + shlex.join(sys.argv[1:])
    with open(f"{out_prefix}.json", "w") as f:
        json.dump(results, f, indent=1)
    md = soak_report.markdown(results, results["command"])
    with open(f"{out_prefix}.md", "w") as f:
        f.write(md)
    click.echo(md)
    try:
        soak_report.plot(results, f"{out_prefix}.png")
        click.echo(f"wrote {out_prefix}.json, {out_prefix}.png, {out_prefix}.md")
    except ImportError:  # matplotlib comes with the test extra only: keep the figures, say what is missing
        click.echo(f"wrote {out_prefix}.json, {out_prefix}.md (no PNG: pip install matplotlib)")
    if not results["ok"]:
        raise SystemExit(1)


def _counts(value: str | None, hint: str) -> tuple[int, ...]:
    """`N[,N...]` -> the counts, each at least 1."""
    try:
        out = tuple(int(x) for x in value.split(",")) if value else ()
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected N[,N...]", param_hint=hint) from None
    if any(n < 1 for n in out):
        raise click.BadParameter("every N must be at least 1", param_hint=hint)
    return out


@click.command("serve")
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--device", default="cpu", show_default=True, help="torch device of the worker (`lmdm serve --device`)")
@click.option("--batch", type=click.IntRange(1, 4096), default=None,
              help="`lmdm serve --batch` (default: the worker's)")
@click.option("--mode", type=click.Choice(["text", "delay"]), default="text", show_default=True,
              help="text: clients send no input; delay: noise input, encoded every block")
@click.option("--seconds", type=click.FloatRange(1.0), default=10.0, show_default=True, help="length of each trial")
@click.option("--max-clients", type=click.IntRange(1), default=4, show_default=True,
              help="search N = 1, 2, 4, ... up to this, then bisect to the largest N with zero underruns")
@click.option("--clients", default=None, metavar="N[,N...]", help="run these N instead of the search")
@click.option("--frames", type=click.IntRange(64, 8192), default=2048, show_default=True,
              help="client callback in frames (48 kHz)")
@click.option("--steps", type=click.IntRange(1, 64), default=None, help="sampler steps on every stream")
@click.option("--margin-ms", type=float, default=None, help="`lmdm serve --margin-ms` (default: measured or cached)")
@click.option("--graphs/--no-graphs", default=None, help="`lmdm serve --graphs/--no-graphs` [default: on for cuda]")
@click.option("--dtype", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="`lmdm serve --dtype`")
@click.option("--noise", type=click.Choice(["host", "device"]), default="host", show_default=True,
              help="`lmdm serve --noise`")
@click.option("--slots", type=click.IntRange(1, 65536), default=None,
              help="`lmdm serve --slots` (default: the largest N asked for)")
@click.option("--batch-decoder/--no-batch-decoder", default=None,
              help="`lmdm serve --batch-decoder/--no-batch-decoder` [default: its default]")
@click.option("--pooled", is_flag=True, default=False,
              help="with --engine: the slot engine's bookkeeping without CUDA graphs (any device, e.g. the CPU)")
@click.option("--procs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="client processes the client threads are spread over (the bench's own Python is then no limit)")
@click.option("--engine", "engine_ns", default=None, metavar="N[,N...]",
              help="instead: time the worker's engine in this process for these N streams (no sockets), OUT.json")
@click.option("--log", "log_path", default=None, type=click.Path(dir_okay=False), help="the worker's stderr here")
@click.option("--out", "out_prefix", default="bench-serve", show_default=True, help="writes OUT.json and OUT.png")
def bench_serve(model: str | None, device: str, batch: int | None, mode: str, seconds: float, max_clients: int,
                clients: str | None, frames: int, steps: int | None, margin_ms: float | None, graphs: bool | None,
                dtype: str, noise: str, slots: int | None, batch_decoder: bool | None, pooled: bool,
                procs: int, engine_ns: str | None, log_path: str | None, out_prefix: str) -> None:
    """N simulated real-time clients over ZeroMQ to a real `lmdm serve`: underruns, answer latency, compute per block,
    and the largest N with zero underruns (bridge/bench_serve.py has the definitions).

    \b
    Examples:
      lmdm bench serve --max-clients 4 --seconds 20                 # embedded model on the CPU
      lmdm bench serve --device cuda --max-clients 1024 --seconds 60
      lmdm bench serve --clients 1,2 --seconds 5 --batch 1          # fixed N, batching off
      lmdm bench serve --model random:saos-small --device cuda --dtype bf16 --batch 1024 --clients 256,512 \\
          --seconds 60 --procs 8                                    # SAOS-size, random weights
      lmdm bench serve --device cuda --dtype bf16 --engine 1,64,1024  # the engine alone, no sockets
      lmdm bench serve --model random:tiny --engine 1,16,64 --pooled --batch-decoder  # its slot path on the CPU
    """
    import json
    import shlex

    from bridge import bench_serve as B

    fixed, ens = _counts(clients, "--clients"), _counts(engine_ns, "--engine")
    cfg = B.ServeBenchConfig(model=model, device=device, batch=batch, mode=mode, seconds=seconds,
                             max_clients=max_clients, clients=fixed, frames=frames, steps=steps, margin_ms=margin_ms,
                             graphs=graphs, dtype=dtype, noise=noise, slots=slots, batch_decoder=batch_decoder,
                             pooled=pooled, procs=procs, log=log_path)
    if ens:
        _setup_logging(False)
        try:
            results = B.engine_sweep(cfg, list(ens))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        results["command"] = "lmdm " + shlex.join(sys.argv[1:])
        with open(f"{out_prefix}.json", "w") as f:
            json.dump(results, f, indent=1)
        for r in results["rows"]:
            gpu = "-" if r["graph_gpu_ms"] is None else f"{r['graph_gpu_ms']:.2f}"
            click.echo(f"N={r['streams']:5d}  graphs' GPU {gpu} ms  model {r['model_ms']:9.2f} ms  "
                       f"whole step {r['step_ms']:9.2f} ms  "
                       f"real-time streams: model {r['realtime_streams_model']:8.1f}  whole "
                       f"{r['realtime_streams_step']:8.1f}")
        click.echo(f"wrote {out_prefix}.json")
        return

    def report(t: dict) -> None:
        click.echo(f"N={t['clients']:4d}  underruns {t['underruns']:4d} (worker {t['worker_underruns']})  "
                   f"answer p50 {t['latency_p50_ms']} ms  p99 {t['latency_p99_ms']} ms  "
                   f"compute {t['compute_ms_avg']} ms/block  batch {t['batch_max']}  {'ok' if t['ok'] else 'LATE'}"
                   + (f"  errors: {t['errors'][0]}" if t["errors"] else ""))

    try:
        results = B.search(cfg, report)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    results["command"] = "lmdm " + shlex.join(sys.argv[1:])
    with open(f"{out_prefix}.json", "w") as f:
        json.dump(results, f, indent=1)
    click.echo(f"largest N with zero underruns: {results['max_clients']} (searched up to "
               f"{results['searched_up_to']}); wrote {out_prefix}.json")
    try:
        B.plot(results, f"{out_prefix}.png")
        click.echo(f"wrote {out_prefix}.png")
    except ImportError:  # matplotlib comes with the test extra only
        click.echo("no PNG: pip install matplotlib")
