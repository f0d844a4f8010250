"""The BPMN 2.0 XML of a generated process: semantics for the engine, DI for modelers.

Written as an lxml tree, so every name and condition the designer typed ends up as escaped
text or attribute values. The process follows the conventions of the bundled procedures
and of SpiffArena: one pool in a collaboration, lanes named by role, the form of each user
task in ``spiffworkflow:property name="formJsonSchemaFilename"``, conditions as
``tFormalExpression`` (Python), quoted ISO-8601 durations on timers.
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

from designer.bpmn_graph import MESSAGE_VARIABLE, Flow, Node, ProcessGraph
from designer.bpmn_layout import Bounds, DiagramLayout
from designer.spec_model import ProcedureSpec
from engine.bpmn_schema import BPMN_NAMESPACE, SPIFF_NAMESPACE

__all__ = ["bpmn_document", "form_file_of"]

BPMNDI_NAMESPACE: Final = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NAMESPACE: Final = "http://www.omg.org/spec/DD/20100524/DC"
DI_NAMESPACE: Final = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NAMESPACE: Final = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES: Final = {
    "bpmn": BPMN_NAMESPACE,
    "bpmndi": BPMNDI_NAMESPACE,
    "dc": DC_NAMESPACE,
    "di": DI_NAMESPACE,
    "spiffworkflow": SPIFF_NAMESPACE,
    "xsi": XSI_NAMESPACE,
}
FORM_PROPERTY: Final = "formJsonSchemaFilename"
_FORMAL: Final = "bpmn:tFormalExpression"
_NOT_XML_TEXT: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def bpmn_document(spec: ProcedureSpec, graph: ProcessGraph, layout: DiagramLayout) -> bytes:
    """The ``process.bpmn`` of ``spec`` (UTF-8, with an XML declaration)."""
    code = spec.code
    root = etree.Element(_q("definitions"), nsmap=NAMESPACES)  # type: ignore[arg-type]
    root.set("id", f"Definitions_{code}")
    root.set("targetNamespace", f"http://onestop.example/procedures/{code}")
    root.set("exporter", "OneStop procedure builder")
    root.set("exporterVersion", "0.1")
    collaboration = _sub(root, "collaboration", id=f"Collaboration_{code}")
    _sub(
        collaboration,
        "participant",
        id=f"Participant_{code}",
        name=spec.name.en,
        processRef=f"Process_{code}",
    )
    process = _sub(root, "process", id=f"Process_{code}", name=spec.name.en, isExecutable="true")
    _lanes(process, graph, code)
    for node in graph.nodes:
        _flow_node(process, node, graph)
    for flow in graph.flows:
        _sequence_flow(process, flow)
    for message in sorted({node.message for node in graph.nodes if node.message}):
        _sub(root, "message", id=f"Message_{message}", name=message)
    _diagram(root, graph, layout, code)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def form_file_of(node: Node) -> str | None:
    """The form file a user task names: the supplied one, or ``<step id>.json``."""
    if node.step is None:
        return None
    return node.step.form or f"{node.step.id}.json"


def _lanes(process: etree._Element, graph: ProcessGraph, code: str) -> None:
    lane_set = _sub(process, "laneSet", id=f"LaneSet_{code}")
    for role in graph.lanes:
        lane = _sub(lane_set, "lane", id=f"Lane_{role}", name=role)
        for node in graph.nodes:
            if node.lane == role:
                _sub(lane, "flowNodeRef").text = node.id


def _flow_node(process: etree._Element, node: Node, graph: ProcessGraph) -> None:
    element = _sub(process, node.kind, id=node.id)
    if node.name:
        element.set("name", _text(node.name))
    if node.attached_to is not None:
        element.set("attachedToRef", node.attached_to)
        # The allowance is a reminder: the task stays open and the firing is recorded.
        element.set("cancelActivity", "false")
    default = next((f.id for f in graph.flows if f.source == node.id and f.is_default), None)
    if default is not None:
        element.set("default", default)
    form = form_file_of(node)
    if form is not None:
        properties = _sub(_sub(element, "extensionElements"), "properties", namespace=SPIFF_NAMESPACE)
        _sub(properties, "property", namespace=SPIFF_NAMESPACE, name=FORM_PROPERTY, value=form)
    for flow in graph.flows:
        if flow.target == node.id:
            _sub(element, "incoming").text = flow.id
    for flow in graph.flows:
        if flow.source == node.id:
            _sub(element, "outgoing").text = flow.id
    if node.timer_days is not None:
        timer = _sub(element, "timerEventDefinition", id=f"{node.id}_definition")
        duration = _sub(timer, "timeDuration")
        duration.set(f"{{{XSI_NAMESPACE}}}type", _FORMAL)
        duration.text = f'"P{node.timer_days}D"'
    if node.message is not None:
        definition = _sub(element, "messageEventDefinition", id=f"{node.id}_definition")
        definition.set("messageRef", f"Message_{node.message}")
        variable = _sub(_sub(definition, "extensionElements"), "messageVariable", namespace=SPIFF_NAMESPACE)
        variable.text = MESSAGE_VARIABLE


def _sequence_flow(process: etree._Element, flow: Flow) -> None:
    element = _sub(process, "sequenceFlow", id=flow.id, sourceRef=flow.source, targetRef=flow.target)
    if flow.name:
        element.set("name", _text(flow.name))
    if flow.condition is not None:
        condition = _sub(element, "conditionExpression")
        condition.set(f"{{{XSI_NAMESPACE}}}type", _FORMAL)
        condition.text = _text(flow.condition)


def _diagram(root: etree._Element, graph: ProcessGraph, layout: DiagramLayout, code: str) -> None:
    diagram = _sub(root, "BPMNDiagram", namespace=BPMNDI_NAMESPACE, id=f"Diagram_{code}")
    plane = _sub(diagram, "BPMNPlane", namespace=BPMNDI_NAMESPACE, id=f"Plane_{code}")
    plane.set("bpmnElement", f"Collaboration_{code}")
    _shape(plane, f"Participant_{code}", layout.pool, isHorizontal="true")
    for role, bounds in layout.lanes.items():
        _shape(plane, f"Lane_{role}", bounds, isHorizontal="true")
    for node in graph.nodes:
        extra = {"isMarkerVisible": "true"} if node.kind == "exclusiveGateway" else {}
        _shape(plane, node.id, layout.shapes[node.id], **extra)
    for flow in graph.flows:
        edge = _sub(plane, "BPMNEdge", namespace=BPMNDI_NAMESPACE, id=f"{flow.id}_di", bpmnElement=flow.id)
        for x, y in layout.edges[flow.id]:
            _sub(edge, "waypoint", namespace=DI_NAMESPACE, x=_number(x), y=_number(y))


def _shape(plane: etree._Element, element_id: str, bounds: Bounds, **attributes: str) -> None:
    shape = _sub(
        plane, "BPMNShape", namespace=BPMNDI_NAMESPACE, id=f"{element_id}_di", bpmnElement=element_id
    )
    for name, value in attributes.items():
        shape.set(name, value)
    _sub(
        shape,
        "Bounds",
        namespace=DC_NAMESPACE,
        x=_number(bounds.x),
        y=_number(bounds.y),
        width=_number(bounds.width),
        height=_number(bounds.height),
    )


def _sub(
    parent: etree._Element, tag: str, *, namespace: str = BPMN_NAMESPACE, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}")
    for name, value in attributes.items():
        element.set(name, _text(value))
    return element


def _q(tag: str) -> str:
    return f"{{{BPMN_NAMESPACE}}}{tag}"


def _text(value: str) -> str:
    """``value`` without characters XML cannot hold (lxml refuses them)."""
    return _NOT_XML_TEXT.sub("", value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
