"""What changed between two versions of the building permit package."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from designer.packages import read_package
from designer.version_diff import (
    ElementRef,
    FieldChange,
    FlowRef,
    ManualChange,
    Renamed,
    describe_diff,
    diff_packages,
)
from engine import PackageFiles
from tests.conftest import PROCEDURES

NEW_FLOW = (
    b'<bpmn:sequenceFlow id="flow_approval_to_issue" sourceRef="approval" targetRef="issue_permit" />\n'
    b'    <bpmn:task id="archive" name="Archive the dossier" />\n'
    b"  </bpmn:process>"
)


@pytest.fixture(scope="module")
def package() -> PackageFiles:
    return read_package(PROCEDURES / "building_permit")


def _with_bpmn(package: PackageFiles, *edits: tuple[bytes, bytes]) -> PackageFiles:
    data = package.bpmn["process.bpmn"]
    for old, new in edits:
        assert old in data
        data = data.replace(old, new, 1)
    return replace(package, bpmn={"process.bpmn": data})


def _with_form(package: PackageFiles, name: str, schema: dict[str, Any]) -> PackageFiles:
    return replace(package, forms={**package.forms, name: json.dumps(schema).encode()})


def test_identical_packages_have_no_differences(package: PackageFiles) -> None:
    diff = diff_packages(package, package)

    assert diff.is_empty
    assert describe_diff(diff) == ["no differences"]


def test_a_renamed_task_is_a_rename_not_a_removal(package: PackageFiles) -> None:
    new = _with_bpmn(package, (b'name="Review building plans"', b'name="Review the plans"'))

    diff = diff_packages(package, new)

    assert diff.elements_renamed == (
        Renamed(
            id="plan_review",
            old_type="userTask",
            new_type="userTask",
            old_name="Review building plans",
            new_name="Review the plans",
        ),
    )
    assert not diff.elements_added and not diff.elements_removed and not diff.flows_changed
    assert describe_diff(diff) == ["~ userTask plan_review: 'Review building plans' -> 'Review the plans'"]


def test_added_flows_and_elements_and_changed_conditions_are_listed(package: PackageFiles) -> None:
    new = _with_bpmn(
        package,
        (b"</bpmn:process>", NEW_FLOW),
        (b">documents_complete == True<", b">documents_complete<"),
    )

    diff = diff_packages(package, new)

    assert diff.flows_added == (
        FlowRef(id="flow_approval_to_issue", source="approval", target="issue_permit"),
    )
    assert diff.elements_added == (ElementRef(id="archive", type="task", name="Archive the dossier"),)
    [changed] = diff.flows_changed
    assert changed.old.id == "flow_dossier_complete"
    assert (changed.old.condition, changed.new.condition) == (
        "documents_complete == True",
        "documents_complete",
    )
    assert diff_packages(new, package).flows_removed == diff.flows_added


def test_lanes_renamed_and_removed_are_listed(package: PackageFiles) -> None:
    new = _with_bpmn(
        package,
        (
            b'<bpmn:lane id="lane_engineer" name="engineer">',
            b'<bpmn:lane id="lane_engineer" name="building_engineer">',
        ),
    )

    diff = diff_packages(package, new)

    assert [(r.id, r.old_name, r.new_name) for r in diff.lanes_renamed] == [
        ("lane_engineer", "engineer", "building_engineer")
    ]
    assert "~ lane lane_engineer: 'engineer' -> 'building_engineer'" in describe_diff(diff)


def test_form_fields_added_removed_and_changed_are_listed(package: PackageFiles) -> None:
    schema = json.loads(package.forms["approval.json"])
    properties = schema["properties"]
    properties["decision"]["enum"] = ["approve", "refuse", "defer"]
    properties["reasons"]["title"] = "Grounds"
    properties["decided_on"] = {"type": "string", "format": "date", "title": "Decided on"}
    del properties["conditions"]
    schema["required"] = ["decision", "decided_on"]

    diff = diff_packages(package, _with_form(package, "approval.json", schema))

    [form] = diff.forms_changed
    assert form.file == "approval.json"
    assert [(f.path, f.type, f.format, f.required) for f in form.fields_added] == [
        ("decided_on", "string", "date", True)
    ]
    assert [f.path for f in form.fields_removed] == ["conditions"]
    assert form.fields_changed == (
        FieldChange(
            path="decision", fact="enum", old=("approve", "refuse"), new=("approve", "refuse", "defer")
        ),
        FieldChange(path="reasons", fact="title", old="Reasons", new="Grounds"),
    )
    lines = describe_diff(diff)
    assert "+ field approval.json:decided_on (string)" in lines
    assert '~ field approval.json:reasons title: "Reasons" -> "Grounds"' in lines


def test_forms_added_and_removed_and_nested_fields_by_path(package: PackageFiles) -> None:
    def owner_form(name_type: str) -> dict[str, Any]:
        owner = {"type": "object", "properties": {"name": {"type": name_type}}}
        return {"type": "object", "properties": {"owner": owner}}

    old = _with_form(package, "owner.json", owner_form("string"))
    new = _with_form(package, "owner.json", owner_form("integer"))
    forms = {name: data for name, data in new.forms.items() if name != "site_visit.json"}
    new = replace(new, forms={**forms, "fee.json": b"{}"})

    diff = diff_packages(old, new)

    assert diff.forms_added == ("fee.json",) and diff.forms_removed == ("site_visit.json",)
    [form] = diff.forms_changed
    assert form.fields_changed == (FieldChange(path="owner.name", fact="type", old="string", new="integer"),)


def test_manual_changes_are_dotted_paths_with_old_and_new_values(package: PackageFiles) -> None:
    manual = json.loads(json.dumps(package.manual))
    manual["time_limit"]["value"] = 30
    manual["steps"] = [dict(s, allowance_days=10) if s["id"] == "plan_review" else s for s in manual["steps"]]
    manual["fee_note"] = "Fees per Ministerial Regulation No. 7"
    del manual["channels"]

    diff = diff_packages(package, replace(package, manual=manual))

    assert diff.manual_changes == (
        ManualChange(path="channels", change="removed", old=["counter", "online"]),
        ManualChange(path="fee_note", change="added", new="Fees per Ministerial Regulation No. 7"),
        ManualChange(path="steps[plan_review].allowance_days", change="changed", old=15, new=10),
        ManualChange(path="time_limit.value", change="changed", old=45, new=30),
    )
    assert "~ manual time_limit.value: 45 -> 30" in describe_diff(diff)


def test_an_unreadable_side_becomes_a_note_and_never_raises(package: PackageFiles) -> None:
    broken = replace(
        package,
        bpmn={"process.bpmn": b"<definitions"},
        forms={**package.forms, "approval.json": b"{not json", "site_visit.json": b"[1, 2]"},
        manual=["not", "a", "mapping"],  # type: ignore[arg-type]
    )

    diff = diff_packages(package, broken)

    assert not diff.elements_removed and not diff.flows_removed and not diff.forms_changed
    notes = " | ".join(diff.notes)
    assert "new process.bpmn cannot be read" in notes
    assert "the process diagrams were not compared" in notes
    assert "new form approval.json is not valid JSON" in notes
    assert "new form site_visit.json is not a JSON object" in notes
    assert "manuals were not compared" in notes
    assert not diff.is_empty
    assert describe_diff(diff)[0].startswith("note: ")
