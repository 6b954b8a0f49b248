"""`lmdm service`: the unit written into a temporary XDG_CONFIG_HOME parses (systemd-analyze verify where systemd's
tools are installed; the same checks by hand everywhere), its ExecStart really starts the worker, and uninstall
removes it. No test starts the unit: that would need a running user manager (and would start it on a developer's
machine)."""
from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess

from click.testing import CliRunner

from bridge.cli import main


def lmdm(tmp_path, *args: str):
    """`lmdm service ARGS` in this process (click's runner: a CLI start costs a second), in tmp_path."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return CliRunner().invoke(main, ["service", *args], env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    finally:
        os.chdir(cwd)


def exec_args(line: str) -> list[str]:
    """ExecStart's words as systemd reads them: its quoting is the shell's double quotes, `%%` and `$$` doubled."""
    return shlex.split(line.replace("%%", "%").replace("$$", "$"))


PROMPT = 'prompt=rain 50% "wet" $HOME'


def test_the_unit_parses_and_its_command_starts_the_worker(tmp_path):
    got = lmdm(tmp_path, "install", "--no-start", "--name", "lmdm-test", "--env", "LMDM_CACHE_DIR=/tmp/x y",
               "live", "--model", "loopback", "--set", PROMPT, "--seconds", "1")
    assert got.exit_code == 0, got.output
    unit = tmp_path / "config" / "systemd" / "user" / "lmdm-test.service"
    assert f"wrote {unit}" in got.stdout
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.optionxform = str
    ini.read_string(unit.read_text())
    s = ini["Service"]
    assert (s["Restart"], s["StandardOutput"], s["StandardError"]) == ("on-failure", "journal", "journal")
    assert s["WorkingDirectory"] == str(tmp_path) and ini["Install"]["WantedBy"] == "default.target"
    assert exec_args(s["ExecStart"])[1:] == ["live", "--model", "loopback", "--set", PROMPT, "--seconds", "1"]
    assert "LMDM_CACHE_DIR=/tmp/x y" in exec_args(unit.read_text().split("Environment=PYTHONUNBUFFERED=1\n")[1]
                                                  .splitlines()[0].partition("=")[2])
    if shutil.which("systemd-analyze"):
        runtime = tmp_path / "run"  # its --user mode wants a runtime folder, not a running manager
        runtime.mkdir(mode=0o700)
        verify = subprocess.run(["systemd-analyze", "verify", "--user", str(unit)], capture_output=True, text=True,
                                timeout=60, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
        assert verify.returncode == 0 and str(unit) not in verify.stderr, verify.stderr


def test_the_written_exec_start_runs_lmdm_serve(tmp_path):
    got = lmdm(tmp_path, "install", "--no-start", "serve", "--model", "loopback", "--zmq", "tcp://127.0.0.1:0",
               "--osc", "none")
    assert got.exit_code == 0, got.output
    line = next(x for x in (tmp_path / "config/systemd/user/lmdm.service").read_text().splitlines()
                if x.startswith("ExecStart="))
    worker = subprocess.Popen(exec_args(line.partition("=")[2]), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=tmp_path)
    try:
        assert re.match(r"lmdm serve: model loopback zmq tcp://127\.0\.0\.1:\d+ osc none", worker.stdout.readline())
    finally:
        worker.terminate()
        assert worker.wait(20) == 0  # SIGTERM (systemd's stop) ends it cleanly


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    (tmp_path / "bad.toml").write_text('[[map]]\naddress = "/a"\nparam = "nope"\ninput = [0, 1]\n')
    for args, words in ((["serve", "--bogus"], "No such option '--bogus'"),
                        (["serve", "--osc-map", "bad.toml"], "bad.toml:3: unknown parameter 'nope'"),
                        (["--name", "a b", "serve"], "letters, digits")):
        got = lmdm(tmp_path, "install", "--no-start", *args)
        assert got.exit_code != 0 and words in got.output, got.output
    assert not (tmp_path / "config").exists()


def test_status_force_and_uninstall(tmp_path):
    assert lmdm(tmp_path, "status").exit_code == 3
    assert lmdm(tmp_path, "install", "--no-start", "serve").exit_code == 0
    again = lmdm(tmp_path, "install", "--no-start", "serve", "--model", "loopback")
    assert again.exit_code != 0 and "--force" in again.output
    assert lmdm(tmp_path, "install", "--no-start", "--force", "serve", "--model", "loopback").exit_code == 0
    shown = lmdm(tmp_path, "status")
    assert "lmdm.service" in shown.stdout and "serve --model loopback" in shown.stdout
    gone = lmdm(tmp_path, "uninstall")
    assert gone.exit_code == 0 and not (tmp_path / "config/systemd/user/lmdm.service").exists()
    assert lmdm(tmp_path, "status").exit_code == 3
