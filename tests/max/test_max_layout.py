"""The Max package's patchers laid out cleanly, read from their JSON (Max cannot run here): no two boxes overlap in
patching mode (patching_rect) or in presentation mode (presentation_rect), no patchline runs across a comment, every
patcher's window shows all its boxes at 100 %, and the help file and the examples have a presentation view of the
controls a player touches (the examples open in it)."""
from __future__ import annotations

import textwrap

import pytest

from scripts.maxpat import MaxPatcher, package_files, port_xy, read
from tests.layout import Box, Cord, Rect, bounds, crossings, describe, overlapping

FILES = package_files()


def patchers() -> list[MaxPatcher]:
    return [p for f in FILES for p in read(f).walk()]


def boxes(p: MaxPatcher, presentation: bool = False) -> list[Box]:
    out = []
    for b in p.boxes:
        rect = b.presentation if presentation else b.rect
        if rect is not None:
            out.append(Box(b.id, b.text or b.maxclass, Rect.of(*rect), b.maxclass == "comment"))
    return out


def cords(p: MaxPatcher) -> list[Cord]:
    """Patchlines as Max draws them by default: straight from the outlet's spot on the source's bottom edge to the
    inlet's spot on the sink's top edge."""
    out = []
    for line in p.lines:
        src, dst = p.box(line.source[0]), p.box(line.sink[0])
        out.append(Cord(src.id, dst.id, port_xy(src.rect, line.source[1], src.outlets, bottom=True),
                        port_xy(dst.rect, line.sink[1], dst.inlets, bottom=False)))
    return out


IDS = [p.where for p in patchers()]


@pytest.mark.parametrize("where", IDS)
def test_no_two_boxes_overlap(where: str):
    p = next(q for q in patchers() if q.where == where)
    pairs = overlapping(boxes(p))
    assert not pairs, f"{len(pairs)} overlapping pairs in {where}:\n{describe(pairs)}"


@pytest.mark.parametrize("where", IDS)
def test_no_two_presentation_boxes_overlap(where: str):
    p = next(q for q in patchers() if q.where == where)
    pairs = overlapping(boxes(p, presentation=True))
    assert not pairs, f"{len(pairs)} overlapping pairs in {where}'s presentation:\n{describe(pairs)}"


@pytest.mark.parametrize("where", IDS)
def test_no_patchline_runs_across_a_comment(where: str):
    p = next(q for q in patchers() if q.where == where)
    crossed = crossings(boxes(p), cords(p))
    assert not crossed, f"{len(crossed)} patchlines across comments in {where}:\n" + "\n".join(
        f"  {p.box(c.source).text!r} -> {p.box(c.sink).text!r} across {b.label!r}" for c, b in crossed)


@pytest.mark.parametrize("where", IDS)
def test_window_shows_every_box(where: str):
    p = next(q for q in patchers() if q.where == where)
    _, _, width, height = p.rect
    for presentation in (False, True):
        shown = boxes(p, presentation)
        if shown:
            whole = bounds(shown)
            assert whole.inside(width, height), (
                f"{where}{' (presentation)' if presentation else ''}: boxes span {whole}, the window is {width}x{height}")


def text_lines(text: str, width: float, fontsize: float) -> int:
    """Lines Max needs for `text` in a box `width` wide: Arial averages about 0.52 em a character."""
    return len(textwrap.wrap(text, max(1, int((width - 6) / (0.52 * fontsize))))) or 1


@pytest.mark.parametrize("where", IDS)
def test_comment_text_fits_its_box(where: str):
    """A comment's rect must hold its wrapped text, else the text runs over what lies below (as Max draws it)."""
    p = next(q for q in patchers() if q.where == where)
    for b in p.boxes:
        if b.maxclass != "comment":
            continue
        for rect in (b.rect, b.presentation):
            if rect is not None:
                need = text_lines(b.text, rect[2], b.fontsize) * 1.2 * b.fontsize + 4
                assert need <= rect[3] + 4, f"{where} {b.id} {b.text!r}: {rect[2]}x{rect[3]} holds less than {need:.0f} px"


@pytest.mark.parametrize("where", IDS)
def test_object_and_message_text_fits_its_width(where: str):
    """Object and message boxes hold one line: a narrower rect than the text makes Max wrap it into a taller box."""
    p = next(q for q in patchers() if q.where == where)
    for b in p.boxes:
        if b.maxclass in ("newobj", "message"):
            need = len(b.text) * 0.5 * b.fontsize + 8
            for rect in (b.rect, b.presentation):
                if rect is not None:
                    assert need <= rect[2] + 2, f"{where} {b.id} {b.text!r}: {rect[2]} px wide, needs {need:.0f}"


def test_examples_open_in_presentation_with_their_controls():
    for f in FILES:
        if "examples" not in f.parts:
            continue
        top = read(f)
        assert top.presentation_mode, f"{f.name} does not open in presentation mode"
        shown = {b.maxclass for b in top.boxes if b.presentation}
        assert {"message", "comment"} <= shown, f"{f.name}: presentation shows only {shown}"


def test_help_has_a_presentation_of_the_controls():
    helps = [f for f in FILES if f.suffix == ".maxhelp"]
    assert helps
    for f in helps:
        shown = [b for p in read(f).walk() for b in p.boxes if b.presentation]
        assert any(b.maxclass == "message" for b in shown), f"{f.name}: no control in presentation"
