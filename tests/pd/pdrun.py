"""Helpers of the Pd tests: build lmdm~, run real headless Pd, start a real `lmdm serve`, free ports.

Pd runs as `pd -nogui -nosound -nrt` (real time, sockets polled; `-batch` would never poll them) and every run has a
timeout. Patches under test are written per test so they can carry the worker's address as a creation argument.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
PD_DIR = ROOT / "bridge" / "pd"
PATCHES = ROOT / "patches" / "pd"
LMDM = Path(sys.executable).parent / "lmdm"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_pd(patch: Path, sends: tuple[str, ...] = (), extra_open: tuple[Path, ...] = (),
             paths: bool = True, pd: tuple[str, ...] = ("pd",), flags: tuple[str, ...] = ()) -> subprocess.Popen:
    """Open `patch` in headless real-time Pd (sockets polled, DSP paced by the system clock).

    `paths`: put bridge/pd and patches/pd on Pd's search path (False: the patch must find lmdm~ by itself).
    `pd`: the Pd command (e.g. an arm64 Pd under qemu-user); `flags`: more Pd flags (`-nostdpath`, `-path DIR`)."""
    cmd = [*pd, "-nogui", "-nosound", "-nrt", "-noprefs", "-stderr", *flags]
    if paths:
        cmd += ["-path", str(PD_DIR), "-path", str(PATCHES)]
    cmd += ["-open", str(patch)]
    for p in extra_open:
        cmd += ["-open", str(p)]
    for s in sends:
        cmd += ["-send", s]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_pd(proc: subprocess.Popen, timeout: float) -> str:
    """Wait for Pd to quit itself (or kill it after `timeout`); return its output."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        out += "\n[test: pd killed after timeout]\n"
    return out


def run_pd(patch: Path, timeout: float, sends: tuple[str, ...] = (), extra_open: tuple[Path, ...] = (),
           paths: bool = True, pd: tuple[str, ...] = ("pd",), flags: tuple[str, ...] = ()) -> str:
    return finish_pd(start_pd(patch, sends, extra_open, paths, pd, flags), timeout)


