"""Packages generated from procedure specs: valid BPMN with a complete, clean diagram, forms
and a manual that validate, and every path running in the real engine."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from designer.bpmn_generator import PROCESS_FILE, generate_package, manual_yaml
from designer.diagram import render_svg
from designer.manual import ServiceManual
from designer.procedure_spec import ProcedureSpec, RouteSpec, load_spec
from designer.validation import has_errors, validate_package, validate_path
from engine import SYSTEM_ACTOR, OneStop, PackageFiles
from engine.bpmn_schema import schema_findings
from engine.errors import ProcedureInvalid
from engine.xml_safety import parse_xml
from runtime.cli import main
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
EXAMPLE = Path(__file__).resolve().parents[2] / "designer" / "spec_examples" / "household_business.yaml"

HEADER = """\
code: shop_licence
name: {en: Shop licence, vi: Giấy phép cửa hàng, th: ใบอนุญาตร้านค้า}
time_limit_days: 10
legal_basis: [Shop Act s.4]
responsible_unit: Licensing office
channels: [counter]
documents: [{name: Application form}, {name: {en: ID card, vi: Căn cước}, held_by_state: true}]
results: [{name: Shop licence, validity: 5 years}]
complaint_channel: Mayor's office
"""
SPEC = (
    HEADER
    + """\
steps:
  - {id: check, name_en: Check the application, role: intake_officer, allowance_days: 2,
     fields: "applicant_name:text!, documents_complete:boolean!, amount:number!"}
  - {id: supplement, kind: supplement, name_en: Request missing documents, role: intake_officer,
     condition: not documents_complete, fields: "missing_items:text!", wait_days: 10, goto: check}
  - id: triage
    kind: decision
    name_en: Amount?
    routes: [{when: amount < 0, goto: end}, {when: amount > 1000, goto: site_visit}]
    default: approve
  - {id: site_visit, name_en: Visit the site, role: engineer, parallel: reviews, allowance_days: 3,
     fields: "site_ok:boolean!"}
  - {id: finance_check, name_en: Check the finances, role: intake_officer, parallel: reviews,
     fields: "finance_ok:boolean!"}
  - {id: legal_check, name_en: Check legal status, role: intake_officer, parallel: reviews,
     fields: "legal_ok:boolean!"}
  - id: reviews_ok
    kind: decision
    name_en: Reviews passed?
    routes: [{when: not (site_ok and finance_ok and legal_ok), goto: check}]
    default: approve
  - {id: approve, kind: approval, name_en: Decide, role: approver, allowance_days: 3, fields: "conditions:text"}
  - {id: issue, name_en: Issue the licence, role: intake_officer,
     fields: "licence_no:text!, issued_on:date, scan:file"}
"""
)
# Shapes of process that the layout must also handle.
VARIANTS = {
    "approval-last": HEADER
    + """\
steps:
  - {id: check, name_en: Check, role: intake_officer, fields: "ok:boolean!"}
  - {id: decide, kind: approval, name_en: Decide, role: approver, allowance_days: 1}
""",
    "decision-ends": HEADER
    + """\
steps:
  - {id: check, name_en: Check, role: clerk, fields: "score:integer!"}
  - id: route
    kind: decision
    routes: [{when: score < 0, goto: end}, {when: score > 10, goto: end}, {when: score == 5, goto: check}]
    default: end
""",
    "supplement-last-and-branches-in-one-lane": HEADER
    + """\
steps:
  - {id: a, name_en: A, role: clerk, parallel: g, allowance_days: 1, fields: "x:boolean!"}
  - {id: b, name_en: B, role: clerk, parallel: g, allowance_days: 1}
  - {id: c, name_en: C, role: other, parallel: g}
  - {id: more, kind: supplement, name_en: More, role: clerk, condition: not x, wait_days: 3, goto: a,
     allowance_days: 2}
