"""Drawing BPMN diagrams as SVG: every element at its DI place, coloured by case state, safe to embed.

The MIWG tests read the OMG BPMN Model Interchange Working Group reference models from
the shared corpus (bpmn-miwg/bpmn-miwg-test-suite, folder ``Reference/``; © the BPMN MIWG
contributors, Creative Commons Attribution 3.0 Unported); they are skipped if the corpus
is not on this machine.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from lxml import etree

from designer.diagram import render_svg
from engine.errors import DiagramUnavailable, XmlRejected
from engine.xml_safety import parse_xml
from tests.conftest import DATA, PROCEDURES

SVG = "{http://www.w3.org/2000/svg}"
MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
PERMIT = PROCEDURES / "building_permit" / "process.bpmn"
MIWG = Path("/work/shared/corpora/miwg-reference")
MIWG_FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []
needs_miwg = pytest.mark.skipif(not MIWG_FILES, reason=f"MIWG reference corpus not found at {MIWG}")

FLOW_NODE_KINDS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "serviceTask",
    "scriptTask",
    "manualTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "subProcess",
    "callActivity",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "sequenceFlow",
}


def _svg(text: str) -> etree._Element:
    return parse_xml(text, file="diagram.svg").getroot()


def _groups(svg: etree._Element) -> dict[str, etree._Element]:
    return {g.get("data-element-id") or "": g for g in svg.iter(f"{SVG}g") if g.get("data-element-id")}


def _classes(group: etree._Element) -> set[str]:
    return set((group.get("class") or "").split())


def _label(group: etree._Element) -> list[str]:
    return [span.text or "" for span in group.iter(f"{SVG}tspan")]


def _view_box(svg: etree._Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in (svg.get("viewBox") or "").split())
    return x, y, x + w, y + h


def _permit(**kwargs: object) -> etree._Element:
    return _svg(render_svg(PERMIT.read_bytes(), file="process.bpmn", **kwargs))  # type: ignore[arg-type]


def _tiny_bpmn(task_name: str = "Review", task_id: str = "task_1", width: str = "100") -> str:
    name, ident = html.escape(task_name, quote=True), html.escape(task_id, quote=True)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="http://example.org/t">
  <process id="p">
    <startEvent id="start" name="In"/>
    <userTask id="{ident}" name="{name}"/>
    <sequenceFlow id="f1" name="{name}" sourceRef="start" targetRef="{ident}"/>
  </process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="task_di" bpmnElement="{ident}"><dc:Bounds x="200" y="78" width="{width}" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>"""


def _first_plane(tree: etree._ElementTree) -> etree._Element:
    return next(
        d for d in tree.iter(f"{BPMNDI}BPMNDiagram") if next(d.iter(f"{BPMNDI}BPMNShape"), None) is not None
    )


def _drawable_refs(plane: etree._Element) -> set[str]:
    refs = {
        s.get("bpmnElement") or ""
        for s in plane.iter(f"{BPMNDI}BPMNShape")
        if s.find(f"{DC}Bounds") is not None
    }
    refs |= {
        e.get("bpmnElement") or ""
        for e in plane.iter(f"{BPMNDI}BPMNEdge")
        if len(e.findall(f"{DI}waypoint")) >= 2
    }
    return refs - {""}


# --- the building permit ---------------------------------------------------------------


def test_every_flow_node_lane_and_flow_of_the_permit_is_drawn_with_its_id() -> None:
    model = parse_xml(PERMIT.read_bytes(), file="process.bpmn")
    expected = {
        e.get("id")
        for e in model.iter(f"{MODEL}*")
        if etree.QName(e).localname in FLOW_NODE_KINDS | {"lane", "participant"}
    }
    drawn = _groups(_permit())
    assert len(expected) > 50
    assert expected <= set(drawn)


