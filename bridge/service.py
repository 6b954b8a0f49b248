"""`lmdm service install|uninstall|status`: `lmdm serve` or `lmdm live` as a systemd user unit, for a machine that
runs with nobody at the keyboard (docs/installations.md "The service").

The unit restarts the worker when it fails, logs to the journal (`journalctl --user -u NAME`), and starts with the
user's manager (at boot too after `loginctl enable-linger`). The options after `serve` / `live` are checked by that
command's own parser (and a map file by its loader) when the unit is written, not at 3 a.m. when it first restarts.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click

NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def unit_dir() -> Path:
    """Where systemd looks for user units: $XDG_CONFIG_HOME/systemd/user (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def unit_path(name: str) -> Path:
    return unit_dir() / f"{name}.service"


def quote(arg: str) -> str:
    """One ExecStart argument in systemd's syntax: quoted when it holds spaces or quotes; `%` and `$` doubled
    (specifiers and variables there)."""
    if not SAFE.match(arg):
        arg = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg.replace("%", "%%").replace("$", "$$")


def lmdm_program() -> str:
    """The `lmdm` of this installation (the venv's script next to this Python), else the one on PATH."""
    here = Path(sys.executable).with_name("lmdm")
    found = str(here) if here.exists() else shutil.which("lmdm")
    if found is None:
        raise click.ClickException("cannot find the `lmdm` program (pip install lmdm into a virtual environment)")
    return str(Path(found).absolute())


def unit_text(command: str, args: list[str], workdir: str, env: dict[str, str], name: str) -> str:
    exec_start = " ".join(quote(a) for a in [lmdm_program(), command, *args])
    env_lines = "".join(f"Environment={quote(f'{k}={v}')}\n" for k, v in sorted(env.items()))
    return f"""\
# Written by `lmdm service install` (docs/installations.md). Change it with `lmdm service install --force ...`.
[Unit]
Description=lmdm {command} ({name})

[Service]
Type=simple
ExecStart={exec_start}
WorkingDirectory={workdir.replace("%", "%%")}
Environment=PYTHONUNBUFFERED=1
{env_lines}Restart=on-failure
RestartSec=3
StandardOutput=journal
StandardError=journal
SyslogIdentifier={name}
TimeoutStopSec=30

[Install]
WantedBy=default.target
"""


def check_args(command: str, args: list[str]) -> None:
    """Parse the options with `lmdm serve` / `lmdm live` themselves (nothing runs), and load a map file named."""
    from bridge import commands
    from bridge.oscmap import MapError, load

    cmd = commands.serve if command == "serve" else commands.live
    try:
        ctx = cmd.make_context(f"lmdm {command}", list(args))
    except click.ClickException as exc:
        raise click.ClickException(f"lmdm {command} {' '.join(args)}: {exc.format_message()}") from None
    if ctx.params.get("osc_map"):
        try:
            load(ctx.params["osc_map"])
        except MapError as exc:
            raise click.ClickException(f"--osc-map {exc}") from None


def systemctl(*args: str) -> subprocess.CompletedProcess | None:
    """`systemctl --user ARGS`, or None where there is no systemctl (macOS, containers without systemd)."""
    if shutil.which("systemctl") is None:
        return None
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=60)


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not NAME.match(value):
        raise click.BadParameter(f"{value!r}: letters, digits and _ . @ - only")
    return value


def name_option(help: str = "the unit's name"):
    return click.option("--name", default="lmdm", show_default=True, callback=_name, help=help)


@click.group()
def service() -> None:
    """`lmdm serve` or `lmdm live` as a systemd user service: restarted on failure, logged to the journal.

    \b
    Examples:
      lmdm service install serve --zmq tcp://0.0.0.0:5555 --curve-keys ~/keys --osc-map ~/sensors.toml
      lmdm service install --name lmdm-room live --osc-map sensors.toml --set prompt="rain"
      lmdm service status
      lmdm service uninstall
    """


@service.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@name_option("the unit's name (NAME.service)")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="an environment variable for the worker")
@click.option("--no-start", is_flag=True, help="write the unit only (do not enable and start it)")
@click.option("--force", is_flag=True, help="replace a unit of that name")
@click.argument("command", type=click.Choice(["serve", "live"]))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def install(name: str, env: tuple[str, ...], no_start: bool, force: bool, command: str, args: tuple[str, ...]) -> None:
    """Write ~/.config/systemd/user/NAME.service running `lmdm COMMAND ARGS...`, then enable and start it.

    Relative paths in ARGS are taken from the current folder (the unit's WorkingDirectory).

    \b
    Examples:
      lmdm service install serve --model loopback
      lmdm service install --no-start serve --osc 0.0.0.0:9000 --osc-allow 192.168.1.0/24 --osc-map map.toml
    """
    path = unit_path(name)
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: pass --force to replace it (or `lmdm service uninstall`)")
    pairs = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--env")
        pairs[key] = value
    check_args(command, list(args))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(command, list(args), os.getcwd(), pairs, name))
    click.echo(f"wrote {path}")
    if no_start:
        click.echo(f"start it with: systemctl --user daemon-reload && systemctl --user enable --now {name}")
        return
    for step in (("daemon-reload",), ("enable", "--now", name)):
        done = systemctl(*step)
        if done is None or done.returncode != 0:
            why = "no systemctl here" if done is None else (done.stderr.strip() or f"exit {done.returncode}")
            raise click.ClickException(f"systemctl --user {' '.join(step)} failed ({why}); the unit is written: "
                                       f"start it with `systemctl --user enable --now {name}` where systemd runs")
    click.echo(f"{name} enabled and started; logs: journalctl --user -u {name} -f; at boot without a login: "
               "loginctl enable-linger $USER")


@service.command()
@name_option()
def uninstall(name: str) -> None:
    """Stop and disable the unit, and remove its file.

    \b
    Examples:
      lmdm service uninstall
      lmdm service uninstall --name lmdm-room
    """
    path = unit_path(name)
    if not path.exists():
        raise click.ClickException(f"no unit {path}")
    stopped = systemctl("disable", "--now", name)
    path.unlink()
    systemctl("daemon-reload")
    click.echo(f"removed {path}" + ("" if stopped is not None and stopped.returncode == 0 else
                                    " (systemctl could not stop it: it was not running under a user manager here)"))


@service.command()
@name_option()
def status(name: str) -> None:
    """The unit's file and command, and `systemctl --user status` where a user manager runs.

    \b
    Examples:
      lmdm service status
      lmdm service status --name lmdm-room
    """
    path = unit_path(name)
    if not path.exists():
        click.echo(f"{name}: not installed ({path} does not exist)")
        raise SystemExit(3)  # systemctl's "not running" status
    exec_start = next((line for line in path.read_text().splitlines() if line.startswith("ExecStart=")), "")
    click.echo(f"{name}: {path}\n  {exec_start}")
    shown = systemctl("status", "--no-pager", "--lines", "20", name)
    if shown is None or "Failed to connect" in shown.stderr:
        click.echo("  (no systemd user manager here: `systemctl --user status` cannot say whether it runs)")
        return
    click.echo(shown.stdout + shown.stderr, nl=False)
    raise SystemExit(shown.returncode)
