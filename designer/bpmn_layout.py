"""Coordinates for a :class:`~designer.bpmn_graph.ProcessGraph`: the BPMN DI of a generated process.

One pool; lanes stacked in order of first appearance, each as high as its tracks need;
columns left to right. Shapes have the modelers' standard sizes (task 100×80, event 36×36,
gateway 50×50) and sit centred in their grid cell, so two cells never overlap; a boundary
event sits on its task's bottom edge. Flows are routed orthogonally: the first of a few
simple routes that crosses no other shape is taken, and flows that go back (loops) or
would cross shapes run in a channel above everything, each at its own height where their
spans overlap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from designer.bpmn_graph import Flow, Node, ProcessGraph

__all__ = ["Bounds", "DiagramLayout", "layout_graph"]

POOL_X: Final = 100.0
POOL_Y: Final = 80.0
LANE_HEADER: Final = 30.0
MARGIN: Final = 30.0
COLUMN_WIDTH: Final = 150.0
TRACK_HEIGHT: Final = 120.0
CHANNEL_GAP: Final = 15.0
SIZES: Final = {"userTask": (100.0, 80.0), "gateway": (50.0, 50.0), "event": (36.0, 36.0)}

Point = tuple[float, float]


@dataclass(frozen=True)
class Bounds:
    """A rectangle: ``x``, ``y`` of its top left corner, ``width``, ``height``."""

    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def contains(self, other: Bounds) -> bool:
        """Whether ``other`` lies inside this rectangle (edges may touch)."""
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def overlaps(self, other: Bounds) -> bool:
        """Whether the two rectangles share some area (touching edges do not count)."""
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )


@dataclass(frozen=True)
class DiagramLayout:
    """Where everything is drawn: pool, lanes by role, shapes and flow waypoints by id."""

    pool: Bounds
    lanes: dict[str, Bounds]
    shapes: dict[str, Bounds]
    edges: dict[str, tuple[Point, ...]]


def layout_graph(graph: ProcessGraph) -> DiagramLayout:
    """Lay the graph out: shapes on the grid, lanes around them, flows routed between them."""
    draft = _Geometry(graph, band=0.0)
    choices = {flow.id: _choose_route(draft, flow) for flow in graph.flows}
    levels = _channel_levels(draft, [flow for flow in graph.flows if choices[flow.id] is None])
    band = (max(levels.values()) + 2) * CHANNEL_GAP if levels else 0.0
    final = _Geometry(graph, band=band)
    edges: dict[str, tuple[Point, ...]] = {}
    for flow in graph.flows:
        route = choices[flow.id]
        if route is None:
            channel_y = final.pool.y + (levels[flow.id] + 1) * CHANNEL_GAP
            points = _channel(final, flow, channel_y)
        else:
            points = route(final, flow)
        # A repeated point would be a zero-length segment, which some modelers draw as a kink.
        edges[flow.id] = tuple(p for n, p in enumerate(points) if n == 0 or p != points[n - 1])
    return DiagramLayout(final.pool, final.lanes, final.shapes, edges)


class _Geometry:
    """Pool, lanes and shapes for a given height of the channel band above the first lane."""

    def __init__(self, graph: ProcessGraph, band: float) -> None:
        self.graph = graph
        self.nodes = {node.id: node for node in graph.nodes}
        tracks: dict[str, int] = {}
        for node in graph.nodes:
            tracks[node.lane] = max(tracks.get(node.lane, 1), node.track + 1)
        width = LANE_HEADER + 2 * MARGIN + graph.columns * COLUMN_WIDTH
        self.lanes: dict[str, Bounds] = {}
        self.content_top: dict[str, float] = {}
        top = POOL_Y
        for index, lane in enumerate(graph.lanes):
            height = tracks[lane] * TRACK_HEIGHT + (band if index == 0 else 0.0)
            self.lanes[lane] = Bounds(POOL_X + LANE_HEADER, top, width - LANE_HEADER, height)
            self.content_top[lane] = top + (band if index == 0 else 0.0)
            top += height
        self.pool = Bounds(POOL_X, POOL_Y, width, top - POOL_Y)
        self.shapes: dict[str, Bounds] = {}
        for node in graph.nodes:
            if node.attached_to is None:
                self.shapes[node.id] = self._cell(node)
        for node in graph.nodes:
            if node.attached_to is not None:
                host = self.shapes[node.attached_to]
                self.shapes[node.id] = Bounds(host.x + 62, host.y + 62, 36, 36)
        self.hosts = {node.id: node.attached_to for node in graph.nodes if node.attached_to}

    def _cell(self, node: Node) -> Bounds:
        width, height = SIZES[_family(node)]
        cx = POOL_X + LANE_HEADER + MARGIN + (node.column + 0.5) * COLUMN_WIDTH + node.shift
        cy = self.content_top[node.lane] + (node.track + 0.5) * TRACK_HEIGHT
        return Bounds(cx - width / 2, cy - height / 2, width, height)

    def is_clear(self, points: Sequence[Point], flow: Flow) -> bool:
        """Whether the path crosses no shape but its own ends (and their boundary events)."""
        ends = {flow.source, flow.target, self.hosts.get(flow.source), self.hosts.get(flow.target)}
        ends |= {child for child, host in self.hosts.items() if host in (flow.source, flow.target)}
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            segment = Bounds(min(x1, x2) - 1, min(y1, y2) - 1, abs(x2 - x1) + 2, abs(y2 - y1) + 2)
            if any(node_id not in ends and box.overlaps(segment) for node_id, box in self.shapes.items()):
                return False
        return True


def _family(node: Node) -> str:
    if node.kind == "userTask":
        return "userTask"
    return "gateway" if node.kind.endswith("Gateway") else "event"


# -- routes -----------------------------------------------------------------------------

Route = Callable[[_Geometry, Flow], tuple[Point, ...]]


def _straight(g: _Geometry, flow: Flow) -> tuple[Point, ...]:
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    return ((s.right, s.cy), (t.x, t.cy)) if s.cy == t.cy and t.x >= s.right else ()


def _vertical(g: _Geometry, flow: Flow) -> tuple[Point, ...]:
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    if s.cx != t.cx:
        return ()
    return ((s.cx, s.bottom), (t.cx, t.y)) if t.y >= s.bottom else ((s.cx, s.y), (t.cx, t.bottom))


def _elbow_at_source(g: _Geometry, flow: Flow) -> tuple[Point, ...]:
    """Out of the source's top or bottom, then right into the target's left side."""
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    if t.x <= s.cx or t.cy == s.cy:
        return ()
    start = (s.cx, s.bottom) if t.cy > s.cy else (s.cx, s.y)
    return (start, (s.cx, t.cy), (t.x, t.cy))


def _elbow_in_gap(g: _Geometry, flow: Flow) -> tuple[Point, ...]:
    """Right out of the source, across in the free strip left of the target's column."""
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    gap = POOL_X + LANE_HEADER + MARGIN + g.nodes[flow.target].column * COLUMN_WIDTH
    if gap <= s.right or t.cy == s.cy:
        return ()
    return ((s.right, s.cy), (gap, s.cy), (gap, t.cy), (t.x, t.cy))


