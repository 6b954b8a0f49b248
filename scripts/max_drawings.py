"""Drawings of the Max package's patchers from their JSON, for docs/max.md (Max itself cannot run here): every box at
its patching_rect with its text, comments without a border, patchlines from outlet to inlet; a second drawing of the
presentation view where a patcher has one. `python scripts/max_drawings.py docs/max` (make max-drawings)."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click
import matplotlib

matplotlib.use("Agg")   # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.maxpat import MaxBox, MaxPatcher, package_files, port_xy, read  # noqa: E402

FILL = {"message": "#e8e8e8", "newobj": "#f7f7f7", "comment": "none", "inlet": "#c8d8f0", "outlet": "#c8d8f0",
        "panel": "#f0f0f0"}
DPI = 100
FONT_PT = 12 * 72 / DPI * 0.92   # Max's 12 px text at one image pixel per Max pixel (DejaVu runs wider than Arial)
CHAR_PX = 6.2


def draw(p: MaxPatcher, out: Path, presentation: bool = False) -> Path:
    """One patcher as a PNG at 1 px per Max pixel, its window's size."""
    _, _, width, height = p.rect
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    shown: dict[str, tuple[float, float, float, float]] = {}
    for b in p.boxes:
        rect = b.presentation if presentation else b.rect
        if rect is not None:
            shown[b.id] = rect
            _box(ax, b, rect)
    if not presentation:
        for line in p.lines:
            src, dst = p.box(line.source[0]), p.box(line.sink[0])
            a = port_xy(src.rect, line.source[1], src.outlets, bottom=True)
            z = port_xy(dst.rect, line.sink[1], dst.inlets, bottom=False)
            ax.plot([a[0], z[0]], [a[1], z[1]], color="#333333", linewidth=0.8, zorder=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, facecolor="white")
    plt.close(fig)
    # a few grey levels are all a line drawing has: a palette PNG is a fifth of the size in git
    Image.open(out).convert("L").quantize(32).save(out, optimize=True)
    return out


def _box(ax, b: MaxBox, rect) -> None:
    x, y, w, h = rect
    label = b.text or {"comment": "", "inlet": "in", "outlet": "out", "button": "o"}.get(b.maxclass, b.maxclass)
    if b.maxclass != "comment":
        ax.add_patch(Rectangle((x, y), w, h, facecolor=FILL.get(b.maxclass, "#ffffff"), edgecolor="#444444",
                               linewidth=0.8, zorder=2))
    # Max wraps a box's text at its width: Arial 12 averages about 6 px a character
    lines = (textwrap.wrap(label, max(1, int((w - 6) / CHAR_PX))) or [""]) if b.maxclass == "comment" else [label]
    ax.text(x + 3, y + 3, "\n".join(lines), fontsize=FONT_PT, va="top", ha="left", family="DejaVu Sans", zorder=3,
            linespacing=1.15)


def slug(where: str) -> str:
    """lmdm.bridge.maxhelp/p basic -> lmdm.bridge.maxhelp-basic"""
    head, *tabs = where.split("/")
    return "-".join([head] + [t.removeprefix("p ").replace(" ", "-") for t in tabs])


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def main(out: Path) -> None:
    """Draw every patcher of patches/max/lmdm (and its presentation view) into OUT/*.png."""
    for f in package_files():
        for p in read(f).walk():
            if not p.boxes or (p.children and all(b.maxclass == "newobj" for b in p.boxes)):
                continue   # the help's top level only holds the tabs: each tab gets its own drawing
            click.echo(draw(p, out / f"{slug(p.where)}.png"))
            if any(b.presentation for b in p.boxes):
                click.echo(draw(p, out / f"{slug(p.where)}-presentation.png", presentation=True))


if __name__ == "__main__":
    main()
