"""The other subcommands as a user runs them: generate (offline, same engine), devices, doctor, --help."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

LMDM = str(Path(sys.executable).with_name("lmdm"))


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([LMDM, *args], capture_output=True, text=True, timeout=timeout)


def test_generate_through_loopback_gives_the_input_back(tmp_path):
    x = np.random.default_rng(1).uniform(-1, 1, (44100 * 2 + 17, 2)).astype(np.float32)
    sf.write(tmp_path / "in.wav", x, 44100, subtype="FLOAT")
    r = run("generate", "--model", "loopback", "-i", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"),
            "--set", "gain=0.5")
    assert r.returncode == 0, r.stderr
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert rate == 44100 and len(y) == len(x)
    assert np.array_equal(y, x * np.float32(0.5))


def test_generate_tells_which_prompt_words_the_shipped_model_understood(tmp_path):
    from lmdm_core.pipeline import load_model

    vocab = load_model(None).text.cfg.vocab
    known = next(w for w in ("quartet", "strings", "violin", "piano", "organ") if w in vocab)
    r = run("generate", "-o", str(tmp_path / "t.wav"), "--seconds", "1", "--set", "mode=text", "--set", "steps=1",
            "--set", f"prompt={known} zzzqx")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("prompt: "))
    assert line == f"prompt: understood {known}; not understood zzzqx"


def test_generate_refuses_bad_settings_clearly(tmp_path):
    r = run("generate", "--model", "loopback", "-o", str(tmp_path / "o.wav"), "--set", "mode=karaoke")
    assert r.returncode != 0 and "mode must be one of" in r.stderr
    r = run("generate", "--model", str(tmp_path / "missing.ckpt"), "-o", str(tmp_path / "o.wav"))
    assert r.returncode != 0 and "cannot load model" in r.stderr


@pytest.mark.parametrize("cmd", ["serve", "generate", "live", "devices", "doctor", "bench bridge", "bench soak",
                                 "monitor", "service", "service install", "service uninstall", "service status"])
def test_every_command_has_help_with_examples(cmd):
    from click.testing import CliRunner

    from bridge.cli import main

    r = CliRunner().invoke(main, [*cmd.split(), "--help"])
    assert r.exit_code == 0 and "Examples:" in r.output and "lmdm " in r.output


def test_devices_and_doctor_run(tmp_path):
    r = run("devices")
    assert r.returncode == 0 and r.stdout.strip()
    r = run("doctor", "--model", "loopback", "--zmq-port", "1", "--osc-port", "1")
    assert "zmq port" in r.stdout and "model" in r.stdout and "loopback" in r.stdout
    r = run("doctor", "--model", str(tmp_path / "nope"))
    assert r.returncode == 1 and "FAIL  model" in r.stdout


def test_serve_refuses_a_missing_or_broken_model_in_one_line(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{}")
    for model in (tmp_path / "missing", tmp_path / "broken"):
        r = run("serve", "--model", str(model), "--zmq", "tcp://127.0.0.1:0", "--osc", "none")
        assert r.returncode != 0 and "cannot load model" in r.stderr and "Traceback" not in r.stderr
