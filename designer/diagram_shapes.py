"""BPMN notation drawn as SVG: tasks, events, gateways, pools, data, flows and their labels.

Coordinates are BPMN DI coordinates, used unchanged as SVG user units. Shapes follow the
BPMN 2.0 notation closely enough to be recognised (markers for task types, event
definitions and gateway types); colours come from CSS classes (``shape``, ``shape-inner``,
``glyph``, ``glyph-fill``, ``line``, ``arrow`` ...) styled by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from lxml import etree

from designer.diagram_canvas import FONT_SIZE, LINE_HEIGHT, SVG_NS, Box, Point, Sketch, num, wrap

_BAND: Final = 30.0  # width of the name band of pools and lanes

TASKS: Final = frozenset(
    {
        "task",
        "userTask",
        "serviceTask",
        "scriptTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
    }
)
SUBPROCESSES: Final = frozenset({"subProcess", "transaction", "adHocSubProcess", "callActivity"})
EVENTS: Final = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
GATEWAYS: Final = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
)
FLOWS: Final = frozenset({"sequenceFlow", "messageFlow"})
ASSOCIATIONS: Final = frozenset({"association", "dataInputAssociation", "dataOutputAssociation"})
_CATEGORIES: Final = {
    **dict.fromkeys(TASKS, "task"),
    **dict.fromkeys(SUBPROCESSES, "subprocess"),
    **dict.fromkeys(EVENTS, "event"),
    **dict.fromkeys(GATEWAYS, "gateway"),
    **dict.fromkeys(FLOWS, "flow"),
    **dict.fromkeys(ASSOCIATIONS, "association"),
    **dict.fromkeys(("dataObject", "dataObjectReference", "dataInput", "dataOutput"), "data-object"),
    **dict.fromkeys(("dataStore", "dataStoreReference"), "data-store"),
    "participant": "pool",
    "lane": "lane",
    "textAnnotation": "annotation",
    "group": "group",
}
_THROWING: Final = frozenset({"endEvent", "intermediateThrowEvent"})


def category(kind: str) -> str:
    """The drawing family of a BPMN element kind (``"task"``, ``"event"`` ...); ``"other"`` if unknown."""
    return _CATEGORIES.get(kind, "other")


@dataclass(frozen=True)
class Node:
    """A shape to draw: its BPMN kind (local name) and what its DI and model say about it."""

    kind: str
    name: str
    box: Box
    label: Box | None = None
    horizontal: bool = True
    expanded: bool = False
    definitions: tuple[str, ...] = ()
    interrupting: bool = True
    marker_visible: bool = True
    loop: str | None = None  # "standard", "parallel" or "sequential"
    triggered_by_event: bool = False


@dataclass(frozen=True)
class Edge:
    """A connection to draw: sequence or message flow, or association."""

    kind: str
    name: str
    points: tuple[Point, ...]
    label: Box | None = None
    direction: str = "None"  # associationDirection: None, One or Both
    default: bool = False  # the default flow of its source (drawn with a slash)


def draw_node(sketch: Sketch, group: etree._Element, node: Node) -> None:
    """Draw one shape with its name into ``group``."""
    family = category(node.kind)
    if family in ("pool", "lane"):
        _pool(sketch, group, node)
    elif family in ("task", "subprocess"):
        _activity(sketch, group, node)
    elif family == "event":
        _event(sketch, group, node)
    elif family == "gateway":
        _gateway(sketch, group, node)
    elif family == "data-object":
        _data_object(sketch, group, node)
    elif family == "data-store":
        _data_store(sketch, group, node)
    elif family == "annotation":
        _annotation(sketch, group, node)
    else:
        b = node.box
        sketch.rect(group, b, "shape dashed" if family == "group" else "shape", radius=8)
        sketch.text(group, wrap(node.name, b.w - 10, 2), b.cx, b.y + 15)


def draw_edge(sketch: Sketch, group: etree._Element, edge: Edge) -> None:
    """Draw one connection, its arrowheads and its name into ``group``."""
    points = edge.points
    style = {"messageFlow": "line message", "sequenceFlow": "line"}.get(edge.kind, "line dotted")
    sketch.poly(group, points, style)
    if edge.kind == "sequenceFlow":
        sketch.poly(group, _arrow(points[-2], points[-1]), "arrow", closed=True)
        if edge.default:
            (x0, y0), (x1, y1) = points[0], points[1]
            length = math.hypot(x1 - x0, y1 - y0) or 1.0
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            cx, cy = x0 + ux * min(10, length / 2), y0 + uy * min(10, length / 2)
            slash = [
                (cx - ux * 3 - uy * 5, cy - uy * 3 + ux * 5),
                (cx + ux * 3 + uy * 5, cy + uy * 3 - ux * 5),
            ]
            sketch.poly(group, slash, "line")
    elif edge.kind == "messageFlow":
        sketch.circle(group, *points[0], 4, "arrow-open")
        sketch.poly(group, _arrow(points[-2], points[-1]), "arrow-open", closed=True)
    elif edge.kind in ("dataInputAssociation", "dataOutputAssociation") or edge.direction in ("One", "Both"):
        sketch.poly(group, _arrow(points[-2], points[-1], open_=True), "line")
        if edge.direction == "Both":
            sketch.poly(group, _arrow(points[1], points[0], open_=True), "line")
    if not edge.name:
        return
    if edge.label is not None:
        _label_in(sketch, group, edge.name, edge.label, min_lines=3)
    else:
        (x0, y0), (x1, y1) = points[(len(points) - 1) // 2], points[(len(points) - 1) // 2 + 1]
        sketch.text(group, wrap(edge.name, 100, 2), (x0 + x1) / 2, (y0 + y1) / 2 - 6)


def _arrow(tail: Point, tip: Point, open_: bool = False) -> list[Point]:
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = tip[0] - ux * 10, tip[1] - uy * 10
    left, right = (bx - uy * 4.5, by + ux * 4.5), (bx + uy * 4.5, by - ux * 4.5)
    return [left, tip, right] if open_ else [tip, left, right]


def _outside_label(sketch: Sketch, group: etree._Element, node: Node) -> None:
    if not node.name:
        return
    if node.label is not None:
        _label_in(sketch, group, node.name, node.label, min_lines=4)
    else:
        sketch.text(group, wrap(node.name, 110, 3), node.box.cx, node.box.bottom + 4 + FONT_SIZE)


def _pool(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    sketch.rect(group, b, "shape")
    if node.horizontal:
        if node.kind == "participant":
            sketch.path(group, f"M {num(b.x + _BAND)} {num(b.y)} V {num(b.bottom)}", "shape-inner")
        lines = wrap(node.name, b.h - 10, 2)
        x, y = b.x + _BAND / 2, b.cy - (len(lines) - 1) * LINE_HEIGHT / 2 + 4
        sketch.text(group, lines, x, y, transform=f"rotate(-90 {num(x)} {num(b.cy)})")
    else:
        if node.kind == "participant":
            sketch.path(group, f"M {num(b.x)} {num(b.y + _BAND)} H {num(b.right)}", "shape-inner")
        sketch.text(group, wrap(node.name, b.w - 10, 1), b.cx, b.y + _BAND / 2 + 4)


def _activity(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    styles = {"callActivity": "shape call", "transaction": "shape sub"}
    style = styles.get(node.kind, "shape" if node.kind in TASKS else "shape sub")
    sketch.rect(group, b, style + (" dotted" if node.triggered_by_event else ""), radius=10)
    if node.kind == "transaction" and b.w > 8 and b.h > 8:
        sketch.rect(group, Box(b.x + 3, b.y + 3, b.w - 6, b.h - 6), "shape-inner", radius=8)
    _task_marker(sketch, group, node.kind, b.x + 6, b.y + 6)
    markers = (["collapsed"] if node.kind in SUBPROCESSES and not node.expanded else []) + (
        [node.loop] if node.loop else []
    )
    for index, marker in enumerate(markers):
        _bottom_marker(sketch, group, marker, b.cx - 7 * len(markers) + 14 * index + 1, b.bottom - 16)
    if node.expanded:
        sketch.text(group, wrap(node.name, b.w - 16, 2), b.x + 8, b.y + 17, anchor="start")
        return
    low = b.bottom - (18 if markers else 4)
    lines = wrap(node.name, b.w - 12, max(1, min(5, int((low - b.y - 4) / LINE_HEIGHT))))
    block = len(lines) * LINE_HEIGHT
    top = (b.y + low - block) / 2
    if node.kind in TASKS and node.kind != "task" and top < b.y + 20:
        top = max(top, min(b.y + 20, low - block))  # clear of the task-type marker if there is room
    sketch.text(group, lines, b.cx, top + FONT_SIZE - 1)


def _task_marker(sketch: Sketch, group: etree._Element, kind: str, x: float, y: float) -> None:
    def at(dx: float, dy: float) -> str:
        return f"{num(x + dx)} {num(y + dy)}"

    if kind == "userTask":
        sketch.path(group, f"M {at(4, 5)} a 4 4 0 1 0 8 0 a 4 4 0 1 0 -8 0", "glyph")
        sketch.path(group, f"M {at(1, 17)} C {at(1, 9)} {at(15, 9)} {at(15, 17)} Z", "glyph")
    elif kind == "serviceTask":
        sketch.path(group, f"M {at(2, 8)} a 6 6 0 1 0 12 0 a 6 6 0 1 0 -12 0", "glyph gear")
        sketch.path(group, f"M {at(5.5, 8)} a 2.5 2.5 0 1 0 5 0 a 2.5 2.5 0 1 0 -5 0", "glyph")
    elif kind == "scriptTask":
        sketch.path(group, f"M {at(3, 1)} h 10 c -4 4 4 10 0 14 h -10 c 4 -4 -4 -10 0 -14 Z", "glyph")
        sketch.path(group, f"M {at(4, 5)} h 6 M {at(5, 8)} h 6 M {at(5, 11)} h 6", "glyph")
    elif kind == "manualTask":
        sketch.path(group, f"M {at(1, 7)} h 5 l 3 -4 M {at(1, 7)} v 8 h 11", "glyph")
        sketch.path(group, f"M {at(6, 7)} h 10 M {at(8, 10)} h 8 M {at(8, 13)} h 7", "glyph")
    elif kind in ("sendTask", "receiveTask"):
        fill = kind == "sendTask"
        sketch.path(group, f"M {at(1, 3)} h 16 v 11 h -16 Z", "glyph-fill" if fill else "glyph")
        sketch.path(group, f"M {at(1, 3)} L {at(9, 9)} L {at(17, 3)}", "glyph-inverse" if fill else "glyph")
    elif kind == "businessRuleTask":
        sketch.path(group, f"M {at(1, 2)} h 16 v 13 h -16 Z M {at(1, 10)} h 16 M {at(6, 6)} v 9", "glyph")
        sketch.path(group, f"M {at(1, 2)} h 16 v 4 h -16 Z", "glyph-fill")


def _bottom_marker(sketch: Sketch, group: etree._Element, marker: str, x: float, y: float) -> None:
    if marker == "collapsed":
        sketch.path(group, f"M {num(x)} {num(y)} h 12 v 12 h -12 Z", "glyph")
        sketch.path(group, f"M {num(x + 6)} {num(y + 3)} v 6 M {num(x + 3)} {num(y + 6)} h 6", "glyph")
    elif marker == "standard":
        start, end = f"{num(x + 2.5)} {num(y + 10)}", f"{num(x + 9.5)} {num(y + 10)}"
        sketch.path(group, f"M {start} A 5 5 0 1 1 {end} M {start} l -2.5 -1 M {start} l 0.5 -2.5", "glyph")
    elif marker == "parallel":
        sketch.path(group, "".join(f"M {num(x + dx)} {num(y + 1)} v 10 " for dx in (2, 6, 10)), "glyph")
    elif marker == "sequential":
        sketch.path(group, "".join(f"M {num(x + 1)} {num(y + dy)} h 10 " for dy in (2, 6, 10)), "glyph")


def _event(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    r = min(b.w, b.h) / 2
    dashed = "" if node.interrupting else " dashed"
    ring = {"startEvent": "shape", "endEvent": "shape thick"}.get(node.kind, "shape")
    sketch.circle(group, b.cx, b.cy, r, ring + dashed)
    if node.kind not in ("startEvent", "endEvent") and r > 4:
        sketch.circle(group, b.cx, b.cy, r - 3, "shape-inner" + dashed)
    if node.definitions:
        kind = node.definitions[0] if len(node.definitions) == 1 else "multiple"
        _event_glyph(
            sketch, group, kind.removesuffix("EventDefinition"), b.cx, b.cy, r, node.kind in _THROWING
        )
    _outside_label(sketch, group, node)


_GLYPH_POINTS: Final[dict[str, tuple[Point, ...]]] = {
    "error": ((-0.5, 0.55), (-0.2, -0.5), (0.15, 0.1), (0.5, -0.55), (0.2, 0.5), (-0.15, -0.1)),
    "signal": ((0, -0.55), (0.5, 0.35), (-0.5, 0.35)),
    "escalation": ((0, -0.55), (0.4, 0.5), (0, 0.15), (-0.4, 0.5)),
    "link": ((-0.5, -0.18), (0.1, -0.18), (0.1, -0.42), (0.5, 0), (0.1, 0.42), (0.1, 0.18), (-0.5, 0.18)),
    "compensate": (
        (-0.55, 0),
        (-0.05, -0.35),
        (-0.05, 0),
        (0.45, -0.35),
        (0.45, 0.35),
        (-0.05, 0),
        (-0.05, 0.35),
    ),
    "multiple": ((0, -0.5), (0.48, -0.15), (0.3, 0.42), (-0.3, 0.42), (-0.48, -0.15)),
}


def _event_glyph(
    sketch: Sketch, group: etree._Element, kind: str, cx: float, cy: float, r: float, throwing: bool
) -> None:
    style = "glyph-fill" if throwing else "glyph"
    if kind in _GLYPH_POINTS:
        points = [(cx + dx * r, cy + dy * r) for dx, dy in _GLYPH_POINTS[kind]]
        sketch.path(group, "M " + " L ".join(f"{num(x)} {num(y)}" for x, y in points) + " Z", style)
    elif kind == "message":
        w, h = r * 1.0, r * 0.7
        x, y = cx - w / 2, cy - h / 2
        sketch.path(group, f"M {num(x)} {num(y)} h {num(w)} v {num(h)} h {num(-w)} Z", style)
        inner = "glyph-inverse" if throwing else "glyph"
        sketch.path(
            group, f"M {num(x)} {num(y)} L {num(cx)} {num(cy + h * 0.1)} L {num(x + w)} {num(y)}", inner
        )
    elif kind == "timer":
        sketch.circle(group, cx, cy, r * 0.62, "glyph")
        sketch.path(
            group, f"M {num(cx)} {num(cy - r * 0.45)} V {num(cy)} L {num(cx + r * 0.3)} {num(cy)}", "glyph"
        )
    elif kind == "terminate":
        sketch.circle(group, cx, cy, r * 0.6, "glyph-fill")
    elif kind == "conditional":
        x, y, w, h = cx - r * 0.4, cy - r * 0.5, r * 0.8, r
        lines = "".join(f" M {num(x + 2)} {num(y + h * f)} h {num(w - 4)}" for f in (0.25, 0.5, 0.75))
        sketch.path(group, f"M {num(x)} {num(y)} h {num(w)} v {num(h)} h {num(-w)} Z" + lines, "glyph")
    elif kind == "cancel":
        d = r * 0.35
        sketch.path(
            group,
            f"M {num(cx - d)} {num(cy - d)} l {num(2 * d)} {num(2 * d)} m 0 {num(-2 * d)} "
            f"l {num(-2 * d)} {num(2 * d)}",
            "glyph thick",
        )


def _gateway(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    cx, cy, s = b.cx, b.cy, min(b.w, b.h) / 2
    sketch.poly(group, [(cx, b.y), (b.right, cy), (cx, b.bottom), (b.x, cy)], "shape", closed=True)

    def cross(d: float, diagonal: bool) -> str:
        if diagonal:
            return (
                f"M {num(cx - d)} {num(cy - d)} L {num(cx + d)} {num(cy + d)} M {num(cx + d)} {num(cy - d)} "
                f"L {num(cx - d)} {num(cy + d)}"
            )
        return f"M {num(cx)} {num(cy - d)} V {num(cy + d)} M {num(cx - d)} {num(cy)} H {num(cx + d)}"

    if node.kind == "exclusiveGateway" and node.marker_visible:
        sketch.path(group, cross(s * 0.3, True), "glyph thick")
    elif node.kind == "parallelGateway":
        sketch.path(group, cross(s * 0.42, False), "glyph thick")
    elif node.kind == "complexGateway":
        sketch.path(group, cross(s * 0.42, False) + " " + cross(s * 0.3, True), "glyph thick")
    elif node.kind == "inclusiveGateway":
        sketch.circle(group, cx, cy, s * 0.36, "glyph thick")
    elif node.kind == "eventBasedGateway":
        sketch.circle(group, cx, cy, s * 0.5, "glyph")
        sketch.circle(group, cx, cy, s * 0.4, "glyph")
        _event_glyph(sketch, group, "multiple", cx, cy, s * 0.5, False)
    _outside_label(sketch, group, node)


def _data_object(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    fold = min(b.w, b.h) * 0.3
    page = [(b.x, b.y), (b.right - fold, b.y), (b.right, b.y + fold), (b.right, b.bottom), (b.x, b.bottom)]
    sketch.poly(group, page, "shape", closed=True)
    corner = f"M {num(b.right - fold)} {num(b.y)} V {num(b.y + fold)} H {num(b.right)}"
    sketch.path(group, corner, "shape-inner")
    if node.kind in ("dataInput", "dataOutput"):  # an arrow: hollow for input, filled for output
        _event_glyph(sketch, group, "link", b.x + 9, b.y + 8, 10, node.kind == "dataOutput")
    _outside_label(sketch, group, node)


def _data_store(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    e, rx = min(b.h * 0.15, 10), b.w / 2
    top, low = num(b.y + e), num(b.bottom - e)
    body = f"M {num(b.x)} {top} A {num(rx)} {num(e)} 0 0 1 {num(b.right)} {top} V {low} "
    body += f"A {num(rx)} {num(e)} 0 0 1 {num(b.x)} {low} Z"
    sketch.extend(b.x, b.y, b.right, b.bottom)
    sketch.path(group, body, "shape")
    sketch.path(group, f"M {num(b.x)} {top} A {num(rx)} {num(e)} 0 0 0 {num(b.right)} {top}", "shape-inner")
    _outside_label(sketch, group, node)


def _annotation(sketch: Sketch, group: etree._Element, node: Node) -> None:
    b = node.box
    sketch.extend(b.x, b.y, b.right, b.bottom)
    sketch.path(
        group, f"M {num(b.x + 12)} {num(b.y)} H {num(b.x)} V {num(b.bottom)} H {num(b.x + 12)}", "shape"
    )
    lines = wrap(node.name, max(b.w - 8, 40), max(2, int((b.h - 4) / LINE_HEIGHT)))
    sketch.text(group, lines, b.x + 5, b.y + FONT_SIZE + 2, anchor="start")


def _label_in(sketch: Sketch, group: etree._Element, name: str, box: Box, *, min_lines: int) -> None:
    # Label bounds were sized for the modeler's font: allow some slack rather than break words.
    lines = wrap(name, max(box.w * 1.2, 50), max(min_lines, int(box.h / LINE_HEIGHT) + 1))
    sketch.text(group, lines, box.cx, box.y + FONT_SIZE)


_COOL: Final = (0xFF, 0xF8, 0xC5)  # pale yellow
_HOT: Final = (0xD9, 0x30, 0x25)  # red


def heat_colour(share: float) -> str:
    """The fill for a heat share: pale yellow at 0 to red at 1 (clamped; NaN counts as 0)."""
    share = min(1.0, max(0.0, share)) if math.isfinite(share) else 0.0
    red, green, blue = (round(c + (h - c) * share) for c, h in zip(_COOL, _HOT, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def tint(group: etree._Element, share: float) -> None:
    """Fill the outline of an activity drawn into ``group`` with its heat colour (an
    inline style, so it wins over the state colours of the stylesheet)."""
    for shape in group.iterchildren(f"{{{SVG_NS}}}rect"):
        if "shape" in (shape.get("class") or "").split():
            shape.set("style", f"fill:{heat_colour(share)}")
            return