def test_view_box_covers_every_di_bound_and_waypoint_of_the_permit() -> None:
    model = parse_xml(PERMIT.read_bytes(), file="process.bpmn")
    svg = _permit()
    left, top, right, bottom = _view_box(svg)
    for bounds in model.iter(f"{DC}Bounds"):
        x, y = float(bounds.get("x", "")), float(bounds.get("y", ""))
        w, h = float(bounds.get("width", "")), float(bounds.get("height", ""))
        assert left <= x and y >= top and x + w <= right and y + h <= bottom, bounds.sourceline
    for point in model.iter(f"{DI}waypoint"):
        assert left <= float(point.get("x", "")) <= right and top <= float(point.get("y", "")) <= bottom
    assert svg.get("width") == "100%"
    assert left < 100 and right > 2640  # the pool spans x 100..2640, plus a margin


def test_elements_carry_their_family_and_bpmn_kind_as_classes() -> None:
    groups = _groups(_permit())
    assert {"element", "task", "userTask"} <= _classes(groups["check_completeness"])
    assert {"task", "scriptTask"} <= _classes(groups["reset_review_results"])
    assert {"task", "businessRuleTask"} <= _classes(groups["calculate_fee"])
    assert {"task", "serviceTask"} <= _classes(groups["send_delay_notice"])
    assert {"gateway", "eventBasedGateway"} <= _classes(groups["gw_await_supplement"])
    assert {"gateway", "parallelGateway"} <= _classes(groups["gw_review_split"])
    assert {"event", "boundaryEvent"} <= _classes(groups["timer_payment_deadline"])
    assert {"event", "intermediateCatchEvent"} <= _classes(groups["timer_supplement_deadline"])
    assert {"pool", "participant"} <= _classes(groups["participant_building_permit"])
    assert {"lane"} <= _classes(groups["lane_engineer"])
    assert {"flow", "sequenceFlow"} <= _classes(groups["flow_start_to_check"])


def test_names_are_drawn_as_labels() -> None:
    groups = _groups(_permit())
    assert _label(groups["check_completeness"]) == ["Check", "completeness"]
    assert " ".join(_label(groups["start_application_received"])) == "Application received"
    assert _label(groups["flow_dossier_incomplete"]) == ["Incomplete"]
    assert _label(groups["lane_engineer"]) == ["engineer"]
    assert _label(groups["gw_decision"]) == ["Decision?"]


def test_shapes_follow_the_notation() -> None:
    groups = _groups(_permit())
    exclusive, event_based = groups["gw_dossier_complete"], groups["gw_await_supplement"]
    assert exclusive.find(f"{SVG}polygon") is not None and exclusive.find(f"{SVG}path") is not None
    assert len(event_based.findall(f"{SVG}circle")) >= 2
    end = groups["end_permit_issued"].find(f"{SVG}circle")
    assert end is not None and "thick" in (end.get("class") or "")
    boundary = groups["timer_payment_deadline"]
    ring_classes = [c.get("class") or "" for c in boundary.findall(f"{SVG}circle")]
    assert "shape-inner" in ring_classes and "glyph" in ring_classes  # double ring and clock
    task = groups["check_completeness"].find(f"{SVG}rect")
    assert task is not None and task.get("rx") == "10"
    # The default flow has a slash near its source: one more polyline than an ordinary flow.
    assert len(groups["flow_dossier_incomplete"].findall(f"{SVG}polyline")) == 2
    assert len(groups["flow_dossier_complete"].findall(f"{SVG}polyline")) == 1


def test_pools_and_lanes_are_drawn_first_and_boundary_events_after_their_host() -> None:
    ids = list(_groups(_permit()))
    containers = {"participant_building_permit", "lane_intake_officer", "lane_engineer", "lane_approver"}
    assert set(ids[:4]) == containers
    assert ids.index("record_payment") < ids.index("timer_payment_deadline")
    flows = [i for i, element_id in enumerate(ids) if element_id.startswith("flow_")]
    tasks = [ids.index(t) for t in ("check_completeness", "plan_review", "issue_permit")]
    assert flows and max(flows) < min(tasks)  # arrowheads end under the shapes, not over them


