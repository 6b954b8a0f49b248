"""Read Max patchers (.maxpat / .maxhelp JSON) into plain dataclasses: boxes with their rectangles, patchlines, and the
subpatchers inside `p` boxes (the help file's tabs). Used by the layout test (tests/max/test_max_layout.py), the prompt
test (tests/patches/test_patch_prompts.py) and the drawings of docs/max.md (scripts/max_drawings.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "patches/max/lmdm"


@dataclass(frozen=True)
class MaxBox:
    id: str
    maxclass: str
    text: str
    rect: tuple[float, float, float, float]                  # patching_rect: x, y, width, height
    presentation: tuple[float, float, float, float] | None   # presentation_rect when the box is in presentation
    inlets: int
    outlets: int
    fontsize: float = 12.0


@dataclass(frozen=True)
class MaxLine:
    source: tuple[str, int]
    sink: tuple[str, int]


@dataclass
class MaxPatcher:
    where: str                                  # file name, then the `p` box text of each level down
    rect: tuple[float, float, float, float]     # the window: x, y, width, height
    presentation_mode: bool                     # opens in presentation mode
    boxes: list[MaxBox] = field(default_factory=list)
    lines: list[MaxLine] = field(default_factory=list)
    children: list["MaxPatcher"] = field(default_factory=list)

    def walk(self):
        """This patcher and every subpatcher below it."""
        yield self
        for c in self.children:
            yield from c.walk()

    def box(self, box_id: str) -> MaxBox:
        return next(b for b in self.boxes if b.id == box_id)


def port_xy(rect: tuple[float, float, float, float], k: int, n: int, bottom: bool) -> tuple[float, float]:
    """Where Max draws a patchline's end: outlet (bottom) or inlet (top) `k` of `n`, spread over the box's width."""
    x, y, w, h = rect
    px = x + 4 if n <= 1 else x + 4 + k * (w - 8) / (n - 1)
    return px, y + h if bottom else y


def _quad(v) -> tuple[float, float, float, float]:
    x, y, w, h = (float(a) for a in v)
    return x, y, w, h


def read_patcher(doc: dict, where: str) -> MaxPatcher:
    pat = MaxPatcher(where, _quad(doc.get("rect", (0, 0, 640, 480))), bool(doc.get("openinpresentation", 0)))
    for entry in doc["boxes"]:
        b = entry["box"]
        text = b.get("text", "")
        pres = b.get("presentation_rect") if b.get("presentation") else None
        pat.boxes.append(MaxBox(b["id"], b["maxclass"], text, _quad(b["patching_rect"]),
                                _quad(pres) if pres else None, b.get("numinlets", 0), b.get("numoutlets", 0),
                                float(b.get("fontsize", 12.0))))
        if "patcher" in b:
            pat.children.append(read_patcher(b["patcher"], f"{where}/{text or b['id']}"))
    for entry in doc["lines"]:
        line = entry["patchline"]
        pat.lines.append(MaxLine((line["source"][0], int(line["source"][1])),
                                 (line["destination"][0], int(line["destination"][1]))))
    return pat


def read(path: Path) -> MaxPatcher:
    return read_patcher(json.loads(path.read_text())["patcher"], path.name)


def package_files(package: Path = PACKAGE) -> list[Path]:
    """The package's patchers: the abstraction, the help file and the examples."""
    return sorted(p for p in package.rglob("*") if p.suffix in (".maxpat", ".maxhelp") and "node_modules" not in p.parts)