def _elbow_at_target(g: _Geometry, flow: Flow) -> tuple[Point, ...]:
    """Right out of the source, then into the target's top or bottom."""
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    if t.cx <= s.right or t.cy == s.cy:
        return ()
    end = (t.cx, t.bottom) if s.cy > t.cy else (t.cx, t.y)
    return ((s.right, s.cy), (t.cx, s.cy), end)


def _channel(g: _Geometry, flow: Flow, channel_y: float) -> tuple[Point, ...]:
    s, t = g.shapes[flow.source], g.shapes[flow.target]
    return ((s.cx, s.y), (s.cx, channel_y), (t.cx, channel_y), (t.cx, t.y))


def _choose_route(g: _Geometry, flow: Flow) -> Route | None:
    """The first simple route without crossings, or ``None`` for a channel above the lanes."""
    source, target = g.nodes[flow.source], g.nodes[flow.target]
    # Splits leave a gateway by its top or bottom and joins enter one that way, as drawn by hand.
    elbows: tuple[Route, ...] = (_elbow_in_gap, _elbow_at_source, _elbow_at_target)
    if source.kind.endswith("Gateway") or source.attached_to is not None:
        elbows = (_elbow_at_source, _elbow_in_gap, _elbow_at_target)
    elif target.kind.endswith("Gateway"):
        elbows = (_elbow_at_target, _elbow_in_gap, _elbow_at_source)
    for route in (_straight, _vertical, *elbows):
        points = route(g, flow)
        if points and g.is_clear(points, flow):
            return route
    return None


def _channel_levels(g: _Geometry, flows: Sequence[Flow]) -> dict[str, int]:
    """A height per channel flow; flows whose spans overlap get different heights."""
    spans = sorted(
        (
            min(g.shapes[f.source].cx, g.shapes[f.target].cx),
            max(g.shapes[f.source].cx, g.shapes[f.target].cx),
            f.id,
        )
        for f in flows
    )
    level_ends: list[float] = []
    levels: dict[str, int] = {}
    for start, end, flow_id in spans:
        level = next((n for n, last in enumerate(level_ends) if last + CHANNEL_GAP < start), len(level_ends))
        if level == len(level_ends):
            level_ends.append(end)
        level_ends[level] = end
        levels[flow_id] = level
    return levels
