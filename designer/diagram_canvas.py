"""An SVG canvas for diagrams: elements created with lxml, their extent tracked, text wrapped.

Text is only ever set as element text, never as markup, so lxml escapes it. Label widths
are estimated from an average glyph advance: the renderer has no font metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

SVG_NS: Final = "http://www.w3.org/2000/svg"
FONT_SIZE: Final = 11.0
LINE_HEIGHT: Final = 13.0
_CHAR_WIDTH: Final = 0.55 * FONT_SIZE  # average advance of a sans-serif face
_ELLIPSIS: Final = "…"

Point = tuple[float, float]


def num(value: float) -> str:
    """A coordinate as SVG text: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass(frozen=True)
class Box:
    """A rectangle in diagram coordinates (``dc:Bounds``)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


class Sketch:
    """Creates SVG elements and tracks the bounding box of everything that takes up space."""

    def __init__(self) -> None:
        self.left = self.top = math.inf
        self.right = self.bottom = -math.inf

    def extend(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Grow the tracked extent to cover the rectangle from (x0, y0) to (x1, y1)."""
        self.left, self.top = min(self.left, x0), min(self.top, y0)
        self.right, self.bottom = max(self.right, x1), max(self.bottom, y1)

    def add(self, parent: etree._Element, tag: str, cls: str = "", **attrs: str) -> etree._Element:
        """A child element; attribute names use ``_`` for ``-`` (``text_anchor``)."""
        element = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
        if cls:
            element.set("class", cls)
        for name, value in attrs.items():
            element.set(name.replace("_", "-"), value)
        return element

    def rect(self, parent: etree._Element, box: Box, cls: str, radius: float = 0) -> None:
        """A rectangle, with rounded corners if ``radius`` is given."""
        self.extend(box.x, box.y, box.right, box.bottom)
        attrs = {"rx": num(radius), "ry": num(radius)} if radius else {}
        self.add(
            parent, "rect", cls, x=num(box.x), y=num(box.y), width=num(box.w), height=num(box.h), **attrs
        )

    def circle(self, parent: etree._Element, cx: float, cy: float, r: float, cls: str) -> None:
        """A circle around (cx, cy)."""
        self.extend(cx - r, cy - r, cx + r, cy + r)
        self.add(parent, "circle", cls, cx=num(cx), cy=num(cy), r=num(r))

    def poly(self, parent: etree._Element, points: Sequence[Point], cls: str, closed: bool = False) -> None:
        """A polyline through ``points``, or a polygon if ``closed``."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.extend(min(xs), min(ys), max(xs), max(ys))
        coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        self.add(parent, "polygon" if closed else "polyline", cls, points=coords)

    def path(self, parent: etree._Element, d: str, cls: str) -> None:
        """A path inside an already tracked shape (glyphs, inner lines)."""
        self.add(parent, "path", cls, d=d)

    def text(
        self,
        parent: etree._Element,
        lines: Sequence[str],
        x: float,
        y: float,
        anchor: str = "middle",
        transform: str | None = None,
    ) -> None:
        """Lines of text, the first with its baseline at ``y``; rotated text is not tracked."""
        if not lines:
            return
        extra = {"transform": transform} if transform else {}
        text = self.add(parent, "text", "label", text_anchor=anchor, **extra)
        for index, line in enumerate(lines):
            span = self.add(text, "tspan", x=num(x), y=num(y + index * LINE_HEIGHT))
            span.text = line
        if transform is None:
            width = max(len(line) for line in lines) * _CHAR_WIDTH
            x0 = {"start": x, "middle": x - width / 2}.get(anchor, x - width)
            self.extend(x0, y - FONT_SIZE, x0 + width, y + (len(lines) - 1) * LINE_HEIGHT + 3)


def wrap(text: str, width: float, max_lines: int) -> list[str]:
    """Break ``text`` into lines that fit ``width``; cut with an ellipsis after ``max_lines``."""
    per_line = max(1, int(width / _CHAR_WIDTH))
    lines: list[str] = []
    current = ""
    for whole in text.split():
        word = whole
        while len(word) > per_line:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:per_line])
            word = word[per_line:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= per_line:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max(1, max_lines):
        kept = lines[: max(1, max_lines)]
        kept[-1] = kept[-1][: per_line - 1].rstrip() + _ELLIPSIS
        return kept
    return lines
