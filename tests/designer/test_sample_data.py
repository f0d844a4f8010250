"""Sample form data: accepted by the engine's validation, deterministic, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from designer.sample_data import build_sample, path_choices, sample_data
from engine.errors import ProcedureInvalid
from engine.forms import FormSchema, load_form_schema, validate_form
from tests.conftest import DATA, PROCEDURES

FORM_FILES = sorted([*PROCEDURES.glob("**/forms/*.json"), *DATA.glob("**/*.json")])


def usable_forms() -> list[Path]:
    usable = []
    for path in FORM_FILES:
        try:
            load_form_schema(path.read_bytes(), file=path.name)
        except ProcedureInvalid:
            continue
        usable.append(path)
    return usable


def form(path: Path) -> FormSchema:
    return load_form_schema(path.read_bytes(), file=path.name)


def test_there_are_forms_to_sample() -> None:
    names = {path.name for path in usable_forms()}
    assert {"check_completeness.json", "approval.json", "birth_registration.json"} <= names


@pytest.mark.parametrize("path", usable_forms(), ids=lambda path: path.name)
def test_sample_data_passes_the_engines_validation(path: Path) -> None:
    schema = form(path)
    values = sample_data(schema.json_schema)
    assert validate_form(schema, values) == values
    assert build_sample(schema.json_schema).problems == ()


@pytest.mark.parametrize("path", usable_forms(), ids=lambda path: path.name)
def test_every_path_choice_gives_valid_data(path: Path) -> None:
    schema = form(path)
    for field, values in path_choices(schema.json_schema).items():
        for value in values:
            sample = sample_data(schema.json_schema, seed_values={field: value})
            assert sample[field] == value
            validate_form(schema, sample)


def test_sample_data_is_deterministic_and_leaves_the_schema_alone() -> None:
    schema = json.loads((PROCEDURES / "building_permit/forms/check_completeness.json").read_text())
    original = json.loads(json.dumps(schema))
    assert sample_data(schema) == sample_data(schema)
    assert schema == original


def test_seed_values_win_and_conditions_follow_them() -> None:
    schema = form(PROCEDURES / "building_permit/forms/approval.json").json_schema
    assert sample_data(schema)["decision"] == "approve"
    refused = sample_data(schema, seed_values={"decision": "refuse"})
    assert refused["decision"] == "refuse" and refused["reasons"]
    incomplete = sample_data(
        form(PROCEDURES / "building_permit/forms/check_completeness.json").json_schema,
        seed_values={"documents_complete": False},
    )
    assert incomplete["missing_items"]


def test_samples_follow_formats_and_bounds() -> None:
    values = sample_data(form(DATA / "forms/birth_registration.json").json_schema)
    assert values["informant"]["national_id"] == "1101700230074"
    assert values["birth_date"] == "2026-03-02"
    assert values["house_number"] == "11111111111"
    assert values["weight_grams"] >= 300 and isinstance(values["weight_grams"], int)
    files = sample_data(form(PROCEDURES / "building_permit/forms/check_completeness.json").json_schema)
    assert files["id_card_copy"].startswith("sha256:") and len(files["building_plans"]) == 1


def test_path_choices_name_the_values_that_lead_elsewhere() -> None:
    approval = form(PROCEDURES / "building_permit/forms/approval.json").json_schema
    assert path_choices(approval) == {"decision": ["approve", "refuse"]}
    amended = form(PROCEDURES / "building_permit/forms/receive_amended_plans.json").json_schema
    assert path_choices(amended) == {}
    one_of = {
        "type": "object",
        "properties": {"route": {"type": "string", "oneOf": [{"const": "post"}, {"const": "counter"}]}},
    }
    assert path_choices(one_of) == {"route": ["post", "counter"]}
    assert sample_data(one_of) == {"route": "post"}


def test_a_pattern_that_cannot_be_met_is_reported_not_raised() -> None:
    schema = {
        "type": "object",
        "required": ["code", "plate"],
        "properties": {
            "code": {"type": "string", "pattern": "^(?=[A-Z])[A-Z]{2}$"},
            "plate": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{4}$"},
        },
    }
    result = build_sample(schema)
    assert result.values["plate"] == "AA-1111"
    assert any("code" in problem and "pattern" in problem for problem in result.problems)


ODD: list[Any] = [
    None,
    5,
    [],
    {"type": 5},
    {"properties": []},
    {"properties": {"a": 5, "b": False}},
    {"$ref": "#"},
    {"properties": {"a": {"$ref": "#"}}},
    {
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "properties": {"x": {"$ref": "#/$defs/a"}},
    },
    {"required": ["x"], "properties": {"x": {"type": "array", "items": {"$ref": "#"}}}},
    {"properties": {"n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}}},
    {"properties": {"i": {"type": "integer", "multipleOf": 7, "minimum": 20, "format": ["x"]}}},
    {"properties": {"s": {"type": "string", "pattern": "(", "minLength": 5, "maxLength": 2}}},
    {
        "allOf": [{"properties": {"a": {"type": "string"}}}, 3],
        "oneOf": [{"const": 1}],
        "if": True,
        "then": {},
    },
    {"required": ["x"], "additionalProperties": False},
]


@pytest.mark.parametrize("schema", ODD, ids=lambda schema: json.dumps(schema)[:40])
def test_odd_schemas_never_raise(schema: Any) -> None:
    result = build_sample(schema)
    assert isinstance(result.values, dict)
    assert all(isinstance(problem, str) for problem in result.problems)
    assert isinstance(path_choices(schema), dict)


def test_an_unusable_schema_says_so() -> None:
    result = build_sample(json.loads((DATA / "forms/invalid_schema.json").read_text()))
    assert result.problems and "cannot be used" in result.problems[0]
