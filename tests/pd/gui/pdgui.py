"""Open a patch in the real Pd GUI (Debian puredata-gui) under Xvfb and read back how Tk drew it.

lmdm-layout-plugin.tcl (beside this file, loaded by pd-gui from the search path) writes every canvas item's bounding
box once the window stands still, optionally grabs the window as PNG, and quits Pd. This module runs that and turns
the dump into boxes, cords and windows for tests/layout.py. As a command it writes the screenshots of docs/pd.md:
`python tests/pd/gui/pdgui.py docs/pd patches/pd/*.pd` (make pd-screenshots).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))
from tests.layout import Box, Cord, Rect  # noqa: E402

SCREEN = (1440, 900)   # a common laptop screen: every patch window must fit on it
_PART = re.compile(r"^(\.x[0-9a-f]+\.t[0-9a-f]+)(R|i\d+|o\d+)?$")


@dataclass
class Window:
    name: str
    patch: str
    width: int
    height: int
    scrollbars: bool


@dataclass
class Drawn:
    """One GUI run: the font Tk used, the patch windows, every box (text and border together) and every cord."""
    font: tuple[str, int, str]
    windows: list[Window]
    boxes: list[Box] = field(default_factory=list)
    cords: list[Cord] = field(default_factory=list)
    output: str = ""


def missing_tools(shots: bool = False) -> list[str]:
    """What a run needs and this machine lacks: Pd, its Tk GUI and Xvfb (scripts/install.sh --test installs them);
    for screenshots also ImageMagick's `import` (Debian imagemagick, not part of the test install)."""
    tools = ("pd", "xvfb-run", "xauth") + (("import",) if shots else ())
    return [t for t in tools if shutil.which(t) is None] + (
        [] if Path("/usr/lib/puredata/tcl/pd-gui.tcl").is_file() else ["puredata-gui"])


def run_gui(patch: Path, dump: Path, shots: Path | None = None, timeout: float = 60) -> Drawn:
    """Open `patch` alone in Pd with its GUI on a fresh Xvfb screen; parse what the plugin wrote to `dump`."""
    env = {**os.environ, "LMDM_LAYOUT_OUT": str(dump)}
    if shots is not None:
        env["LMDM_LAYOUT_SHOTS"] = str(shots)
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24",
           "pd", "-noprefs", "-nosound", "-nrt", "-stderr", "-path", str(ROOT / "bridge/pd"), "-path", str(HERE),
           "-open", str(patch)]
    # its own session: on a timeout xvfb-run, Xvfb, pd and pd-gui all go, not only xvfb-run
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise RuntimeError(f"pd with its GUI did not quit within {timeout} s:\n{out}") from None
    if Path(f"{dump}.error").is_file():
        raise RuntimeError(f"layout plugin failed: {Path(f'{dump}.error').read_text()}\n{out}")
    if not dump.is_file():
        raise RuntimeError(f"the layout plugin wrote nothing (pd exit {proc.returncode}):\n{out}")
    drawn = parse(dump.read_text())
    drawn.output = out
    return drawn


def parse(text: str) -> Drawn:
    font = ("", 0, "")
    windows: list[Window] = []
    parts: dict[str, list[tuple[str, Rect, str, str]]] = defaultdict(list)
    lines: list[list[float]] = []
    for row in text.splitlines():
        f = row.split("\t")
        if f[0] == "font":
            font = (f[1], int(f[2]), f[3])
        elif f[0] == "window":
            windows.append(Window(f[1], f[2], int(f[3]), int(f[4]), f[5] == "1" or f[6] == "1"))
        elif f[0] == "item":
            kind, rect, tags, text_ = f[3], Rect(*map(float, f[4:8])), f[8].split(), f[9] if len(f) > 9 else ""
            if "cord" in tags:
                lines.append([float(v) for v in text_.split()])
                continue
            m = _PART.match(tags[0]) if tags else None
            if m:
                parts[m.group(1)].append((kind, rect, text_, " ".join(tags[1:])))
    drawn = Drawn(font, windows)
    for key, items in parts.items():
        rect = items[0][1]
        for _, r, _, _ in items[1:]:
            rect = rect.union(r)
        label = next((t for k, _, t, _ in items if k == "text"), key)
        comment = any(k == "text" and tags.split()[:1] == ["text"] for k, _, _, tags in items)
        drawn.boxes.append(Box(key, label.replace("\\n", " "), rect, comment))
    for xy in lines:
        a, b = (xy[0], xy[1]), (xy[-2], xy[-1])
        drawn.cords.append(Cord(_box_at(drawn.boxes, a), _box_at(drawn.boxes, b), a, b))
    return drawn


def _box_at(boxes: list[Box], point: tuple[float, float], slack: float = 2.0) -> str:
    """The box a cord end touches (an outlet at its bottom edge, an inlet at its top)."""
    x, y = point
    for b in boxes:
        r = b.rect
        if r.x1 - slack <= x <= r.x2 + slack and r.y1 - slack <= y <= r.y2 + slack:
            return b.key
    return ""


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.argument("patches", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def main(out: Path, patches: tuple[Path, ...]) -> None:
    """Screenshot each patch as the real Pd GUI draws it, into OUT/<patch>.png."""
    if missing_tools(shots=True):
        raise click.ClickException(f"missing: {', '.join(missing_tools(shots=True))} (scripts/install.sh --test and "
                                   "apt-get install imagemagick)")
    out.mkdir(parents=True, exist_ok=True)
    for patch in patches:
        dump = out / f".{patch.stem}.layout"
        drawn = run_gui(patch.resolve(), dump, shots=out.resolve())
        dump.unlink()
        click.echo(f"{out / (patch.stem + '.png')}: {len(drawn.boxes)} boxes, window "
                   f"{drawn.windows[0].width}x{drawn.windows[0].height}")


if __name__ == "__main__":
    main()