""",
    "one-task": HEADER + "steps: [{id: only, name_en: Only, role: clerk}]\n",
}


def spec_of(text: str) -> ProcedureSpec:
    spec, findings = load_spec(text)
    assert spec is not None, findings
    return spec


def package_of(text: str) -> PackageFiles:
    return generate_package(spec_of(text))


ALL_SPECS = {"licence": SPEC, "example": EXAMPLE.read_text(encoding="utf-8"), **VARIANTS}


# -- the package -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ALL_SPECS.values(), ids=ALL_SPECS.keys())
def test_generated_package_follows_the_schema_and_validates_cleanly(text: str) -> None:
    files = package_of(text)
    tree = parse_xml(files.bpmn[PROCESS_FILE], file=PROCESS_FILE)
    assert schema_findings(tree, file=PROCESS_FILE, kind="bpmn") == []
    findings = validate_package(files, manual_text=manual_yaml(files.manual))
    assert [f for f in findings if f.severity != "info"] == []


def test_process_uses_the_conventions_of_the_engine() -> None:
    root = etree.fromstring(package_of(SPEC).bpmn[PROCESS_FILE])
    process = root.find(f"{MODEL}process")
    assert process is not None and process.get("isExecutable") == "true"
    assert [lane.get("name") for lane in root.iter(f"{MODEL}lane")] == [
        "intake_officer",
        "engineer",
        "approver",
    ]
    assert len(root.findall(f"{MODEL}collaboration/{MODEL}participant")) == 1
    check = process.find(f"{MODEL}userTask[@id='check']")
    assert check is not None and check.get("name") == "Check the application"
    form = check.find(".//{http://spiffworkflow.org/bpmn/schema/1.0/core}property")
    assert form is not None and (form.get("name"), form.get("value")) == (
        "formJsonSchemaFilename",
        "check.json",
    )
    timer = process.find(f"{MODEL}boundaryEvent[@attachedToRef='check']")
    assert timer is not None and timer.get("cancelActivity") == "false"
    assert timer.findtext(f".//{MODEL}timeDuration") == '"P2D"'
    overdue = process.find(f"{MODEL}endEvent[@id='Event_check_overdue']")
    assert overdue is not None and overdue.get("name") == "Check the application overdue"
    conditions = {c.text: c.get(XSI_TYPE) for c in process.iter(f"{MODEL}conditionExpression")}
    assert conditions['decision == "approve"'] == "bpmn:tFormalExpression"
    assert "not documents_complete" in conditions and "amount > 1000" in conditions
    for gateway in process.iter(f"{MODEL}exclusiveGateway"):
        outgoing = [o.text for o in gateway.iter(f"{MODEL}outgoing")]
        assert len(outgoing) == 1 or gateway.get("default") in outgoing
    assert root.find(f"{MODEL}message[@name='documents_supplied']") is not None
    assert process.find(f"{MODEL}eventBasedGateway") is not None


def test_forms_and_manual_are_generated_from_the_spec() -> None:
    files = package_of(SPEC)
    assert sorted(files.forms) == sorted(
        f"{s}.json"
        for s in ("check", "supplement", "site_visit", "finance_check", "legal_check", "approve", "issue")
    )
    approve = json.loads(files.forms["approve.json"])
    assert list(approve["properties"]) == ["decision", "reason", "conditions"]
    assert approve["required"] == ["decision"] and approve["properties"]["decision"]["enum"] == [
        "approve",
        "refuse",
    ]
    issue = json.loads(files.forms["issue.json"])
    assert issue["properties"]["scan"]["format"] == "data-url"
    manual = ServiceManual.model_validate(files.manual)
    assert manual.starter_role == "intake_officer"
    assert manual.time_limit is not None and (manual.time_limit.value, manual.time_limit.day_type) == (
        10,
        "working",
    )
    assert [(s.id, s.role, s.allowance_days) for s in manual.steps][:2] == [
        ("check", "intake_officer", 2),
        ("supplement", "intake_officer", None),
    ]
    assert manual.documents[1].held_by_state and manual.results[0].validity == "5 years"


def test_a_form_supplied_as_a_file_is_used_as_is() -> None:
    text = SPEC.replace('fields: "site_ok:boolean!"}', "form: site.json}")
    form = json.dumps({"type": "object", "properties": {"site_ok": {"type": "boolean"}}}).encode()
    files = generate_package(spec_of(text), forms={"site.json": form})
    assert files.forms["site.json"] == form and "site_visit.json" not in files.forms
    missing = validate_package(generate_package(spec_of(text)))
    assert "form-missing" in {f.code for f in missing}


def test_a_spec_with_errors_is_refused_with_its_findings() -> None:
    spec = spec_of(SPEC)
    triage = spec.steps[2].model_copy(update={"routes": [RouteSpec(when="amount > 1", goto="nowhere")]})
    broken = spec.model_copy(update={"steps": [*spec.steps[:2], triage, *spec.steps[3:]]})
    with pytest.raises(ProcedureInvalid) as caught:
        generate_package(broken)
    assert [f.code for f in caught.value.findings] == ["spec-goto-unknown"]
    assert "step row 3, column 'routes'" in caught.value.findings[0].message


def test_user_text_is_escaped_in_the_xml() -> None:
    text = SPEC.replace("name_en: Decide,", 'name_en: "Decide <now> & \\"sign\\"\\a",')
    root = etree.fromstring(package_of(text).bpmn[PROCESS_FILE])
    task = root.find(f".//{MODEL}userTask[@id='approve']")
    assert task is not None and task.get("name") == 'Decide <now> & "sign"'


# -- the diagram -------------------------------------------------------------------------------


class Diagram:
    """The DI of a generated file, read back from the XML."""

    def __init__(self, bpmn: bytes) -> None:
        self.root = etree.fromstring(bpmn)
        self.process = self.root.find(f"{MODEL}process")
        assert self.process is not None
        skip = {f"{MODEL}laneSet", f"{MODEL}sequenceFlow"}
        self.nodes = {e.get("id"): e for e in self.process if e.tag not in skip}
        self.flows = {e.get("id"): e for e in self.process.iter(f"{MODEL}sequenceFlow")}
        self.bounds: dict[str, tuple[float, float, float, float]] = {}
        self.horizontal: dict[str, str | None] = {}
        for shape in self.root.iter(f"{BPMNDI}BPMNShape"):
            box = shape.find(f"{DC}Bounds")
            assert box is not None
            element = str(shape.get("bpmnElement"))
            self.bounds[element] = tuple(float(box.get(k) or "nan") for k in ("x", "y", "width", "height"))  # type: ignore[assignment]
            self.horizontal[element] = shape.get("isHorizontal")
        self.edges = {
            str(edge.get("bpmnElement")): [
                (float(p.get("x") or 0), float(p.get("y") or 0)) for p in edge.iter(f"{DI}waypoint")
            ]
            for edge in self.root.iter(f"{BPMNDI}BPMNEdge")
        }
        self.lane_of = {
            ref.text: lane.get("id")
            for lane in self.root.iter(f"{MODEL}lane")
            for ref in lane.iter(f"{MODEL}flowNodeRef")
        }


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def on_border(point: tuple[float, float], box: tuple[float, ...]) -> bool:
    x, y = point
    within_x, within_y = box[0] <= x <= box[0] + box[2], box[1] <= y <= box[1] + box[3]
    return (within_y and x in (box[0], box[0] + box[2])) or (within_x and y in (box[1], box[1] + box[3]))


@pytest.mark.parametrize("text", ALL_SPECS.values(), ids=ALL_SPECS.keys())
def test_diagram_is_complete(text: str) -> None:
    d = Diagram(package_of(text).bpmn[PROCESS_FILE])
    participant = d.root.find(f".//{MODEL}participant")
    assert participant is not None and d.horizontal[str(participant.get("id"))] == "true"
    lanes = [str(lane.get("id")) for lane in d.root.iter(f"{MODEL}lane")]
    assert all(d.horizontal[lane] == "true" for lane in lanes)
    assert set(d.nodes) <= set(d.bounds)
    assert set(d.nodes) == set(d.lane_of)
    assert set(d.flows) == set(d.edges)
    for size in ({"userTask": (100, 80)}, {"exclusiveGateway": (50, 50)}, {"endEvent": (36, 36)}):
        for kind, (width, height) in size.items():
            assert all(
                d.bounds[i][2:] == (width, height) for i, e in d.nodes.items() if e.tag == MODEL + kind
            )


@pytest.mark.parametrize("text", ALL_SPECS.values(), ids=ALL_SPECS.keys())
def test_no_shapes_overlap_and_each_is_inside_its_lane_and_pool(text: str) -> None:
    d = Diagram(package_of(text).bpmn[PROCESS_FILE])
    hosts = {i: e.get("attachedToRef") for i, e in d.nodes.items() if e.get("attachedToRef")}
    for a, b in itertools.combinations(d.nodes, 2):
        if hosts.get(a) == b or hosts.get(b) == a:
            continue
        assert not overlaps(d.bounds[a], d.bounds[b]), (a, b)
    participant = d.root.find(f".//{MODEL}participant")
    assert participant is not None
    pool = d.bounds[str(participant.get("id"))]
    lanes = [d.bounds[str(lane.get("id"))] for lane in d.root.iter(f"{MODEL}lane")]
    assert all(inside(lane, pool) for lane in lanes)
    assert all(below[1] == above[1] + above[3] for above, below in itertools.pairwise(lanes))
    for node, lane in d.lane_of.items():
        if node not in hosts:
            assert inside(d.bounds[str(node)], d.bounds[str(lane)]), node
    for boundary, host in hosts.items():
        x, y, width, height = d.bounds[boundary]
        hx, hy, hw, hh = d.bounds[str(host)]
        assert y + height / 2 == hy + hh and hx <= x + width / 2 <= hx + hw


@pytest.mark.parametrize("text", ALL_SPECS.values(), ids=ALL_SPECS.keys())
def test_flows_are_orthogonal_join_their_ends_and_cross_no_other_shape(text: str) -> None:
    d = Diagram(package_of(text).bpmn[PROCESS_FILE])
    hosts = {i: e.get("attachedToRef") for i, e in d.nodes.items() if e.get("attachedToRef")}
    for flow_id, points in d.edges.items():
        flow = d.flows[flow_id]
        source, target = str(flow.get("sourceRef")), str(flow.get("targetRef"))
        assert len(points) >= 2
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in itertools.pairwise(points)), flow_id
        assert on_border(points[0], d.bounds[source]) and on_border(points[-1], d.bounds[target]), flow_id
        ends = {source, target, hosts.get(source), hosts.get(target)}
        ends |= {b for b, h in hosts.items() if h in (source, target)}
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            segment = (min(x1, x2), min(y1, y2), abs(x2 - x1) or 0.5, abs(y2 - y1) or 0.5)
            crossed = [n for n in d.nodes if n not in ends and overlaps(segment, d.bounds[n])]
            assert crossed == [], (flow_id, crossed)


def test_steps_run_left_to_right_and_parallel_branches_stack_in_their_lane() -> None:
    d = Diagram(package_of(SPEC).bpmn[PROCESS_FILE])
    order = ["check", "supplement", "site_visit", "approve", "issue"]
    xs = [d.bounds[step][0] for step in order]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    finance, legal = d.bounds["finance_check"], d.bounds["legal_check"]
    assert finance[0] == legal[0] == d.bounds["site_visit"][0] and finance[1] < legal[1]
    assert d.lane_of["finance_check"] == d.lane_of["legal_check"] == "Lane_intake_officer"
    loop = d.edges["Flow_Gateway_reviews_ok_to_Gateway_check_merge"]
    assert min(y for _, y in loop) < min(d.bounds[n][1] for n in d.nodes)  # routed above the shapes


@pytest.mark.parametrize("text", [SPEC, EXAMPLE.read_text(encoding="utf-8")], ids=["licence", "example"])
def test_generated_diagram_renders(text: str) -> None:
    svg = render_svg(package_of(text).bpmn[PROCESS_FILE])
    tree = parse_xml(svg, file="diagram.svg")
    drawn = {g.get("data-element-id") for g in tree.iter("{http://www.w3.org/2000/svg}g")}
    assert {"check", "Gateway_check_merge"} <= drawn or {"receive_dossier", "Gateway_approve"} <= drawn


# -- the command line --------------------------------------------------------------------------


def test_cli_builds_validates_and_writes_a_folder_or_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["procedures", "build", str(EXAMPLE), "--out", str(tmp_path / "hb")]) == 0
    assert (tmp_path / "hb" / "process.bpmn").is_file() and (
        tmp_path / "hb" / "forms" / "approve.json"
    ).is_file()
    assert "can be published" in capsys.readouterr().out
    assert validate_path(tmp_path / "hb") == []
    assert main(["procedures", "build", str(EXAMPLE), "--out", str(tmp_path / "hb"), "--zip"]) == 0
    assert not has_errors(validate_path(tmp_path / "hb.zip"))


def test_cli_refuses_a_spec_with_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC.replace("goto: site_visit", "goto: site_vist"), encoding="utf-8")
    assert main(["procedures", "build", str(spec), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "error: bad.yaml:" in out and "[spec-goto-unknown]" in out and "did you mean 'site_visit'?" in out
    assert not (tmp_path / "out").exists()


# -- every path in the engine ------------------------------------------------------------------

COMPLETE = {"applicant_name": "Lan", "documents_complete": True, "amount": 500.0}
BIG = {**COMPLETE, "amount": 5000.0}
INCOMPLETE = {**COMPLETE, "documents_complete": False}
REVIEWS_OK = {
    "site_visit": {"site_ok": True},
    "finance_check": {"finance_ok": True},
    "legal_check": {"legal_ok": True},
}


def approve_and_issue(d: CaseDriver) -> None:
    d.complete("approve", {"decision": "approve", "conditions": "none"})
    d.complete("issue", {"licence_no": "SL-1", "issued_on": "2026-03-10"})


def review(d: CaseDriver, site_ok: bool = True) -> None:
    assert d.open_elements() == ["finance_check", "legal_check", "site_visit"]
    for element, data in REVIEWS_OK.items():
        d.complete(element, {**data, "site_ok": site_ok} if element == "site_visit" else data)


def path_small_amount(d: CaseDriver) -> None:
    d.complete("check", COMPLETE)
    approve_and_issue(d)


def path_supplied(d: CaseDriver) -> None:
    d.complete("check", INCOMPLETE)
    d.complete("supplement", {"missing_items": "lease"})
    assert d.open_elements() == [] and "documents_supplied" in d.case().current_step
    d.deliver("documents_supplied", {"items": ["lease"]})
    d.complete("check", COMPLETE)
    approve_and_issue(d)


def path_not_supplied(d: CaseDriver) -> None:
    d.complete("check", INCOMPLETE)
    d.complete("supplement", {"missing_items": "lease"})
    assert d.wait(days=9) == []
    assert d.wait(days=1, minutes=1) != []


def path_negative_amount(d: CaseDriver) -> None:
    d.complete("check", {**COMPLETE, "amount": -1.0})


def path_reviewed_and_refused(d: CaseDriver) -> None:
    d.complete("check", BIG)
    review(d)
    d.complete("approve", {"decision": "refuse", "reason": "zoning"})


def path_review_failed_then_approved(d: CaseDriver) -> None:
    d.complete("check", BIG)
    review(d, site_ok=False)
    d.complete("check", COMPLETE)
    approve_and_issue(d)


PATHS: dict[str, tuple[Callable[[CaseDriver], None], str, str]] = {
    "small amount": (path_small_amount, "Event_completed", "Completed"),
    "documents supplied": (path_supplied, "Event_completed", "Completed"),
    "documents not supplied": (path_not_supplied, "Event_supplement_returned", "Returned (no supplement)"),
    "negative amount": (path_negative_amount, "Event_triage_end_1", "Closed at 'Amount?'"),
    "reviewed, refused": (path_reviewed_and_refused, "Event_approve_refused", "Refused"),
    "review failed, loop": (path_review_failed_then_approved, "Event_completed", "Completed"),
}
OVERDUE = {"Event_check_overdue", "Event_site_visit_overdue", "Event_approve_overdue"}


@pytest.fixture
def licence(onestop: OneStop) -> OneStop:
    onestop.procedures.import_package(SYSTEM_ACTOR, package_of(SPEC), T0, publish=True)
    return onestop


def reached(onestop: OneStop, code: str) -> list[str]:
    """The events a case reached after its start, in order."""
    events = onestop.queries.events("system", code)
    return [e.element_id or "" for e in events if e.kind == "event_reached" and e.element_id != "Event_start"]


def test_the_paths_cover_every_end_event() -> None:
    d = Diagram(package_of(SPEC).bpmn[PROCESS_FILE])
    ends = {i for i, e in d.nodes.items() if e.tag == f"{MODEL}endEvent"}
    assert ends == {end for _, end, _ in PATHS.values()} | OVERDUE


@pytest.mark.parametrize("name", PATHS)
def test_every_path_runs_to_its_end_event(licence: OneStop, name: str) -> None:
    drive, end, outcome = PATHS[name]
    d = CaseDriver(licence, T0)
    d.start("shop_licence")
    drive(d)
    case = d.case()
    assert (case.status, case.outcome, case.open_items) == ("completed", outcome, ())
    assert reached(licence, d.code)[-1] == end
    assert licence.verify().ok


def test_allowance_timers_record_overdue_steps_and_the_case_goes_on(licence: OneStop) -> None:
    d = CaseDriver(licence, T0)
    d.start("shop_licence")
    assert d.wait(days=1) == []
    assert d.wait(days=1, minutes=1) == ["Timer_check_allowance#1"]
    assert d.open_elements() == ["check"] and d.case().status == "running"
    assert reached(licence, d.code) == ["Event_check_overdue"]
    d.complete("check", BIG)
    assert d.wait(days=3, minutes=1) == ["Timer_site_visit_allowance#1"]
    review(d)
    assert d.wait(days=3, minutes=1) == ["Timer_approve_allowance#1"]
    approve_and_issue(d)
    assert set(reached(licence, d.code)) == OVERDUE | {"Event_completed"}
    assert d.case().outcome == "Completed"


def test_data_of_a_step_drives_the_generated_conditions(licence: OneStop) -> None:
    d = CaseDriver(licence, T0)
    d.start("shop_licence")
    d.complete("check", BIG)
    review(d)
    d.complete("approve", {"decision": "approve"})
    data: dict[str, Any] = licence.queries.case_data("system", d.code, "test", d.now).data
    assert data["decision"] == "approve" and data["amount"] == 5000.0