class Serve:
    """A real `lmdm serve` subprocess on free ports: `--model loopback --block N`, or `model` (a checkpoint path)."""

    def __init__(self, port: int | None = None, block: int = 4096, args: tuple[str, ...] = (),
                 model: str = "loopback", start_s: float = 30) -> None:
        self.args = args   # more `lmdm serve` options, e.g. ("--curve-keys", DIR)
        self.model, self.start_s = model, start_s
        self.port = port or free_port()
        self.osc = free_port(socket.SOCK_DGRAM)
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.block = block
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="lmdm-serve-", suffix=".log", delete=False)

    def start(self) -> "Serve":
        cmd = [str(LMDM), "serve", "--model", self.model, "--block", str(self.block), "--zmq", self.address,
               "--osc", f"127.0.0.1:{self.osc}", "--osc-reply", "none", *self.args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lmdm serve exited: {self.output()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"lmdm serve did not listen within {self.start_s} s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the worker and delete its log (read output() before)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self.log.closed:
            self.log.close()
            os.unlink(self.log.name)


def quitter(tmp_path: Path) -> Path:
    """A second patch that turns DSP on and quits 1.5 s later (before lmdm~ would report a missing worker at 3 s)."""
    path = tmp_path / "quit.pd"
    path.write_text("#N canvas 0 0 300 200 12;\n#X obj 10 10 loadbang;\n#X msg 10 40 \\; pd dsp 1;\n"
                    "#X obj 10 70 delay 1500;\n#X msg 10 100 \\; pd quit;\n"
                    "#X connect 0 0 1 0;\n#X connect 0 0 2 0;\n#X connect 2 0 3 0;\n")
    return path


def build_deken(archs: str, out: Path) -> Path:
    """`make -C bridge/pd deken DEKEN_ARCHS=<archs> dekdir=<out>` (Debian's deken tool): the .dek it wrote."""
    subprocess.run(["make", "-s", "-C", str(PD_DIR), "deken", f"DEKEN_ARCHS={archs}", f"dekdir={out}"], check=True,
                   capture_output=True, timeout=300)
    deks = list(out.glob("*.dek"))
    assert len(deks) == 1, deks
    return deks[0]


def loaded_from(output: str) -> list[str]:
    """The files Pd opened or loaded, from its -verbose output."""
    return re.findall(r"tried (\S+) and succeeded", output)


def errors_in(output: str) -> list[str]:
    """Lines of Pd output that report an error or a failed object."""
    return [line for line in output.splitlines()
            if "error" in line.lower() or "couldn't create" in line or "connection failed" in line]


def recording_patch(path: Path, address: str, seconds: float, wav_in: Path, wav_out: Path,
                    events: tuple[tuple[float, str], ...] = (), flags: str = "") -> Path:
    """A patch: noise~ -> lmdm~ 1 1 -> recorded with tabwrite~; input and output saved with soundfiler, then quit.

    Recording starts 1.5 s after load (both arrays on the same DSP tick, so their lag is the latency). `events`
    are (seconds after load, message) pairs sent to the receiver `ev` (e.g. "bang" to print lmdm~'s status).
    `flags`: more creation arguments of lmdm~ (e.g. "-block-size short").
    """
    n = int(44100 * seconds)
    start_ms = 1500
    end_ms = start_ms + int(seconds * 1000) + 300
    lines = [
        "#N canvas 0 0 900 600 12;",
        "#X obj 10 10 loadbang;",                                   # 0
        "#X msg 10 40 \\; pd dsp 1;",                              # 1
        f"#X obj 10 70 delay {start_ms};",                          # 2
        "#X obj 200 80 noise~;",                                    # 3
        f"#X obj 200 140 lmdm~ 1 1 {address} pdtest {flags};".replace(" ;", ";"),  # 4
        "#X obj 200 220 tabwrite~ in;",                             # 5
        "#X obj 320 220 tabwrite~ out;",                            # 6
        "#X obj 480 220 print info;",                               # 7
        f"#X obj 10 100 delay {end_ms};",                           # 8
        "#X obj 10 130 t b b b;",                                   # 9
        f"#X msg 60 300 write -bytes 4 {wav_in} in \\, write -bytes 4 {wav_out} out;",  # 10
        "#X obj 60 330 soundfiler;",                                # 11
        "#X obj 10 360 delay 500;",                                 # 12
        "#X msg 10 390 \\; pd quit;",                              # 13
        f"#X obj 600 10 table in {n};",                             # 14
        f"#X obj 600 40 table out {n};",                            # 15
        "#X obj 480 100 r ev;",                                     # 16
    ]
    conns = [(0, 0, 1, 0), (0, 0, 2, 0), (2, 0, 5, 0), (2, 0, 6, 0), (0, 0, 8, 0), (8, 0, 9, 0), (9, 2, 4, 0),
             (9, 1, 10, 0), (10, 0, 11, 0), (9, 0, 12, 0), (12, 0, 13, 0), (3, 0, 4, 0), (3, 0, 5, 0),
             (4, 0, 6, 0), (4, 1, 7, 0), (16, 0, 4, 0)]
    for k, (when, msg) in enumerate(events):
        base = len(lines) - 1   # object numbers do not count the "#N canvas" line
        lines += [f"#X obj 700 {100 + 60 * k} delay {int(when * 1000)};", f"#X msg 700 {130 + 60 * k} {msg};"]
        conns += [(0, 0, base, 0), (base, 0, base + 1, 0), (base + 1, 0, 4, 0)]
    lines += [f"#X connect {a} {b} {c} {d};" for a, b, c, d in conns]
    path.write_text("\n".join(lines) + "\n")
    return path


def reported(output: str, key: str) -> list[list[float]]:
    return [[float(v) for v in m.group(1).split()] for m in re.finditer(rf"^info: {key} (.*)$", output, re.M)]


def reported_words(output: str, key: str) -> list[str]:
    """The info outlet's symbol messages, e.g. `block_size short`, in order."""
    return [m.group(1).strip() for m in re.finditer(rf"^info: {key} (.*)$", output, re.M)]


def dropouts(y: np.ndarray, x: np.ndarray, start: int, lag: int) -> str:
    bad = np.flatnonzero(y[start:] != x[start - lag:len(x) - lag]) + start
    runs = np.split(bad, np.flatnonzero(np.diff(bad) != 1) + 1) if bad.size else []
    return ", ".join(f"{len(r)} samples at {r[0]}" for r in runs[:10])


def check_loopback(out: str, wav_in: Path, wav_out: Path, block: int, seconds: float) -> None:
    """A recording_patch run against `lmdm serve --model loopback --block block`: the input is found again at exactly
    the reported latency, from the first output sample on, with no sample missing and no underrun."""
    assert not errors_in(out), out
    latency = reported(out, "latency")
    assert latency and latency[-1][0] == block, out
    x, rate = sf.read(wav_in, dtype="float32")
    y, _ = sf.read(wav_out, dtype="float32")
    assert rate == 44100 and len(x) == len(y) == int(44100 * seconds)
    lag = int(latency[-1][0])
    # The output starts once the session is open (before recording here); from its first sample on, every sample
    # must be the input exactly `lag` samples earlier: a dropout would be a run of zeros, a slip a shifted match.
    live = np.flatnonzero(y)
    assert live.size, "no output at all"
    start = max(int(live[0]), lag)
    assert start < 2 * 44100, f"output began only at sample {start}"
    missing = dropouts(y, x, start, lag)
    assert not missing, f"output differs from the input {lag} samples earlier: {missing}\n{out}"
    assert len(y) - start >= 44100 * (seconds - 1)
    underruns = reported(out, "underruns")
    assert underruns and underruns[-1][0] == 0, out


# --- the worker a patch starts itself (lmdm~ -spawn; tests/pd/test_pd_spawn.py, tests/pd/bench_spawn.py) ---------------

SPAWNED = re.compile(r"spawn: started worker pid (\d+)")


def spawn_command(model: str = "loopback", block: int = 16384) -> str:
    """`spawncmd` words: this environment's `lmdm serve` with OSC on a free port (the default 9000 may be taken)."""
    return (f"spawncmd {LMDM} serve --model {model} --block {block} --osc 127.0.0.1:{free_port(socket.SOCK_DGRAM)} "
            "--osc-reply none")


def processes_with(word: str) -> list[int]:
    """Pids of live processes (zombies left out) whose command line holds `word`, e.g. a worker's address."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if word in cmdline and state != "Z" and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def gone_within(word: str, seconds: float) -> list[int]:
    """Wait until no process holds `word` in its command line; the ones still there after `seconds`."""
    deadline = time.monotonic() + seconds
    while (left := processes_with(word)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


class PdWatch:
    """Headless Pd whose output is read while it runs (start_pd's arguments), for tests that act on what it posts."""

    def __init__(self, patch: Path, **kw) -> None:
        import threading

        self.proc = start_pd(patch, **kw)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match:
        """The first match of `pattern` in a line from line `after` on; fails with the output after `timeout`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if m := rx.search(line):
                    return m
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{self.output}")

    def finish(self, timeout: float) -> str:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.lines.append("[test: pd killed after timeout]")
        self._reader.join(timeout=5)
        return self.output
