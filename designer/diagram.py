"""A BPMN 2.0 process drawn as SVG from its diagram interchange (BPMN DI), coloured by case progress.

The drawing follows the layout the modeler saved (``bpmndi:BPMNShape`` bounds and
``bpmndi:BPMNEdge`` waypoints of the first diagram that has shapes); nothing is laid out
here. The file is read only through :func:`engine.xml_safety.parse_xml`, and the SVG is
built as an lxml tree, so every name and id ends up escaped text or attribute values: the
output holds no script, no event handler and no external reference, and can be embedded
in a page (``st.html`` or ``st.markdown(..., unsafe_allow_html=True)``).

Every drawn element is an SVG ``<g>`` with ``data-element-id`` (the BPMN id) and classes
``element``, its family (``task``, ``event``, ``gateway``, ``flow`` ...), its BPMN kind
(``userTask``, ``boundaryEvent`` ...) and its state (``completed``, ``active``,
``not-reached``); flows between two reached elements also get ``traversed``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Final, Literal, get_args

from lxml import etree

from designer.diagram_canvas import SVG_NS, Box, Point, Sketch, num
from designer.diagram_shapes import (
    EVENTS,
    FLOWS,
    SUBPROCESSES,
    Edge,
    Node,
    category,
    draw_edge,
    draw_node,
    tint,
)
from engine.errors import DiagramUnavailable
from engine.xml_safety import parse_xml

__all__ = ["ElementState", "render_svg"]

ElementState = Literal["completed", "active", "not_reached"]

_MODEL: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_BPMNDI: Final = "http://www.omg.org/spec/BPMN/20100524/DI"
_DC: Final = "http://www.omg.org/spec/DD/20100524/DC"
_DI: Final = "http://www.omg.org/spec/DD/20100524/DI"
_MAX_COORDINATE: Final = 1e7  # beyond any real diagram; keeps the SVG numbers short
_MARGIN: Final = 20.0
_REACHED: Final = frozenset({"completed", "active"})
_STATE_CLASS: Final[dict[str, str]] = {
    "completed": "completed",
    "active": "active",
    "not_reached": "not-reached",
}
_STATE_TEXT: Final = {"completed": "completed", "active": "active", "not_reached": "not reached"}
# (stroke, fill) per state class; the legend uses the same classes.
_PALETTE: Final = {
    "not-reached": ("#80868b", "#ffffff"),
    "completed": ("#2e7d32", "#e6f4ea"),
    "active": ("#e37400", "#fef3e0"),
}
_NOT_XML_TEXT: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_svg(
    bpmn: bytes | str,
    *,
    file: str = "process.bpmn",
    states: Mapping[str, ElementState] | None = None,
    numbers: Mapping[str, float | int | str] | None = None,
    title: str | None = None,
    heat: Mapping[str, float] | None = None,
) -> str:
    """Draw a BPMN file as an SVG document, coloured by how far a case got.

    Pools, lanes, activities, events, gateways, data, annotations and every connection of
    the first BPMN diagram are drawn at their DI positions, with their names as labels. A
    sequence or message flow without a state of its own counts as traversed (drawn
    ``completed``) when its source and target are both completed or active. When
    ``states`` is given, a small legend is drawn above the diagram.

    Args:
        bpmn: the BPMN 2.0 XML, untrusted.
        file: file name used in error messages.
        states: state of BPMN elements by id; elements not listed are ``"not_reached"``.
        numbers: a figure per BPMN element id (a count, a duration ...), drawn as a badge on
            the shape's top right corner; numbers are shown with at most one decimal, text
            as given (shortened to 12 characters). Ids without a drawn shape are ignored.
        title: accessible title of the drawing; defaults to one naming ``file``.
        heat: a share from 0 to 1 per BPMN element id (e.g. a step's median duration over
            the slowest one); each listed activity is filled from pale yellow (0) to red
            (1). Values outside 0..1 are clamped, other ids and non-activities ignored.

    Returns:
        An ``<svg>`` element as text (no XML declaration), ``width="100%"`` with a
        ``viewBox`` fitted to the drawing. No line of it is blank, and its first line is the
        opening tag alone, so Markdown renderers keep it as one raw HTML block.

    Raises:
        XmlRejected: the file is unsafe (DOCTYPE, entities), too large or not well formed.
        DiagramUnavailable: the file has no BPMN DI shape that can be drawn.
        ValueError: a value in ``states`` is not one of ``ElementState``.
    """
    known = _checked(states)
    tree = parse_xml(bpmn, file=file)
    model: dict[str, etree._Element] = {}
    for element in tree.iter(f"{{{_MODEL}}}*"):
        if element_id := element.get("id"):
            model.setdefault(element_id, element)
    plane = _first_diagram(tree)
    nodes = _read_shapes(plane, model) if plane is not None else []
    if plane is None or not nodes:
        raise DiagramUnavailable(
            f"{file} has no diagram to draw: it holds no BPMN DI shapes (bpmndi:BPMNShape with "
            "dc:Bounds); open it in a BPMN modeler and save it so that the layout is stored",
            file=file,
        )
    items: list[tuple[tuple[int, float, int], str, str, Node | Edge]] = []
    for index, (element_id, node) in enumerate(nodes):
        layer = _layer(node)
        area = -node.box.w * node.box.h if layer == 1 else 0.0  # enclosing sub-processes first
        items.append(((layer, area, index), element_id, known.get(element_id, "not_reached"), node))
    for index, (element_id, edge, ends) in enumerate(_read_edges(plane, model)):
        items.append(((2, 0.0, index), element_id, _edge_state(element_id, edge.kind, ends, known), edge))

    sketch = Sketch()
    # lxml-stubs types nsmap keys as str, but None (the default namespace) is what lxml wants.
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})  # type: ignore[dict-item]
    root.text = "\n"  # the opening tag alone on the first line: a CommonMark HTML block
    for name, value in (("class", "onestop-bpmn"), ("role", "img"), ("width", "100%")):
        root.set(name, value)
    sketch.add(root, "title").text = _clean(title if title is not None else f"BPMN diagram of {file}")
    sketch.add(root, "style").text = _css()
    for _, element_id, state, item in sorted(items, key=lambda entry: entry[0]):
        group = _group(sketch, root, element_id, item.kind, item.name, state)
        if isinstance(item, Node):
            draw_node(sketch, group, item)
            if heat and element_id in heat and category(item.kind) in ("task", "subprocess"):
                tint(group, heat[element_id])
        else:
            draw_edge(sketch, group, item)
    if numbers:
        _badges(sketch, root, dict(nodes), numbers)

    if states is not None:
        _legend(sketch, root, sketch.left, sketch.top - 30)
    left, top = sketch.left - _MARGIN, sketch.top - _MARGIN
    width, height = sketch.right - sketch.left + 2 * _MARGIN, sketch.bottom - sketch.top + 2 * _MARGIN
    root.set("viewBox", f"{num(left)} {num(top)} {num(width)} {num(height)}")
    return etree.tostring(root, encoding="unicode")


def _checked(states: Mapping[str, ElementState] | None) -> dict[str, str]:
    allowed = get_args(ElementState)
    checked: dict[str, str] = {}
    for element_id, state in (states or {}).items():
        if state not in allowed:
            raise ValueError(f"state of {element_id!r} is {state!r}; expected one of {', '.join(allowed)}")
        checked[element_id] = state
    return checked


def _first_diagram(tree: etree._ElementTree) -> etree._Element | None:
    """The first ``BPMNDiagram`` holding a shape (a diagram list may start with an empty one)."""
    for diagram in tree.iter(f"{{{_BPMNDI}}}BPMNDiagram"):
        if next(diagram.iter(f"{{{_BPMNDI}}}BPMNShape"), None) is not None:
            return diagram
    return None


def _resolve(ref: str, model: Mapping[str, etree._Element]) -> etree._Element | None:
    # Some tools write the reference as a QName ("ns:id").
    return model.get(ref) if ref in model else model.get(ref.rpartition(":")[2])


def _element_id(element: etree._Element | None, ref: str) -> str:
    return (element.get("id") or ref) if element is not None else ref


def _kind(element: etree._Element | None) -> str:
    return etree.QName(element).localname if element is not None else "unknown"


def _read_shapes(plane: etree._Element, model: Mapping[str, etree._Element]) -> list[tuple[str, Node]]:
    nodes: list[tuple[str, Node]] = []
    for shape in plane.iter(f"{{{_BPMNDI}}}BPMNShape"):
        ref = (shape.get("bpmnElement") or "").strip()
        box = _box(shape.find(f"{{{_DC}}}Bounds"))
        if not ref or box is None:
            continue
        element = _resolve(ref, model)
        kind = _kind(element)
        horizontal = shape.get("isHorizontal")
        node = Node(
            kind=kind,
            name=_name(element, model),
            box=box,
            label=_box(shape.find(f"{{{_BPMNDI}}}BPMNLabel/{{{_DC}}}Bounds")),
            horizontal=box.w >= box.h if horizontal is None else horizontal == "true",
            expanded=kind in SUBPROCESSES and shape.get("isExpanded") == "true",
            marker_visible=shape.get("isMarkerVisible") != "false",
        )
        if element is not None:
            node = _with_model_details(node, element, model)
        nodes.append((_element_id(element, ref), node))
    return nodes


def _with_model_details(node: Node, element: etree._Element, model: Mapping[str, etree._Element]) -> Node:
    definitions = [
        _kind(child)
        for child in element.iterchildren(f"{{{_MODEL}}}*")
        if _kind(child).endswith("EventDefinition")
    ]
    for ref in element.iterchildren(f"{{{_MODEL}}}eventDefinitionRef"):
        target = _resolve((ref.text or "").strip(), model)
        if target is not None:
            definitions.append(_kind(target))
    loop = None
    if element.find(f"{{{_MODEL}}}standardLoopCharacteristics") is not None:
        loop = "standard"
    elif (multi := element.find(f"{{{_MODEL}}}multiInstanceLoopCharacteristics")) is not None:
        loop = "sequential" if multi.get("isSequential") == "true" else "parallel"
    interrupting = element.get("cancelActivity" if node.kind == "boundaryEvent" else "isInterrupting")
    return replace(
        node,
        definitions=tuple(definitions) if node.kind in EVENTS else (),
        interrupting=interrupting != "false",
        loop=loop,
        triggered_by_event=element.get("triggeredByEvent") == "true",
    )


def _read_edges(
    plane: etree._Element, model: Mapping[str, etree._Element]
) -> list[tuple[str, Edge, tuple[str, str]]]:
    edges: list[tuple[str, Edge, tuple[str, str]]] = []
    for di_edge in plane.iter(f"{{{_BPMNDI}}}BPMNEdge"):
        ref = (di_edge.get("bpmnElement") or "").strip()
        points = [p for p in map(_point, di_edge.iterchildren(f"{{{_DI}}}waypoint")) if p is not None]
        if not ref or len(points) < 2:
            continue
        element = _resolve(ref, model)
        ends = ("", "")
        is_default = False
        if element is not None:
            ends = (element.get("sourceRef") or "", element.get("targetRef") or "")
            source = model.get(ends[0])
            is_default = source is not None and source.get("default") == element.get("id")
        edge = Edge(
            kind=_kind(element),
            name=_name(element, model),
            points=tuple(points),
            label=_box(di_edge.find(f"{{{_BPMNDI}}}BPMNLabel/{{{_DC}}}Bounds")),
            direction=element.get("associationDirection", "None") if element is not None else "None",
            default=is_default,
        )
        edges.append((_element_id(element, ref), edge, ends))
    return edges


def _box(bounds: etree._Element | None) -> Box | None:
    if bounds is None:
        return None
    try:
        x, y, w, h = (float(bounds.get(name, "")) for name in ("x", "y", "width", "height"))
    except ValueError:
        return None
    if not all(math.isfinite(v) and abs(v) <= _MAX_COORDINATE for v in (x, y, w, h)) or w < 0 or h < 0:
        return None
    return Box(x, y, w, h)


def _point(waypoint: etree._Element) -> Point | None:
    try:
        x, y = float(waypoint.get("x", "")), float(waypoint.get("y", ""))
    except ValueError:
        return None
    ok = all(math.isfinite(v) and abs(v) <= _MAX_COORDINATE for v in (x, y))
    return (x, y) if ok else None


def _name(element: etree._Element | None, model: Mapping[str, etree._Element]) -> str:
    if element is None:
        return ""
    kind = _kind(element)
    if kind == "textAnnotation":
        text = element.findtext(f"{{{_MODEL}}}text") or ""
    elif kind == "group" and element.get("categoryValueRef"):
        value = _resolve(element.get("categoryValueRef") or "", model)
        text = (value.get("value") or "") if value is not None else ""
    else:
        text = element.get("name") or ""
    return " ".join(text.split())


def _layer(node: Node) -> int:
    """Drawing order: pools and lanes, expanded sub-processes, flows, nodes, boundary events, groups."""
    family = category(node.kind)
    if family in ("pool", "lane"):
        return 0
    if family == "subprocess" and node.expanded:
        return 1
    return {"boundaryEvent": 4, "group": 5}.get(node.kind, 3)


def _edge_state(element_id: str, kind: str, ends: tuple[str, str], known: Mapping[str, str]) -> str:
    if element_id in known:
        return known[element_id]
    if kind in FLOWS and all(known.get(end) in _REACHED for end in ends):
        return "completed"
    return "not_reached"


def _group(
    sketch: Sketch, root: etree._Element, element_id: str, kind: str, name: str, state: str
) -> etree._Element:
    family = category(kind)
    classes = ["element", family, kind if family != "other" else "", _STATE_CLASS[state]]
    if kind in FLOWS and state in _REACHED:
        classes.append("traversed")
    group = sketch.add(root, "g", " ".join(dict.fromkeys(c for c in classes if c)))
    group.set("data-element-id", element_id)
    sketch.add(group, "title").text = f"{name or element_id} ({_STATE_TEXT[state]})"
    return group


def _badges(
    sketch: Sketch, root: etree._Element, nodes: Mapping[str, Node], numbers: Mapping[str, float | int | str]
) -> None:
    """One badge per numbered element, above everything else so no shape hides it."""
    layer = sketch.add(root, "g", "badges")
    for element_id, value in numbers.items():
        node = nodes.get(element_id)
        if node is None or category(node.kind) in ("pool", "lane"):
            continue
        text = _badge_text(value)
        width = 10 + 6.5 * len(text)
        badge = sketch.add(layer, "g", "badge")
        badge.set("data-element-id", element_id)
        box = Box(node.box.right - width / 2, node.box.y - 9, width, 18)
        sketch.rect(badge, box, "badge-shape", radius=9)
        sketch.text(badge, [text], box.cx, box.y + 13)


def _badge_text(value: float | int | str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _clean(str(value))[:12] or "-"
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _legend(sketch: Sketch, root: etree._Element, x: float, y: float) -> None:
    legend = sketch.add(root, "g", "legend")
    for index, state in enumerate(("completed", "active", "not_reached")):
        item = sketch.add(legend, "g", f"legend-item {_STATE_CLASS[state]}")
        sketch.rect(item, Box(x + index * 110, y, 14, 14), "shape", radius=3)
        sketch.text(item, [_STATE_TEXT[state].capitalize()], x + index * 110 + 20, y + 11, anchor="start")


def _clean(text: str) -> str:
    """Text lxml accepts (XML characters only), on one line."""
    return " ".join(_NOT_XML_TEXT.sub("", text).split())


def _css() -> str:
    s = ".onestop-bpmn"
    rules = [
        f"svg{s}{{background:#fff;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}}",
        f"{s} text{{font-size:11px;fill:#3c4043}}",
        f"{s} .shape{{stroke-width:1.5}}",
        f"{s} .shape-inner,{s} .glyph,{s} .line{{fill:none;stroke-width:1.5;stroke-linejoin:round}}",
        f"{s} .glyph-inverse{{fill:none;stroke:#fff;stroke-width:1.2}}",
    ]
    for state, (stroke, fill) in _PALETTE.items():
        c = f"{s} .{state}"
        rules += [
            f"{c} .shape{{stroke:{stroke};fill:{fill}}}",
            f"{c} .shape-inner,{c} .glyph,{c} .line{{stroke:{stroke}}}",
            f"{c} .arrow-open{{stroke:{stroke};fill:#fff}}",
            f"{c} .glyph-fill,{c} .arrow{{fill:{stroke};stroke:{stroke}}}",
        ]
    rules += [
        f"{s} .not-reached text{{fill:#5f6368}}",
        f"{s} .thick{{stroke-width:3.5}}",
        f"{s} .sub{{stroke-width:2.5}}",
        f"{s} .call{{stroke-width:4}}",
        f"{s} .gear{{stroke-width:2.5;stroke-dasharray:2.4 1.6}}",
        f"{s} .dashed{{stroke-dasharray:6 3}}",
        f"{s} .dotted{{stroke-dasharray:2 3}}",
        f"{s} .message{{stroke-dasharray:8 5}}",
        f"{s} .pool .shape,{s} .lane .shape,{s} .pool .shape-inner",
        "{fill:none;stroke:#5f6368;stroke-width:1.2}",
        f"{s} .annotation .shape,{s} .group .shape{{fill:none}}",
        f"{s} .group .shape{{stroke-dasharray:8 4 2 4}}",
        f"{s} .traversed .line{{stroke-width:2}}",
        f"{s} .active .shape,{s} .active .line{{stroke-width:3}}",
        f"{s} .legend text{{fill:#3c4043}}",
        f"{s} .badge-shape{{fill:#1a73e8;stroke:#fff;stroke-width:1}}",
        f"{s} .badge text{{fill:#fff;font-weight:600}}",
    ]
    return "".join(rules)
