"""`lmdm doctor`: checks as (ok, what, detail) rows; ok None means a warning (not needed for serving)."""
from __future__ import annotations

import importlib
import shutil
import socket
from typing import Iterator

from bridge.engines import ModelEngine


def _version(module: str) -> tuple[bool, str]:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:
        return False, f"cannot import: {exc}"
    return True, str(getattr(mod, "__version__", "") or getattr(mod, "VERSION", "") or "present")


def _port_free(kind: int, port: int) -> tuple[bool | None, str]:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return None, f"127.0.0.1:{port} is taken ({exc.strerror}); a worker already running, or pick another"
    return True, f"127.0.0.1:{port} is free"


def run_checks(model: str | None, zmq_port: int, osc_port: int, device: str = "cpu",
               calibrate: bool = False) -> Iterator[tuple[bool | None, str, str]]:
    for module in ("numpy", "zmq", "msgpack", "pythonosc", "soxr", "soundfile", "click", "torch"):
        ok, detail = _version(module)
        yield ok, module, detail
    try:
        import zmq
        yield True, "libzmq", zmq.zmq_version()
    except Exception as exc:
        yield False, "libzmq", str(exc)
    ok, detail = _port_free(socket.SOCK_STREAM, zmq_port)
    yield ok, "zmq port", detail
    ok, detail = _port_free(socket.SOCK_DGRAM, osc_port)
    yield ok, "osc port", detail
    yield from _audio()
    for tool in ("oscsend", "jackd", "pd"):
        path = shutil.which(tool)
        yield (True if path else None), tool, path or "not installed (optional)"
    yield from _model(model, device, calibrate)


def _audio() -> Iterator[tuple[bool | None, str, str]]:
    try:
        import sounddevice as sd
    except Exception as exc:  # PortAudio missing
        yield None, "sounddevice", f"unavailable: {exc} (only `lmdm live` needs it)"
        return
    yield True, "PortAudio", sd.get_portaudio_version()[1]
    devs = sd.query_devices()
    apis = ", ".join(a["name"] for a in sd.query_hostapis())
    yield (True if len(devs) else None), "audio devices", f"{len(devs)} on host APIs: {apis}"


def _model(model: str | None, device: str, calibrate: bool) -> Iterator[tuple[bool | None, str, str]]:
    from bridge.engines import load_engine

    try:
        engine = load_engine(model, device=device)
    except Exception as exc:
        yield False, "model", f"{model or 'embedded'}: {type(exc).__name__}: {exc}"
        return
    info = engine.info(48000)
    stream = engine.open(48000, 2, 2)
    yield True, "model", (f"{info['name']} ({info['kind']}), {info['sample_rate']} Hz, {info['channels']} ch; "
                          f"latency at 48 kHz {stream.latency} samples")
    if isinstance(engine, ModelEngine):
        yield from _margin(engine, calibrate)


def _margin(engine: ModelEngine, calibrate: bool) -> Iterator[tuple[bool | None, str, str]]:
    """The margin `lmdm serve` uses (cached) and one measured now; --calibrate makes the new one the cached one."""
    from bridge import margin as M

    used = M.cached(engine.margin_keys["long"])
    now = M.measure(engine.open_audio())
    now.key = engine.margin_keys["long"]
    if calibrate:
        M.store(now)
    yield (True if now.real_time else None), "compute now", (
        f"one block {now.block_ms:.0f} ms (median of {len(now.blocks_ms)}, plays {now.audio_ms:.0f} ms): margin "
        f"{now.margin_ms:.0f} ms{'' if now.real_time else '; NOT real time on this device'}")
    if calibrate:
        yield True, "compute margin", f"{now.margin_ms:.0f} ms, stored in {M.cache_path()}"
    elif used is not None:
        yield True, "compute margin", (f"{used.margin_ms:.0f} ms in use (cached {used.measured_at}, block "
                                       f"{used.block_ms:.0f} ms; `lmdm doctor --calibrate` replaces it)")