def test_drawing_order_does_not_depend_on_the_di_order() -> None:
    text = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    id="d" targetNamespace="http://example.org/t">
  <process id="p">
    <task id="host" name="Host"/>
    <boundaryEvent id="deadline" attachedToRef="host"><timerEventDefinition/></boundaryEvent>
    <subProcess id="sub" name="Sub"><task id="inner" name="Inner"/></subProcess>
  </process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="deadline_di" bpmnElement="deadline"><dc:Bounds x="130" y="160" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="inner_di" bpmnElement="inner"><dc:Bounds x="330" y="120" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="sub_di" bpmnElement="sub" isExpanded="true"><dc:Bounds x="300" y="80" width="300" height="200"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="host_di" bpmnElement="host"><dc:Bounds x="100" y="100" width="100" height="80"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>"""
    ids = list(_groups(_svg(render_svg(text))))
    assert ids.index("host") < ids.index("deadline")  # the boundary event sits on top of its host
    assert ids.index("sub") < ids.index("inner")  # an expanded sub-process is the background of its content


# --- states ------------------------------------------------------------------------------


def test_states_colour_elements_and_missing_ids_are_not_reached() -> None:
    states = {
        "start_application_received": "completed",
        "check_completeness": "completed",
        "gw_dossier_complete": "active",
    }
    groups = _groups(_permit(states=states))
    assert "completed" in _classes(groups["check_completeness"])
    assert "active" in _classes(groups["gw_dossier_complete"])
    assert {"not-reached"} <= _classes(groups["request_supplement"])
    for element_id, group in groups.items():
        state_classes = _classes(group) & {"completed", "active", "not-reached"}
        assert len(state_classes) == 1, element_id


def test_a_flow_between_reached_elements_is_traversed() -> None:
    states = {
        "start_application_received": "completed",
        "check_completeness": "completed",
        "lookup_applicant": "completed",
        "record_registry_data": "completed",
        "gw_dossier_complete": "active",
    }
    groups = _groups(_permit(states=states))
    assert {"completed", "traversed"} <= _classes(groups["flow_start_to_check"])
    # completed -> active
    assert {"completed", "traversed"} <= _classes(groups["flow_registry_to_gw_complete"])
    assert "traversed" not in _classes(groups["flow_dossier_incomplete"])  # target not reached
    assert "not-reached" in _classes(groups["flow_dossier_incomplete"])


def test_an_explicit_flow_state_wins_over_the_derived_one() -> None:
    groups = _groups(_permit(states={"flow_dossier_complete": "active"}))
    assert {"active", "traversed"} <= _classes(groups["flow_dossier_complete"])


def test_the_style_colours_states_differently_and_the_legend_shows_with_states() -> None:
    with_states = render_svg(PERMIT.read_bytes(), states={"check_completeness": "active"})
    svg = _svg(with_states)
    style = svg.find(f"{SVG}style")
    assert style is not None and style.text
    colours = {
        state: re.search(rf"\.{state} \.shape\{{stroke:(#[0-9a-f]+)", style.text)
        for state in ("completed", "active", "not-reached")
    }
    assert all(colours.values())
    assert len({match.group(1) for match in colours.values() if match}) == 3
    assert svg.find(f".//{SVG}g[@class='legend']") is not None
    assert _svg(render_svg(PERMIT.read_bytes())).find(f".//{SVG}g[@class='legend']") is None


def _badges(svg: etree._Element) -> dict[str, str]:
    layer = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "badges")
    return {
        g.get("data-element-id") or "": "".join(_label(g))
        for g in layer.iter(f"{SVG}g")
        if g.get("data-element-id")
    }


def test_numbers_are_drawn_as_badges_on_their_elements_above_every_shape() -> None:
    numbers = {"plan_review": 12, "site_visit": 3.25, "gw_decision": "2d 4h", "no_such_element": 5}
    svg = _permit(numbers=numbers)
    badges = _badges(svg)
    assert badges == {"plan_review": "12", "site_visit": "3.2", "gw_decision": "2d 4h"}
    groups = list(svg.iterchildren(f"{SVG}g"))
    assert groups[-1].get("class") == "badges"  # drawn last, so nothing covers a badge
    shape = next(
        s
        for s in parse_xml(PERMIT.read_bytes(), file="p").iter(f"{BPMNDI}BPMNShape")
        if s.get("bpmnElement") == "plan_review"
    )
    bounds = shape.find(f"{DC}Bounds")
    assert bounds is not None
    badge_box = next(g for g in groups[-1].iter(f"{SVG}g") if g.get("data-element-id") == "plan_review")
    rect = next(badge_box.iter(f"{SVG}rect"))
    right = float(bounds.get("x") or 0) + float(bounds.get("width") or 0)
    assert float(rect.get("x") or 0) < right < float(rect.get("x") or 0) + float(rect.get("width") or 0)


def test_badge_values_that_are_not_finite_numbers_or_are_hostile_stay_harmless_text() -> None:
    numbers = {"plan_review": float("nan"), "site_visit": "<script>alert(1)</script>", "approval": 1234567}
    text = render_svg(PERMIT.read_bytes(), numbers=numbers)
    assert "<script" not in text
    badges = _badges(_svg(text))
    assert badges["plan_review"] == "-"
    assert badges["site_visit"] == "<script>aler"  # text, cut to 12 characters
    assert badges["approval"] == "1,234,567"
    assert "badges" not in render_svg(PERMIT.read_bytes())


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="check_completeness"):
        render_svg(PERMIT.read_bytes(), states={"check_completeness": "done"})  # type: ignore[dict-item]


# --- safe output --------------------------------------------------------------------------


def _assert_inert(svg: etree._Element) -> None:
    for element in svg.iter():
        assert etree.QName(element).localname not in {
            "script",
            "foreignObject",
            "iframe",
            "a",
            "image",
            "use",
        }
        for name, value in element.attrib.items():
            local = etree.QName(name).localname.lower()
            assert not local.startswith("on") and local != "href", (name, value)
            assert "javascript:" not in value.lower() and "url(" not in value.lower()
    style = svg.find(f"{SVG}style")
    assert style is not None and "url(" not in (style.text or "") and "@import" not in (style.text or "")


def test_hostile_names_and_ids_stay_text() -> None:
    name = "<script>alert(1)</script> & \"onload=alert(2)\" 'x'"
    task_id = 'task_1" onload="alert(3)'
    text = render_svg(_tiny_bpmn(name, task_id), file="hostile.bpmn")
    svg = _svg(text)
    _assert_inert(svg)
    assert "<script" not in text
    groups = _groups(svg)
    assert set(groups) == {"start", task_id, "f1"}
    title = groups[task_id].find(f"{SVG}title")
    assert title is not None and title.text == f"{name} (not reached)"
    assert "".join(_label(groups[task_id])).startswith("<script>")
    assert groups["f1"].find(f"{SVG}title") is not None


def test_a_hostile_title_is_escaped() -> None:
    title = "</title><script>alert(1)</script>"
    svg = _svg(render_svg(_tiny_bpmn(), title=title))
    _assert_inert(svg)
    assert svg[0].tag == f"{SVG}title" and svg[0].text == title
    assert _svg(render_svg(_tiny_bpmn(), file="p.bpmn"))[0].text == "BPMN diagram of p.bpmn"


def test_the_permit_drawing_is_inert_and_embeddable_in_markdown() -> None:
    text = render_svg(PERMIT.read_bytes(), states={"check_completeness": "completed"})
    _assert_inert(_svg(text))
    first, _, rest = text.partition("\n")
    assert first.startswith("<svg ") and first.endswith(">") and "<" not in first[1:]
    assert rest and "\n\n" not in text and not text.startswith("<?xml")


def test_long_names_are_wrapped_and_cut_with_an_ellipsis() -> None:
    name = " ".join(f"word{i}" for i in range(40))
    groups = _groups(_svg(render_svg(_tiny_bpmn(name))))
    lines = _label(groups["task_1"])
    assert 2 <= len(lines) <= 5
    assert lines[-1].endswith("…")
    assert lines[0].split()[0] == "word0"
    assert all(len(line) <= 16 for line in lines)  # fits a 100-unit box


def test_str_and_bytes_give_the_same_drawing() -> None:
    text = PERMIT.read_text(encoding="utf-8")
    assert render_svg(text) == render_svg(PERMIT.read_bytes())


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [DATA / "linear10.bpmn", DATA / "review_loop" / "process.bpmn"],
    ids=lambda p: p.parent.name + "/" + p.name,
)
def test_a_bpmn_without_di_is_unavailable_and_names_the_file(path: Path) -> None:
    with pytest.raises(DiagramUnavailable, match=re.escape(path.name)) as refused:
        render_svg(path.read_bytes(), file=path.name)
    assert refused.value.details["file"] == path.name


def test_shapes_without_usable_bounds_are_skipped() -> None:
    broken = _tiny_bpmn(width="NaN").replace('width="36"', 'width="-36"')
    with pytest.raises(DiagramUnavailable, match=re.escape("broken.bpmn")):
        render_svg(broken, file="broken.bpmn")
    svg = _svg(render_svg(_tiny_bpmn(width="1e400")))
    assert set(_groups(svg)) == {"start", "f1"}


def test_a_shape_for_an_unknown_element_is_still_drawn() -> None:
    text = _tiny_bpmn().replace('bpmnElement="task_1"', 'bpmnElement="ghost"')
    groups = _groups(_svg(render_svg(text)))
    assert "other" in _classes(groups["ghost"])


@pytest.mark.parametrize(
    "name",
    [
        "xxe_file.bpmn",
        "xxe_parameter_entity.bpmn",
        "billion_laughs.bpmn",
        "external_dtd.bpmn",
        "malformed.bpmn",
    ],
)
def test_unsafe_or_malformed_xml_is_rejected(name: str) -> None:
    with pytest.raises(XmlRejected) as refused:
        render_svg((DATA / "xml" / name).read_bytes(), file=name)
    assert refused.value.details["file"] == name


# --- the MIWG reference models -------------------------------------------------------------


@needs_miwg
@pytest.mark.parametrize("path", MIWG_FILES or [MIWG / "absent.bpmn"], ids=lambda p: p.name)
def test_every_miwg_reference_model_renders_every_di_element(path: Path) -> None:
    data = path.read_bytes()
    text = render_svg(data, file=path.name, states={})
    svg = _svg(text)
    _assert_inert(svg)
    drawn = _groups(svg)
    assert _drawable_refs(_first_plane(parse_xml(data, file=path.name))) <= set(drawn)


def test_the_miwg_copy_in_test_data_renders() -> None:
    groups = _groups(_svg(render_svg((DATA / "xml" / "miwg-A.1.0.bpmn").read_bytes())))
    assert sum("task" in _classes(g) for g in groups.values()) >= 3


@needs_miwg
def test_only_the_first_diagram_is_drawn() -> None:
    data = (MIWG / "C.4.0.bpmn").read_bytes()
    diagrams = list(parse_xml(data, file="C.4.0.bpmn").iter(f"{BPMNDI}BPMNDiagram"))
    assert len(diagrams) > 1
    first, others = _drawable_refs(diagrams[0]), set().union(*(_drawable_refs(d) for d in diagrams[1:]))
    drawn = set(_groups(_svg(render_svg(data))))
    assert first <= drawn
    assert not (others - first) & drawn


@needs_miwg
def test_a_collaboration_draws_every_pool_and_message_flow() -> None:
    groups = _groups(_svg(render_svg((MIWG / "A.4.1.bpmn").read_bytes())))
    pools = [g for g in groups.values() if "pool" in _classes(g)]
    messages = [g for g in groups.values() if "messageFlow" in _classes(g)]
    assert sorted(_label(p)[0] for p in pools) == ["Pool 1", "Pool 2"]
    assert len(messages) == 2
    assert all(len(m.findall(f"{SVG}circle")) == 1 for m in messages)  # the message flow's source circle
