"""Layout checks shared by the Pd and Max patch tests: boxes as rectangles, which pairs overlap, what lies outside the
window, and which patch cords run across a box they do not join."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Rect:
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def of(cls, x: float, y: float, w: float, h: float) -> "Rect":
        return cls(x, y, x + w, y + h)

    def overlaps(self, other: "Rect") -> bool:
        """True when the two share an area (touching edges do not count)."""
        return self.x1 < other.x2 and other.x1 < self.x2 and self.y1 < other.y2 and other.y1 < self.y2

    def union(self, other: "Rect") -> "Rect":
        return Rect(min(self.x1, other.x1), min(self.y1, other.y1), max(self.x2, other.x2), max(self.y2, other.y2))

    def inside(self, width: float, height: float) -> bool:
        return self.x1 >= 0 and self.y1 >= 0 and self.x2 <= width and self.y2 <= height

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """True when the segment a-b passes through the inside of the rectangle (Liang-Barsky clipping)."""
        (ax, ay), (bx, by) = a, b
        dx, dy = bx - ax, by - ay
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, ax - self.x1), (dx, self.x2 - ax), (-dy, ay - self.y1), (dy, self.y2 - ay)):
            if p == 0:
                if q <= 0:
                    return False
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            if lo >= hi:
                return False
        return True


@dataclass(frozen=True)
class Box:
    """One box of a patch as drawn: `key` identifies it (Pd tag, Max id), `label` is what a person reads in it, `comment`
    whether it is a comment (text only, no border)."""
    key: str
    label: str
    rect: Rect
    comment: bool = False


@dataclass(frozen=True)
class Cord:
    source: str
    sink: str
    a: tuple[float, float]
    b: tuple[float, float]


def overlapping(boxes: list[Box]) -> list[tuple[Box, Box]]:
    return [(p, q) for p, q in combinations(boxes, 2) if p.rect.overlaps(q.rect)]


def bounds(boxes: list[Box]) -> Rect:
    rect = boxes[0].rect
    for b in boxes[1:]:
        rect = rect.union(b.rect)
    return rect


def crossings(boxes: list[Box], cords: list[Cord], inset: float = 2.0) -> list[tuple[Cord, Box]]:
    """Cords that run across a comment's text (boxes are crossed by fan-ins as in any Pd or Max patch; text crossed
    by a line is hard to read). Comments are shrunk by `inset` so a cord grazing an edge does not count."""
    out = []
    for cord in cords:
        for box in boxes:
            if not box.comment or box.key in (cord.source, cord.sink):
                continue
            r = box.rect
            shrunk = Rect(r.x1 + inset, r.y1 + inset, r.x2 - inset, r.y2 - inset)
            if shrunk.x1 < shrunk.x2 and shrunk.y1 < shrunk.y2 and shrunk.crossed_by(cord.a, cord.b):
                out.append((cord, box))
    return out


def describe(pairs: list[tuple[Box, Box]]) -> str:
    return "\n".join(f"  {p.label!r} {p.rect} <-> {q.label!r} {q.rect}" for p, q in pairs)
