"""Procedure specs: read from YAML or from the builder's table, checked with findings that
name the line, or the row and column, and say what is wrong."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy
import pandas
import pytest

from designer.procedure_spec import (
    STEP_COLUMNS,
    ProcedureSpec,
    StepSpec,
    check_spec,
    dump_spec,
    load_spec,
    step_rows,
    steps_from_rows,
)
from designer.spec_fields import form_document, parse_fields
from engine.forms import load_form_schema
from engine.views import Finding

EXAMPLE = Path(__file__).resolve().parents[2] / "designer" / "spec_examples" / "household_business.yaml"

BASE = """\
code: shop_licence
name:
  en: Shop licence
  vi: Giấy phép cửa hàng
time_limit_days: 10
steps:
  - id: check
    name_en: Check the application
    role: intake_officer
    fields: applicant_name:text!, documents_complete:boolean!, amount:number!
    allowance_days: 2
  - id: supplement
    kind: supplement
    name_en: Request missing documents
    role: intake_officer
    condition: not documents_complete
    wait_days: 10
    goto: check
  - id: triage
    kind: decision
    name_en: Amount?
    routes:
      - when: amount > 1000
        goto: site_visit
      - when: amount < 0
        goto: end
    default: approve
  - id: site_visit
    name_en: Visit the site
    role: engineer
    parallel: reviews
    fields: site_ok:boolean!
  - id: finance_check
    name_en: Check the finances
    role: intake_officer
    parallel: reviews
    fields: finance_ok:boolean!
  - id: approve
    kind: approval
    name_en: Decide
    role: approver
