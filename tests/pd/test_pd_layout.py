"""Every shipped Pd patch as the real Pd GUI draws it (Debian puredata-gui under Xvfb, DejaVu Sans Mono as a Linux
user has it): no two boxes or comments overlap, no cord runs across a comment, and the saved window shows
the whole patch at 100 % without scrollbars and fits a 1440x900 screen with its title bar. Bounding boxes come from Tk's own canvas
(tests/pd/gui/lmdm-layout-plugin.tcl), not from estimates of text width."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "gui"))
from pdgui import SCREEN, Drawn, missing_tools, run_gui  # noqa: E402

from pdrun import PATCHES  # noqa: E402
from tests.layout import bounds, crossings, describe, overlapping  # noqa: E402

SHIPPED = sorted(PATCHES.glob("*.pd"))
TITLE_BAR = 30


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, Drawn]:
    if missing_tools():
        pytest.fail(f"missing {', '.join(missing_tools())}: run scripts/install.sh --test")
    out = tmp_path_factory.mktemp("layout")
    return {p.name: run_gui(p, out / f"{p.stem}.txt") for p in SHIPPED}


def test_all_six_patches_are_checked():
    assert {p.name for p in SHIPPED} >= {"lmdm~-help.pd", "generative-delay.pd", "text-to-music.pd", "jam.pd",
                                         "sketch.pd", "sensors.pd"}


@pytest.mark.parametrize("name", [p.name for p in SHIPPED])
def test_patch_is_drawn_in_dejavu_sans_mono(drawn, name: str):
    d = drawn[name]
    assert d.font[0] == "DejaVu Sans Mono", (d.font, d.output)   # other fonts have other widths: the check would lie
    assert len(d.windows) == 1 and d.windows[0].patch == name, d.windows
    assert len(d.boxes) > 10, d.output


@pytest.mark.parametrize("name", [p.name for p in SHIPPED])
def test_no_box_or_comment_overlaps_another(drawn, name: str):
    pairs = overlapping(drawn[name].boxes)
    assert not pairs, f"{len(pairs)} overlapping pairs in {name}:\n{describe(pairs)}"


@pytest.mark.parametrize("name", [p.name for p in SHIPPED])
def test_no_cord_runs_across_a_comment(drawn, name: str):
    crossed = crossings(drawn[name].boxes, drawn[name].cords)
    assert not crossed, f"{len(crossed)} cords across comments in {name}:\n" + "\n".join(
        f"  {c.a} -> {c.b} through {b.label!r}" for c, b in crossed)


@pytest.mark.parametrize("name", [p.name for p in SHIPPED])
def test_window_shows_the_whole_patch(drawn, name: str):
    d = drawn[name]
    win = d.windows[0]
    whole = bounds(d.boxes)
    assert whole.inside(win.width, win.height) and not win.scrollbars, (
        f"{name}: the patch spans {whole}, the window shows 0..{win.width} x 0..{win.height}"
        f"{' with scrollbars' if win.scrollbars else ''}")
    header = (PATCHES / name).read_text().split(";", 1)[0].split()   # #N canvas x y w h font
    x, y, w, h = (int(v) for v in header[2:6])
    # a window manager adds a title bar above the canvas
    assert x + w <= SCREEN[0] and y + h + TITLE_BAR <= SCREEN[1], (
        f"{name}: the window {w}x{h}+{x}+{y} and its title bar are off a {SCREEN} screen")
