"""Compiling a procedure package: every problem is a finding with file, line or element."""

from __future__ import annotations

from dataclasses import replace

import pytest

from designer.packages import read_package
from engine import PackageFiles
from engine.errors import ProcedureInvalid
from engine.specs import compile_package
from tests.conftest import DATA, PROCEDURES


@pytest.fixture
def permit() -> PackageFiles:
    return read_package(PROCEDURES / "building_permit")


def _findings(files: PackageFiles) -> list[tuple[str, str | None, int | None, str | None]]:
    with pytest.raises(ProcedureInvalid) as refused:
        compile_package(files)
    return [(f.code, f.file, f.line, f.element_id) for f in refused.value.findings]


def test_bundled_procedure_compiles_with_its_lanes_and_forms(permit: PackageFiles) -> None:
    compiled, spec_json = compile_package(permit)
    assert compiled.lanes and set(compiled.lanes) == {"intake_officer", "engineer", "approver"}
    assert compiled.starter_role == "intake_officer"
    assert compiled.form_for("approval") is not None
    assert '"format": "onestop-1"' in spec_json


def test_broken_form_json_is_reported_with_its_line(permit: PackageFiles) -> None:
    forms = {**permit.forms, "approval.json": b'{\n  "type": "object",\n  "properties": {,\n}'}
    [(code, file, line, _)] = _findings(replace(permit, forms=forms))
    assert (code, file) == ("form-invalid", "approval.json") and line == 3


def test_missing_form_names_the_user_task(permit: PackageFiles) -> None:
    forms = {k: v for k, v in permit.forms.items() if k != "site_visit.json"}
    assert ("form-missing", None, None, "site_visit") in _findings(replace(permit, forms=forms))


def test_unsafe_bpmn_is_refused_before_the_engine_sees_it(permit: PackageFiles) -> None:
    evil = b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<d>&x;</d>'
    [(code, file, line, _)] = _findings(replace(permit, bpmn={"process.bpmn": evil}))
    assert (code, file, line) == ("xml-unsafe-or-malformed", "process.bpmn", 2)


def test_process_that_is_not_executable_is_refused(permit: PackageFiles) -> None:
    source = permit.bpmn["process.bpmn"].replace(b'isExecutable="true"', b'isExecutable="false"')
    assert [c for c, *_ in _findings(replace(permit, bpmn={"process.bpmn": source}))] == [
        "no-executable-process"
    ]


def test_xsd_violation_names_file_and_line(permit: PackageFiles) -> None:
    source = permit.bpmn["process.bpmn"].replace(b"<bpmn:userTask ", b'<bpmn:userTask bogus="1" ', 1)
    [(code, file, line, _)] = _findings(replace(permit, bpmn={"process.bpmn": source}))
    assert code == "bpmn-invalid" and file == "process.bpmn" and line


def test_a_package_with_a_decision_table_compiles() -> None:
    files = PackageFiles(
        code="sandbox_flow",
        bpmn={"sandbox_flow.bpmn": (DATA / "sandbox_flow.bpmn").read_bytes()},
        dmn={"sandbox_category.dmn": (DATA / "sandbox_category.dmn").read_bytes()},
    )
    compiled, _ = compile_package(files)
    assert compiled.process_id == "sandbox_flow"