"""


def base_spec() -> ProcedureSpec:
    spec, findings = load_spec(BASE)
    assert spec is not None and findings == [], findings
    return spec


def the(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, (code, findings)
    return matching[0]


def line_of(text: str, marker: str, occurrence: int = 1) -> int:
    found = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    return found[occurrence - 1]


# -- reading and writing ----------------------------------------------------------------------


def test_the_example_spec_loads_without_findings() -> None:
    spec, findings = load_spec(EXAMPLE.read_text(encoding="utf-8"), file=EXAMPLE.name)
    assert findings == []
    assert spec is not None
    assert [s.kind for s in spec.steps].count("approval") == 1
    assert {s.role for s in spec.steps if s.role} == {"intake_officer", "engineer", "approver"}


@pytest.mark.parametrize("text", [BASE, EXAMPLE.read_text(encoding="utf-8")], ids=["base", "example"])
def test_dumped_spec_reads_back_equal(text: str) -> None:
    spec, _ = load_spec(text)
    assert spec is not None
    again, findings = load_spec(dump_spec(spec))
    assert findings == []
    assert again == spec


@pytest.mark.parametrize("text", [BASE, EXAMPLE.read_text(encoding="utf-8")], ids=["base", "example"])
def test_table_rows_read_back_into_the_same_steps(text: str) -> None:
    spec, _ = load_spec(text)
    assert spec is not None
    rows = step_rows(spec)
    assert all(set(row) == set(STEP_COLUMNS) for row in rows)
    assert all(value is None or type(value) in (str, int) for row in rows for value in row.values())
    steps, findings = steps_from_rows(rows)
    assert findings == []
    assert steps == spec.steps
    assert spec.model_copy(update={"steps": steps}) == spec


def test_routes_are_one_text_in_the_table() -> None:
    rows = step_rows(base_spec())
    assert rows[2]["routes"] == "amount > 1000 -> site_visit; amount < 0 -> end"
    assert rows[0]["routes"] is None and rows[2]["fields"] is None


def test_rows_from_the_data_editor_are_tidied() -> None:
    spec = base_spec()
    frame = pandas.DataFrame(step_rows(spec), columns=list(STEP_COLUMNS))
    rows: list[dict[str, Any]] = frame.to_dict("records")
    assert any(isinstance(row["allowance_days"], float) and math.isnan(row["allowance_days"]) for row in rows)
    rows[0]["allowance_days"] = numpy.int64(2)
    rows[1]["name_th"] = "   "
    rows[2]["parallel"] = pandas.NA
    rows[3]["wait_days"] = float("nan")
    rows.insert(2, dict.fromkeys(STEP_COLUMNS, ""))  # a blank row added in the editor
    steps, findings = steps_from_rows(rows)
    assert findings == []
    assert steps == spec.steps


def test_numbers_typed_in_text_cells_and_whole_floats_are_read() -> None:
    rows = step_rows(base_spec())
    rows[0]["allowance_days"] = 2.0
    rows[1]["wait_days"] = "10"
    rows[0]["kind"] = "Task"
    rows[3]["parallel"] = rows[4]["parallel"] = 1
    steps, findings = steps_from_rows(rows)
    assert findings == []
    assert steps[0].allowance_days == 2 and steps[1].wait_days == 10 and steps[0].kind == "task"
    assert steps[3].parallel == steps[4].parallel == "1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "a: [",
        "\x00",
        "code: 1",
        "steps: 5",
        "[" * 5000,
        "name: {en: 1}\nsteps: [{id: 3}]",
        "- a\n- b",
    ],
)
def test_bad_yaml_gives_findings_and_never_raises(text: str) -> None:
    spec, findings = load_spec(text)
    assert spec is None
    assert findings and all(f.severity == "error" and f.file == "spec.yaml" for f in findings)


def test_yaml_that_is_not_yaml_names_the_line() -> None:
    spec, findings = load_spec(BASE.replace("    role: engineer", "    role: [engineer"))
    assert spec is None
    finding = the(findings, "spec-unreadable")
    assert finding.line is not None and finding.line >= line_of(BASE, "role: engineer")
    assert "not valid YAML" in finding.message


def test_yaml_of_nested_aliases_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
        f"*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n"
        for n in range(6)
    )
    spec, findings = load_spec(bomb)
    assert spec is None
    assert "anchors and aliases" in the(findings, "spec-unreadable").message


def test_a_huge_spec_is_refused_before_parsing() -> None:
    spec, findings = load_spec("# " + "x" * (2**20 + 1))
    assert spec is None
    assert "at most" in the(findings, "spec-unreadable").message


def test_type_errors_name_the_field_path_and_its_line() -> None:
    text = BASE.replace("    allowance_days: 2", "    allowance_days: 0")
    spec, findings = load_spec(text, file="licence.yaml")
    assert spec is None
    finding = the(findings, "spec-invalid")
    assert finding.file == "licence.yaml"
    assert finding.line == line_of(text, "allowance_days: 0")
    assert "steps.0.allowance_days" in finding.message and "greater than 0" in finding.message


def test_unknown_keys_are_refused_with_their_line() -> None:
    text = BASE.replace("    wait_days: 10", "    wait_day: 10")
    spec, findings = load_spec(text)
    assert spec is None
    errors = {f.message: f for f in findings}
    extra = next(f for message, f in errors.items() if "steps.1.wait_day'" in message)
    assert extra.line == line_of(text, "wait_day: 10")
    assert "not a spec field" in (extra.hint or "")


def test_semantic_findings_in_yaml_point_at_the_offending_line() -> None:
    text = BASE.replace("        goto: site_visit", "        goto: site_vist")
    spec, findings = load_spec(text)
    assert spec is None
    finding = the(findings, "spec-goto-unknown")
    assert finding.line == line_of(text, "goto: site_vist")
    assert finding.message.startswith("steps.2.routes.0.goto (step 'triage'):")
    assert finding.element_id == "triage"
    assert "did you mean 'site_visit'?" in (finding.hint or "")


def test_warnings_do_not_stop_a_spec_from_loading() -> None:
    text = BASE.replace(
        "    wait_days: 10\n    goto: check", "    wait_days: 10\n    goto: check\n    allowance_days: 1"
    )
    text = text.replace("    parallel: reviews\n    fields: finance_ok", "    fields: finance_ok")
    spec, findings = load_spec(text)
    assert spec is not None
    assert [f.code for f in findings] == ["spec-parallel-single"]
    assert check_spec(spec, text)[0].line == line_of(text, "parallel: reviews")


# -- semantic checks, as the table shows them ---------------------------------------------------

Change = dict[int, dict[str, Any]]

CASES = [
    ({5: {"id": "check"}}, "spec-duplicate-id", 5, "id", ["'check' is already used by step 1"]),
    ({6: {"id": "end"}}, "spec-reserved-id", 6, "id", ["'end' cannot be a step id"]),
    (
        {3: {"routes": "amount > 1000 -> site_vist"}},
        "spec-goto-unknown",
        3,
        "routes",
        ["route 1", "'site_vist'", "did you mean 'site_visit'?"],
    ),
    ({2: {"goto": "end"}}, "spec-goto-unknown", 2, "goto", ["cannot be 'end'"]),
    ({3: {"default": None}}, "spec-decision-no-default", 3, "default", ["no default", "otherwise"]),
    ({3: {"default": "triage"}}, "spec-goto-self", 3, "default", ["goes to itself"]),
    (
        {3: {"routes": "amount > 1000 -> finance_check"}},
        "spec-goto-into-parallel",
        3,
        "routes",
        ["'finance_check'", "group's first step"],
    ),
    (
        {3: {"routes": "amount > 1000 site_visit"}},
        "spec-routes-invalid",
        3,
        "routes",
        ["is not  condition -> step", "condition -> step;"],
    ),
    (
        {1: {"parallel": "reviews"}},
        "spec-parallel-not-consecutive",
        4,
        "parallel",
        ["'reviews' is split", "move the rows"],
    ),
    ({5: {"parallel": None}}, "spec-parallel-single", 4, "parallel", ["only this row"]),
    ({2: {"goto": None}}, "spec-supplement-no-goto", 2, "goto", ["needs goto", "checks the documents"]),
    ({2: {"wait_days": None}}, "spec-supplement-no-wait-days", 2, "wait_days", ["needs wait_days"]),
    ({2: {"condition": None}}, "spec-supplement-no-condition", 2, "condition", ["needs condition"]),
    (
        {1: {"fields": "applicant_name:text!, documents_complete:boolean!, amount:numbr"}},
        "spec-fields-invalid",
        1,
        "fields",
        ["field 3 'amount:numbr'", "unknown type 'numbr'", "did you mean 'number'?"],
    ),
    (
        {4: {"fields": "site_ok:choice(yes)"}},
        "spec-fields-invalid",
        4,
        "fields",
        ["needs at least two options"],
    ),
    (
        {4: {"fields": "site ok:boolean"}},
        "spec-fields-invalid",
        4,
        "fields",
        ["'site ok' is not a usable field name"],
    ),
    (
        {4: {"fields": "class:boolean"}},
        "spec-fields-invalid",
        4,
        "fields",
        ["'class' is not a usable field name", "Python words"],
    ),
    ({4: {"fields": "site_ok:boolean, site_ok:text"}}, "spec-fields-invalid", 4, "fields", ["listed twice"]),
    ({4: {"form": "site.json"}}, "spec-fields-and-form", 4, "form", ["both fields and a form file"]),
    (
        {4: {"fields": None, "form": "../site.json"}},
        "spec-form-name-invalid",
        4,
        "form",
        ["not the name of a .json file"],
    ),
    (
        {6: {"fields": "decision:text"}},
        "spec-approval-reserved-field",
        6,
        "fields",
        ["always has decision and reason"],
    ),
    (
        {2: {"condition": "__import__('os').system('id')"}},
        "spec-condition-invalid",
        2,
        "condition",
        ["refused by the engine"],
    ),
    (
        {2: {"condition": "not documents_complete)"}},
        "spec-condition-invalid",
        2,
        "condition",
        ["syntax error"],
    ),
    (
        {2: {"condition": "not documents_completed"}},
        "spec-condition-unknown-field",
        2,
        "condition",
        ["documents_completed", "no step's fields define"],
    ),
    ({4: {"role": None}}, "spec-missing-role", 4, "role", ["needs a role"]),
    ({6: {"name_en": None}}, "spec-missing-name", 6, "name_en", ["needs an English name"]),
    ({1: {"wait_days": 5}}, "spec-column-ignored", 1, "wait_days", ["not used by a task step"]),
    ({1: {"id": "Check"}}, "spec-invalid", 1, "id", ["should match pattern"]),
    ({1: {"allowance_days": -1}}, "spec-invalid", 1, "allowance_days", ["greater than 0"]),
    ({1: {"kind": "review"}}, "spec-invalid", 1, "kind", ["'task', 'decision', 'supplement' or 'approval'"]),
    (
        {
            3: {"routes": "amount < 0 -> end; amount > 5000 -> finance_check"},
            4: {"parallel": None},
            5: {"parallel": None},
        },
        "spec-unreachable-step",
        4,
        "id",
        ["'site_visit' can never be reached"],
    ),
]


@pytest.mark.parametrize(
    ("change", "code", "row", "column", "fragments"), CASES, ids=[c[1] + f"-{n}" for n, c in enumerate(CASES)]
)
def test_table_findings_name_row_column_and_problem(
    change: Change, code: str, row: int, column: str, fragments: list[str]
) -> None:
    rows = step_rows(base_spec())
    for number, values in change.items():
        rows[number - 1].update(values)
    steps, findings = steps_from_rows(rows)
    finding = the(findings, code)
    assert (finding.file, finding.line, finding.column) == ("steps", row, STEP_COLUMNS.index(column) + 1)
    assert finding.message.startswith(f"step row {row}, column '{column}': ")
    text = f"{finding.message} — {finding.hint}"
    for fragment in fragments:
        assert fragment in text
    if finding.severity == "error" and code in ("spec-invalid", "spec-routes-invalid"):
        assert len(steps) == len(rows) - 1  # the row that cannot be read is left out


def test_a_row_that_cannot_be_read_does_not_make_its_id_unknown() -> None:
    rows = step_rows(base_spec())
    rows[3]["allowance_days"] = "soon"
    _, findings = steps_from_rows(rows)
    assert [f.code for f in findings] == ["spec-invalid"]
    assert findings[0].element_id == "site_visit"


def test_a_decision_as_first_step_needs_a_role() -> None:
    rows = step_rows(base_spec())
    _, findings = steps_from_rows([rows[2], *rows[:2], *rows[3:]])
    finding = next(f for f in findings if f.code == "spec-missing-role")
    assert finding.line == 1 and "first step is a decision" in finding.message


def test_rows_that_are_not_mappings_are_skipped_without_raising() -> None:
    steps, _ = steps_from_rows([None, *step_rows(base_spec())])  # type: ignore[list-item]
    assert len(steps) == 6


def test_step_names_are_required_only_where_they_are_shown() -> None:
    step = StepSpec(id="route", kind="decision", default="end")
    assert step.name_en is None and step.names() == {}


# -- field texts ---------------------------------------------------------------------------------


def test_field_text_becomes_a_form_the_engine_accepts() -> None:
    fields, problems = parse_fields(
        "applicant_name:text!, fee:number, count:integer, paid:boolean!, born:date, "
        "decision:choice(approve | refuse)!, id_card:file, note"
    )
    assert problems == []
    document = form_document({"en": "Check", "vi": "Kiểm tra"}, fields)
    schema = load_form_schema(__import__("json").dumps(document), file="check.json")
    assert schema.fields == ["applicant_name", "fee", "count", "paid", "born", "decision", "id_card", "note"]
    properties = document["properties"]
    assert document["required"] == ["applicant_name", "paid", "decision"]
    assert properties["applicant_name"] == {
        "title": "Applicant name",
        "type": "string",
        "maxLength": 2000,
        "minLength": 1,
    }
    assert properties["born"] == {"title": "Born", "type": "string", "format": "date"}
    assert properties["decision"]["enum"] == ["approve", "refuse"]
    assert properties["id_card"] == {"title": "Id card", "type": "string", "format": "data-url"}
    assert properties["note"]["type"] == "string"
    assert document["x-title"] == {"en": "Check", "vi": "Kiểm tra"}


def test_choice_options_separated_by_commas_are_explained() -> None:
    _, problems = parse_fields("decision:choice(approve, refuse)")
    assert len(problems) == 1 and "comma" in problems[0].message
