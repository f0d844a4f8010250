"""Procedure validation: every problem is a finding with a stable code, file, line and element.

Each lint rule is shown on a small crafted model; line numbers are looked up in the model's
text independently of the code under test.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import engine.package_check
from designer.validation import has_errors, validate_package, validate_path
from engine import OneStop, PackageFiles, Settings
from engine.errors import ProcedureInvalid
from engine.views import Finding
from tests.conftest import DATA, PROCEDURES, T0

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
FORM = b'{"type": "object", "properties": {"ok": {"type": "boolean", "title": "OK"}}}'
MANUAL: dict[str, Any] = {
    "code": "t",
    "name": {"th": "ทดสอบ", "vi": "Thử nghiệm", "en": "Test"},
    "legal_basis": ["Test Act, section 1"],
    "responsible_unit": "Test office",
    "channels": ["counter"],
    "time_limit": {"value": 5, "unit": "days", "day_type": "working"},
    "steps": [{"id": "t", "role": "clerk", "allowance_days": 1}],
    "documents": [{"name": {"en": "Application"}, "required": True, "held_by_state": False}],
    "results": [{"name": {"en": "Certificate"}}],
    "complaint_channel": "Test office complaint desk",
    "starter_role": "clerk",
}
START = '<bpmn:startEvent id="s" />'
END = '<bpmn:endEvent id="e" />'
MIWG = Path("/work/shared/corpora/miwg-reference")
MIWG_FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


def user_task(ident: str = "t", form: str | None = "f.json") -> str:
    properties = (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        if form
        else ""
    )
    return f'<bpmn:userTask id="{ident}" name="Task {ident}">{properties}</bpmn:userTask>'


def flow(ident: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def model(
    *elements: str,
    lane: Iterable[str] = ("t",),
    lane_name: str = "clerk",
    executable: bool = True,
    extra: str = "",
) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{ident}</bpmn:flowNodeRef>" for ident in lane)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<bpmn:definitions {NS} id="defs" targetNamespace="http://onestop.example/test">',
        f'  <bpmn:process id="p" isExecutable="{str(executable).lower()}">',
        f'    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_1" name="{lane_name}">{refs}</bpmn:lane></bpmn:laneSet>',
        *(f"    {element}" for element in elements),
        "  </bpmn:process>",
        f"  {extra}",
        "</bpmn:definitions>",
    ]
    return "\n".join(lines)


def linear(*elements: str, **options: Any) -> str:
    """start -> t (user task) -> end, plus ``elements``."""
    return model(START, user_task(), END, flow("f0", "s", "t"), flow("f1", "t", "e"), *elements, **options)


def validate(
    xml: str,
    *,
    forms: dict[str, bytes] | None = None,
    manual: dict[str, Any] | None = None,
    dmn: dict[str, bytes] | None = None,
) -> list[Finding]:
    files = PackageFiles(
        code="t",
        bpmn={"p.bpmn": xml.encode()},
        dmn=dmn or {},
        forms={"f.json": FORM} if forms is None else forms,
        manual=MANUAL if manual is None else manual,
    )
    return validate_package(files)


def line_of(text: str, marker: str, occurrence: int = 1) -> int:
    found = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    return found[occurrence - 1]


def the(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, (code, findings)
    return matching[0]


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code for f in findings}


# -- a clean model, the bundled procedure, the reference models -------------------------------


def test_a_clean_model_has_no_findings() -> None:
    assert validate(linear()) == []


def test_bundled_building_permit_has_no_errors_and_no_warnings() -> None:
    findings = validate_path(PROCEDURES / "building_permit")
    assert [f for f in findings if f.severity != "info"] == []


@pytest.mark.parametrize("path", MIWG_FILES, ids=[p.name for p in MIWG_FILES])
def test_miwg_reference_models_are_explained_without_crashing(path: Path) -> None:
    _assert_explained(validate_path(path))


def test_the_miwg_copy_in_test_data_is_explained() -> None:
    findings = validate_path(DATA / "xml" / "miwg-A.1.0.bpmn")
    _assert_explained(findings)
    assert the(findings, "no-executable-process").element_id is not None


def _assert_explained(findings: list[Finding]) -> None:
    assert not codes(findings) & {"engine-crash", "lint-crash"}, findings
    assert has_errors(findings)  # modelling files, not executable ones
    for finding in findings:
        assert finding.code and finding.code == finding.code.lower() and " " not in finding.code
        assert finding.hint or finding.severity == "info", finding
    keys = [(f.file or "", f.line or 0) for f in findings]
    assert keys == sorted(keys)


# -- layer 1: XML safety and well-formedness -------------------------------------------------


def test_entities_and_doctype_are_refused_before_parsing() -> None:
    evil = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>\n'
    findings = validate(evil)
    finding = the(findings, "xml-unsafe")
    assert (finding.severity, finding.file, finding.line) == ("error", "p.bpmn", 2)
    assert "engine-check-skipped" in codes(findings)


@pytest.mark.parametrize("name", ["billion_laughs.bpmn", "xxe_parameter_entity.bpmn", "external_dtd.bpmn"])
def test_hostile_test_files_give_a_layer_one_finding(name: str) -> None:
    findings = validate_path(DATA / "xml" / name)
    assert the(findings, "xml-unsafe").file == name


def test_malformed_xml_names_line_and_column() -> None:
    broken = linear().replace("</bpmn:userTask>", "</bpmn:userTsk>")
    finding = the(validate(broken), "xml-malformed")
    assert finding.line == line_of(broken, "userTsk") and finding.column
    assert finding.location().startswith(f"p.bpmn:{finding.line}:")


# -- layer 2: XSD ----------------------------------------------------------------------------


def test_every_schema_violation_is_listed_with_line_and_element() -> None:
    xml = linear().replace('<bpmn:userTask id="t"', '<bpmn:userTask bogus="1" id="t"')
    xml = xml.replace('<bpmn:endEvent id="e"', '<bpmn:endEvent also="2" id="e"')
    found = [f for f in validate(xml) if f.code == "xsd-invalid"]
    assert [(f.line, f.element_id) for f in found] == [
        (line_of(xml, "bogus="), "t"),
        (line_of(xml, "also="), "e"),
    ]
    assert "bpmn:userTask" in found[0].message and "{http" not in found[0].message


def test_a_dmn_file_that_is_not_dmn_is_reported() -> None:
    findings = validate(linear(), dmn={"rules.dmn": b"<table/>"})
    assert the(findings, "xml-not-dmn").file == "rules.dmn"


# -- layer 3: the engine ---------------------------------------------------------------------


def test_a_crash_of_the_engine_parser_becomes_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(files: PackageFiles) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine.package_check, "compile_package", crash)
    finding = the(validate(linear()), "engine-crash")
    assert finding.severity == "error" and "RecursionError" in finding.message


def test_engine_findings_are_located_and_not_repeated() -> None:
    # The engine also refuses the implicit split; the lint explains it once, with its line.
    xml = model(
        START, '<bpmn:task id="t" />', END, '<bpmn:endEvent id="e2" />',
        flow("f0", "s", "t"), flow("f1", "t", "e"), flow("f2", "t", "e2"),
    )  # fmt: skip
    findings = validate(xml)
    assert [f.element_id for f in findings if f.severity == "error"] == ["t"]


# -- layer 4: lint rules, one model each -----------------------------------------------------


def test_no_executable_process() -> None:
    xml = linear(executable=False)
    finding = the(validate(xml), "no-executable-process")
    assert (finding.element_id, finding.line) == ("p", line_of(xml, "<bpmn:process"))


def test_gateway_flow_without_condition_and_not_default() -> None:
    xml = model(
        START, '<bpmn:exclusiveGateway id="g" />', END, '<bpmn:endEvent id="e2" />',
        flow("f0", "s", "g"), flow("f_yes", "g", "e", "ok == True"), flow("f_other", "g", "e2"),
        lane=(),
    )  # fmt: skip
    finding = the(validate(xml), "gateway-no-condition")
    assert (finding.severity, finding.element_id, finding.line) == (
        "error",
        "f_other",
        line_of(xml, "f_other"),
    )


def test_gateway_with_conditions_only_warns_about_a_missing_default() -> None:
    xml = model(
        START, '<bpmn:exclusiveGateway id="g" />', END, '<bpmn:endEvent id="e2" />',
        flow("f0", "s", "g"), flow("f_a", "g", "e", "ok == True"), flow("f_b", "g", "e2", "ok == False"),
        lane=(),
    )  # fmt: skip
    finding = the(validate(xml), "gateway-no-default")
    assert (finding.severity, finding.element_id, finding.line) == ("warning", "g", line_of(xml, 'id="g"'))


def test_task_with_several_outgoing_flows() -> None:
    xml = linear('<bpmn:endEvent id="e2" />', flow("f2", "t", "e2"))
    finding = the(validate(xml), "task-implicit-split")
    assert (finding.element_id, finding.line) == ("t", line_of(xml, 'id="t"'))


def test_unreachable_element() -> None:
    xml = linear('<bpmn:task id="orphan" name="Forgotten" />')
    finding = the(validate(xml), "unreachable-element")
    assert (finding.severity, finding.element_id, finding.line) == (
        "warning",
        "orphan",
        line_of(xml, "orphan"),
    )


def test_process_without_end_event() -> None:
    xml = model(START, user_task(), flow("f0", "s", "t"))
    finding = the(validate(xml), "no-end-event")
    assert (finding.element_id, finding.line) == ("p", line_of(xml, "<bpmn:process"))


def test_link_events_are_not_executed() -> None:
    xml = linear(
        '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition id="l1" name="A" />'
        "</bpmn:intermediateThrowEvent>"
    )
    found = [f for f in validate(xml) if f.code == "link-event-unsupported"]
    assert [(f.element_id, f.line) for f in found] == [("jump", line_of(xml, "jump"))]


def test_compensation_is_not_executed() -> None:
    xml = linear(
        '<bpmn:boundaryEvent id="undo" attachedToRef="t"><bpmn:compensateEventDefinition id="c1" />'
        "</bpmn:boundaryEvent>"
    )
    finding = the(validate(xml), "compensation-unsupported")
    assert (finding.element_id, finding.line) == ("undo", line_of(xml, 'id="undo"'))


def test_complex_gateway_is_not_supported() -> None:
    xml = model(START, '<bpmn:complexGateway id="cx" />', END, flow("f0", "s", "cx"), flow("f1", "cx", "e"))
    finding = the(validate(xml), "complex-gateway-unsupported")
    assert (finding.element_id, finding.line) == ("cx", line_of(xml, "cx"))


def test_ad_hoc_subprocess_is_not_executed() -> None:
    xml = model(
        START,
        '<bpmn:adHocSubProcess id="adhoc"><bpmn:task id="inner" /></bpmn:adHocSubProcess>',
        END,
        flow("f0", "s", "adhoc"),
        flow("f1", "adhoc", "e"),
    )
    finding = the(validate(xml), "ad-hoc-subprocess-unsupported")
    assert (finding.element_id, finding.line) == ("adhoc", line_of(xml, "adhoc"))


def test_user_task_without_lane() -> None:
    xml = linear(lane=())
    finding = the(validate(xml), "user-task-no-lane")
    assert (finding.severity, finding.element_id, finding.line) == ("error", "t", line_of(xml, 'id="t"'))


def test_lane_that_is_not_a_known_role_suggests_the_close_one() -> None:
    xml = linear(lane_name="clerc")
    finding = the(validate(xml), "lane-unknown-role")
    assert (finding.severity, finding.element_id, finding.line) == (
        "warning",
        "lane_1",
        line_of(xml, "lane_1"),
    )
    assert finding.hint == "did you mean 'clerk'?"


def test_roles_known_to_the_directory_are_accepted() -> None:
    files = PackageFiles(
        code="t", bpmn={"p.bpmn": linear(lane_name="archivist").encode()}, forms={"f.json": FORM}
    )
    assert "lane-unknown-role" in codes(validate_package(files))
    assert "lane-unknown-role" not in codes(validate_package(files, known_roles={"archivist"}))


def test_lane_named_after_a_reserved_role() -> None:
    xml = linear(lane_name="admin")
    assert the(validate(xml), "lane-reserved-role").element_id == "lane_1"


def test_user_task_without_form() -> None:
    xml = model(START, user_task(form=None), END, flow("f0", "s", "t"), flow("f1", "t", "e"))
    finding = the(validate(xml, forms={}), "user-task-no-form")
    assert (finding.severity, finding.element_id, finding.line) == ("warning", "t", line_of(xml, 'id="t"'))


def test_form_file_missing_names_the_property_line() -> None:
    xml = model(START, user_task(form="fom.json"), END, flow("f0", "s", "t"), flow("f1", "t", "e"))
    finding = the(validate(xml), "form-missing")
    assert (finding.element_id, finding.line, finding.file) == ("t", line_of(xml, "fom.json"), "p.bpmn")
    assert finding.hint == "did you mean 'f.json'?"


def test_form_that_is_not_a_valid_json_schema() -> None:
    finding = the(
        validate(linear(), forms={"f.json": b'{\n  "type": "object",\n  "properties": {,\n}'}), "form-invalid"
    )
    assert (finding.file, finding.line) == ("forms/f.json", 3)


def test_unquoted_timer_duration() -> None:
    xml = linear(
        '<bpmn:boundaryEvent id="late" attachedToRef="t"><bpmn:timerEventDefinition id="td">',
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P10D</bpmn:timeDuration>',
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>",
    )
    finding = the(validate(xml), "timer-unquoted")
    assert (finding.element_id, finding.line) == ("late", line_of(xml, "P10D"))
    assert '"P10D"' in (finding.hint or "")


def test_cron_timer_is_not_supported() -> None:
    xml = linear(
        '<bpmn:boundaryEvent id="nightly" attachedToRef="t"><bpmn:timerEventDefinition id="td">'
        "<bpmn:timeCycle>0 0 * * *</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    )
    assert the(validate(xml), "timer-cron-unsupported").element_id == "nightly"


def test_service_task_naming_an_unknown_connector() -> None:
    xml = model(
        START,
        '<bpmn:serviceTask id="fee"><bpmn:extensionElements>',
        '<spiffworkflow:serviceTaskOperator id="fee.buildng_permit" resultVariable="fee" />',
        "</bpmn:extensionElements></bpmn:serviceTask>",
        END,
        flow("f0", "s", "fee"),
        flow("f1", "fee", "e"),
    )
    finding = the(validate(xml), "service-task-unknown-connector")
    assert (finding.element_id, finding.line) == ("fee", line_of(xml, "fee.buildng_permit"))
    assert finding.hint == "did you mean 'fee.building_permit'?"


def test_service_task_from_another_modeler_without_operator() -> None:
    xml = model(
        START, '<bpmn:serviceTask id="call" />', END, flow("f0", "s", "call"), flow("f1", "call", "e")
    )
    findings = validate(xml)
    assert the(findings, "service-task-no-operator").element_id == "call"
    assert [f.code for f in findings if f.severity == "error"] == ["service-task-no-operator"]


def test_script_the_sandbox_rejects_points_at_the_line_inside_the_script() -> None:
    xml = model(
        START,
        '<bpmn:scriptTask id="calc" name="Calculate"><bpmn:script>total = 1\nimport os</bpmn:script></bpmn:scriptTask>',
        END,
        flow("f0", "s", "calc"),
        flow("f1", "calc", "e"),
    )
    finding = the(validate(xml), "script-rejected")
    assert (finding.element_id, finding.line) == ("calc", line_of(xml, "import os"))
    assert "import" in finding.message


def test_condition_the_sandbox_rejects() -> None:
    xml = model(
        START, '<bpmn:exclusiveGateway id="g" default="f_b" />', END, '<bpmn:endEvent id="e2" />',
        flow("f0", "s", "g"), flow("f_a", "g", "e", "().__class__ is None"), flow("f_b", "g", "e2"),
        lane=(),
    )  # fmt: skip
    finding = the(validate(xml), "script-rejected")
    assert (finding.element_id, finding.line) == ("f_a", line_of(xml, "__class__"))


def test_dmn_cell_the_sandbox_rejects() -> None:
    xml = model(
        START,
        '<bpmn:businessRuleTask id="judge"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>sandbox_malicious_decision</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>",
        END,
        flow("f0", "s", "judge"),
        flow("f1", "judge", "e"),
    )
    dmn = (DATA / "sandbox_malicious.dmn").read_bytes()
    finding = the(validate(xml, dmn={"rules.dmn": dmn}), "script-rejected")
    assert (finding.file, finding.element_id) == ("rules.dmn", "rule_escape_in")
    assert finding.line == line_of(dmn.decode(), "__import__")


def test_message_without_definition() -> None:
    xml = model(
        START,
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition id="md" messageRef="nope" />'
        "</bpmn:intermediateCatchEvent>",
        END,
        flow("f0", "s", "wait"),
        flow("f1", "wait", "e"),
    )
    findings = validate(xml)
    finding = the(findings, "message-undefined")
    assert (finding.element_id, finding.line) == ("wait", line_of(xml, 'id="wait"'))
    # The engine's parser fails on this too (a TypeError inside it): reported once, by the lint.
    assert [f.code for f in findings if f.severity == "error"] == ["message-undefined"]


def test_duplicate_ids() -> None:
    xml = linear('<bpmn:task id="t" />')
    finding = the(validate(xml), "duplicate-id")
    assert (finding.element_id, finding.line) == ("t", line_of(xml, '<bpmn:task id="t"'))
    assert "xsd-invalid" not in codes(validate(xml))


def test_procedure_without_time_limit_in_the_manual() -> None:
    manual = {k: v for k, v in MANUAL.items() if k != "time_limit"}
    finding = the(validate(linear(), manual=manual), "manual-no-time-limit")
    assert (finding.severity, finding.file) == ("error", "manual.yaml")


def test_a_bare_bpmn_is_a_package_with_only_a_process(tmp_path: Path) -> None:
    path = tmp_path / "solo.bpmn"
    path.write_text(linear(), encoding="utf-8")
    assert {"manual-missing", "manual-no-time-limit"} <= codes(validate_path(path))


def test_manual_field_errors_point_at_their_yaml_line(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    (folder / "forms").mkdir(parents=True)
    (folder / "process.bpmn").write_text(linear(), encoding="utf-8")
    (folder / "forms" / "f.json").write_bytes(FORM)
    (folder / "manual.yaml").write_text(
        "code: t\ntime_limit:\n  value: -3\n  day_type: weekly\nsteps: []\ncolour: blue\n", encoding="utf-8"
    )
    findings = validate_path(folder)
    invalid = {f.message.split("'")[1]: f.line for f in findings if f.code == "manual-invalid"}
    assert invalid == {"time_limit.value": 3, "time_limit.day_type": 4}


def test_unknown_manual_fields_are_noted(tmp_path: Path) -> None:
    finding = the(validate(linear(), manual={**MANUAL, "colour": "blue"}), "manual-unknown-field")
    assert finding.severity == "info"


def test_manual_steps_are_checked_against_the_process() -> None:
    manual = {**MANUAL, "steps": [{"id": "t", "role": "engineer"}, {"id": "gone", "role": "clerk"}]}
    findings = validate(linear(), manual=manual)
    assert the(findings, "manual-step-role-mismatch").severity == "warning"
    assert the(findings, "manual-step-unknown").message.startswith("manual step 'gone'")


# -- never raises ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\xff\xfe garbage", b"<a><b></a>", b"<?xml version='1.0'?><x/>", "<ü/>".encode("latin-1")],
    ids=["empty", "binary", "mismatched", "not-bpmn", "bad-encoding"],
)
def test_bad_input_never_raises(data: bytes) -> None:
    files = PackageFiles(code="t", bpmn={"p.bpmn": data}, forms={"f.json": b"[1, 2"}, manual={"steps": "x"})
    findings = validate_package(files)
    assert has_errors(findings) and "lint-crash" not in codes(findings)


def test_a_missing_path_is_a_finding(tmp_path: Path) -> None:
    [finding] = validate_path(tmp_path / "nowhere")
    assert finding.code == "package-unreadable"


# -- publishing ------------------------------------------------------------------------------


def test_publishing_is_refused_while_errors_remain(sqlite_url: str) -> None:
    onestop = OneStop(Settings(database_url=sqlite_url), publish_check=validate_package)
    try:
        onestop.upgrade()
        bare = PackageFiles(code="bare", bpmn={"p.bpmn": linear().encode()}, forms={"f.json": FORM})
        with pytest.raises(ProcedureInvalid, match="cannot be published") as refused:
            onestop.procedures.import_package("system", bare, T0, publish=True)
        assert "manual-no-time-limit" in codes(refused.value.findings)
        assert onestop.procedures.list_versions() == []

        draft = onestop.procedures.import_package("system", bare, T0)
        assert draft.version.status == "draft"
        with pytest.raises(ProcedureInvalid, match=r"manual\.yaml"):
            onestop.procedures.publish("system", "bare", draft.version.version, T0)

        fixed = PackageFiles(code="bare", bpmn=bare.bpmn, forms=bare.forms, manual=MANUAL)
        assert (
            onestop.procedures.import_package("system", fixed, T0, publish=True).version.status == "published"
        )
    finally:
        onestop.close()


def test_a_model_from_another_engine_is_explained_element_by_element() -> None:
    path = DATA / "xml" / "miwg-C.1.0.bpmn"
    text = path.read_text(encoding="utf-8")
    findings = validate_path(path)
    _assert_explained(findings)
    [approved] = [f for f in findings if f.code == "script-rejected" and f.element_id == "invoiceApproved"]
    assert approved.line == line_of(text, "${approved}")
    assert "${approved}" in approved.message and "JUEL" in (approved.hint or "")
    assert the(findings, "service-task-no-operator").element_id == "archiveInvoice"
    assert "potential-owner-ignored" in codes(findings)


def _flows(*pairs: tuple[str, str]) -> list[str]:
    return [flow(f"f{n}", source, target) for n, (source, target) in enumerate(pairs)]


CASES: dict[str, tuple[str, str, str]] = {
    # code: (model, element id, text marking the expected line)
    "timer-empty": (
        linear(
            '<bpmn:boundaryEvent id="late" attachedToRef="t"><bpmn:timerEventDefinition id="td" />'
            "</bpmn:boundaryEvent>"
        ),
        "late",
        'id="late"',
    ),
    "no-start-event": (model(user_task(), END, flow("f1", "t", "e")), "p", "<bpmn:process"),
    "flow-broken-reference": (linear(flow("f9", "s", "nowhere")), "f9", 'id="f9"'),
    "gateway-default-invalid": (
        model(
            START,
            '<bpmn:exclusiveGateway id="g" default="fx" />',
            END,
            *_flows(("s", "g"), ("g", "e")),
            lane=(),
        ),
        "g",
        'id="g"',
    ),
    "parallel-gateway-condition": (
        model(
            START,
            '<bpmn:parallelGateway id="g" />',
            END,
            '<bpmn:endEvent id="e2" />',
            flow("f0", "s", "g"),
            flow("fa", "g", "e", "x == 1"),
            flow("fb", "g", "e2"),
            lane=(),
        ),
        "fa",
        'id="fa"',
    ),
    "lane-no-name": (linear(lane_name=""), "lane_1", "lane_1"),
    "call-activity-unknown-process": (
        model(
            START,
            '<bpmn:callActivity id="call" calledElement="missing" />',
            END,
            *_flows(("s", "call"), ("call", "e")),
            lane=(),
        ),
        "call",
        'id="call"',
    ),
    "decision-unknown": (
        model(
            START,
            '<bpmn:businessRuleTask id="judge"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
            "nope</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>",
            END,
            *_flows(("s", "judge"), ("judge", "e")),
            lane=(),
        ),
        "judge",
        'id="judge"',
    ),
    "script-empty": (
        model(START, '<bpmn:scriptTask id="calc" />', END, *_flows(("s", "calc"), ("calc", "e")), lane=()),
        "calc",
        'id="calc"',
    ),
    "message-no-name": (linear(extra='<bpmn:message id="m1" />'), "m1", 'id="m1"'),
    "data-store-unsupported": (linear(extra='<bpmn:dataStore id="ds" name="Registry" />'), "ds", 'id="ds"'),
    "potential-owner-ignored": (
        model(
            START,
            '<bpmn:userTask id="t"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="f.json" />'
            "</spiffworkflow:properties></bpmn:extensionElements>",
            '<bpmn:potentialOwner id="owner" /></bpmn:userTask>',
            END,
            *_flows(("s", "t"), ("t", "e")),
        ),
        "t",
        "potentialOwner",
    ),
    "several-executable-processes": (
        linear(
            extra='<bpmn:process id="p2" isExecutable="true"><bpmn:startEvent id="s2" /><bpmn:endEvent id="e2" />'
            '<bpmn:sequenceFlow id="g0" sourceRef="s2" targetRef="e2" /></bpmn:process>'
        ),
        "p2",
        'id="p2"',
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_more_lint_rules_name_element_and_line(code: str) -> None:
    xml, element_id, marker = CASES[code]
    finding = the(validate(xml), code)
    assert (finding.file, finding.element_id, finding.line) == ("p.bpmn", element_id, line_of(xml, marker))
    assert finding.hint


def test_an_incomplete_manual_and_unused_forms_are_reported() -> None:
    manual = {"code": "t", "time_limit": {"value": 5}, "starter_role": "clerk", "steps": [{"id": "gone"}]}
    findings = validate(linear(), forms={"f.json": FORM, "old.json": FORM}, manual=manual)
    assert the(findings, "manual-no-day-type").severity == "warning"
    missing = {f.message.rsplit(" ", 1)[1] for f in findings if f.code == "manual-section-missing"}
    assert missing == {
        "name",
        "legal_basis",
        "responsible_unit",
        "channels",
        "documents",
        "results",
        "complaint_channel",
    }
    assert the(findings, "form-unused").file == "forms/old.json"
    assert the(findings, "manual-step-missing").element_id == "t"


def test_translation_files_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    (folder / "forms").mkdir(parents=True)
    (folder / "i18n").mkdir()
    (folder / "process.bpmn").write_text(linear(), encoding="utf-8")
    (folder / "forms" / "f.json").write_bytes(FORM)
    (folder / "i18n" / "th.json").write_text('{"Task t": "งาน"}', encoding="utf-8")
    (folder / "i18n" / "vi.yaml").write_text("- not a mapping\n", encoding="utf-8")
    (folder / "i18n" / "xx.json").write_text("{}", encoding="utf-8")
    findings = validate_path(folder)
    assert the(findings, "i18n-invalid").file == "i18n/vi.yaml"
    assert the(findings, "i18n-unknown-locale").file == "i18n/xx.json"


def test_a_chain_too_long_for_the_engine_parser_is_a_crash_finding_with_advice() -> None:
    steps = [f'<bpmn:task id="k{n}" />' for n in range(600)]
    links = [flow(f"c{n}", f"k{n}", f"k{n + 1}") for n in range(599)]
    xml = model(START, END, *steps, flow("cs", "s", "k0"), flow("ce", "k599", "e"), *links, lane=())
    finding = the(validate(xml), "engine-crash")
    assert "RecursionError" in finding.message and "called processes" in (finding.hint or "")
    assert finding.file == "p.bpmn" and finding.line == line_of(xml, f'id="{finding.element_id}"')
