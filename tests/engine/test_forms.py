from __future__ import annotations

import copy
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from engine.errors import FieldError, FormInvalid, ProcedureInvalid
from engine.forms import (
    MAX_FORM_SCHEMA_BYTES,
    FormSchema,
    load_form_schema,
    validate_form,
)

DATA = Path(__file__).parent.parent / "data" / "forms"


@pytest.fixture(scope="module")
def birth() -> FormSchema:
    path = DATA / "birth_registration.json"
    return load_form_schema(path.read_bytes(), file=path.name)


def _valid() -> dict[str, Any]:
    return {
        "informant": {"name": "Somchai Jaidee", "national_id": "1101700230074"},
        "child_name": "Malee Jaidee",
        "birth_date": "2025-08-15",
        "phone": "+66 81 234 5678",
        "sex": "female",
        "weight_grams": 3100,
        "attachments": [{"kind": "hospital birth certificate"}],
    }


def _errors(schema: FormSchema, data: dict[str, Any], locale: str = "en") -> list[FieldError]:
    with pytest.raises(FormInvalid) as caught:
        validate_form(schema, data, locale=locale)
    assert caught.value.details["file"] == schema.file
    return caught.value.errors


def _by_field(errors: list[FieldError]) -> dict[str, str]:
    return {error.field: error.message for error in errors}


def _simple_form(**property_schema: Any) -> FormSchema:
    return load_form_schema(
        json.dumps({"type": "object", "properties": {"value": property_schema}}),
        file="simple.json",
    )


# --- valid data ------------------------------------------------------------------------


def test_valid_data_is_returned_as_a_deep_copy(birth: FormSchema) -> None:
    data = _valid()

    accepted = validate_form(birth, data)

    assert accepted == data
    accepted["informant"]["name"] = "changed"
    accepted["attachments"].append({"kind": "x"})
    assert data == _valid()


def test_extra_fields_are_allowed_unless_additional_properties_is_false() -> None:
    open_form = _simple_form(type="string")

    assert validate_form(open_form, {"value": "a", "note": 1}) == {"value": "a", "note": 1}


# --- every error at once -----------------------------------------------------------------


def test_every_invalid_field_is_reported_at_once_with_its_path(birth: FormSchema) -> None:
    data = _valid()
    data["informant"] = {"national_id": "1101700230075"}
    data["birth_date"] = "2025-02-29"
    data["weight_grams"] = 100
    data["attachments"] = [{"kind": "ok"}, {}]
    data["nickname"] = "Mali"
    del data["phone"]

    errors = _errors(birth, data)

    assert _by_field(errors) == {
        "informant.name": "Name: this field is required",
        "informant.national_id": ("National ID: 1101700230075 is not a valid Thai national ID (check digit)"),
        "birth_date": "Date of birth: 2025-02-29 is not a valid date (no such day in the calendar)",
        "phone": "Phone: this field is required",
        "weight_grams": "Birth weight (g): must be at least 300",
        "attachments[1].kind": "Document kind: this field is required",
        "nickname": "nickname: this form has no such field; remove it",
    }
    # In the order the form shows its fields; unknown fields last.
    assert errors[0].field.startswith("informant.")
    assert errors[-1].field == "nickname"


def test_form_invalid_message_names_the_form_and_counts_fields(birth: FormSchema) -> None:
    data = _valid()
    data["child_name"] = ""
    data["sex"] = "unknown"

    with pytest.raises(FormInvalid) as caught:
        validate_form(birth, data)

    message = str(caught.value)
    assert message.startswith("Birth registration: 2 fields need correcting")
    assert "Child's name: must not be empty" in message
    assert "Sex: must be one of: female, male" in message


def test_required_field_errors_name_the_missing_field(birth: FormSchema) -> None:
    errors = _errors(birth, {})

    assert [e.field for e in errors] == ["informant", "child_name", "birth_date", "phone"]
    assert errors[1].message == "Child's name: this field is required"


def test_nested_object_field_has_a_dotted_path(birth: FormSchema) -> None:
    data = _valid()
    data["informant"]["vn_id"] = "097099012345"

    errors = _errors(birth, data)

    assert errors == [
        FieldError(
            field="informant.vn_id",
            message=(
                "Citizen ID (CCCD): 097099012345 is not a valid Vietnamese citizen ID "
                "(unknown province code 097; codes run from 001 to 096)"
            ),
        )
    ]


def test_type_length_count_and_pattern_errors_read_as_sentences(birth: FormSchema) -> None:
    data = _valid()
    data["child_name"] = "x" * 101
    data["weight_grams"] = "heavy"
    data["house_number"] = "12-345"
    data["attachments"] = [{"kind": str(i)} for i in range(6)]

    fields = _by_field(_errors(birth, data))

    assert fields["child_name"] == "Child's name: must be at most 100 characters long"
    assert fields["weight_grams"] == "Birth weight (g): must be a whole number"
    assert fields["house_number"] == (
        "House registration number: 12-345 does not have the expected form "
        "(11 digits, as printed on the house registration book)"
    )
    assert fields["attachments"] == "Attachments: allows at most 5 item(s)"


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "good", "bad", "message"),
    [
        (
            "thai-national-id",
            "3101234567893",
            "310123456789",
            "Value: 310123456789 is not a valid Thai national ID (must be 13 digits)",
        ),
        (
            "vn-citizen-id",
            "001099012345",
            "000099012345",
            "Value: 000099012345 is not a valid Vietnamese citizen ID "
            "(unknown province code 000; codes run from 001 to 096)",
        ),
        (
            "phone",
            "0912 345 678",
            "+66 081 234 5678",
            "Value: +66 081 234 5678 is not a valid phone number (drop the 0 after +66)",
        ),
        (
            "date",
            "2024-02-29",
            "2024-02-30",
            "Value: 2024-02-30 is not a valid date (no such day in the calendar)",
        ),
        ("date", "2024-01-31", "20240131", None),
        ("email", "somchai@example.go.th", "not-an-email", "Value: not-an-email is not a valid email"),
    ],
)
def test_formats_are_asserted(fmt: str, good: str, bad: str, message: str | None) -> None:
    form = _simple_form(type="string", format=fmt, title="Value")

    assert validate_form(form, {"value": good}) == {"value": good}
    [error] = _errors(form, {"value": bad})
    assert error.field == "value"
    if message is not None:
        assert error.message == message


def test_format_ignores_values_of_the_wrong_type() -> None:
    form = _simple_form(type="string", format="thai-national-id", title="National ID")

    [error] = _errors(form, {"value": 1101700230074})

    assert error.message == "National ID: must be text"


# --- data that is not JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ({"a", "b"}, "value", "values of type set cannot be stored"),
        (b"1101700230074", "value", "values of type bytes cannot be stored"),
        (("a", "b"), "value", "values of type tuple cannot be stored"),
        (float("nan"), "value", "nan is not a number JSON can hold"),
        ({"inner": object()}, "value.inner", "values of type object cannot be stored"),
        ({1: "a"}, "value", "key 1 must be text"),
    ],
)
def test_values_that_are_not_json_are_field_errors(value: Any, field: str, words: str) -> None:
    form = _simple_form()

    [error] = _errors(form, {"value": value})

    assert error.field == field
    assert words in error.message


def test_cyclic_and_very_deep_data_fail_cleanly() -> None:
    form = _simple_form()
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]

    [cycle_error] = _errors(form, {"value": cyclic})
    [deep_error] = _errors(form, {"value": deep})

    assert "nested too deeply" in cycle_error.message
    assert "nested too deeply" in deep_error.message


def test_non_mapping_data_is_a_whole_form_error() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate_form(_simple_form(), ["not", "a", "form"])  # type: ignore[arg-type]

    assert caught.value.errors[0].field == ""


# --- loading schema files ----------------------------------------------------------------


def test_broken_json_is_procedure_invalid_with_line_and_column() -> None:
    path = DATA / "broken_json.json"

    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(path.read_text(encoding="utf-8"), file=path.name)

    assert caught.value.details == {"file": "broken_json.json", "line": 6, "column": 3}
    assert str(caught.value).startswith("broken_json.json line 6, column 3: not valid JSON")


def test_invalid_json_schema_is_procedure_invalid_with_location() -> None:
    path = DATA / "invalid_schema.json"

    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(path.read_bytes(), file=path.name)

    assert caught.value.details["file"] == "invalid_schema.json"
    assert caught.value.details["pointer"] == "/properties/volume/type"
    assert "'integr'" in str(caught.value)


def test_unknown_format_is_refused_with_a_suggestion() -> None:
    path = DATA / "unknown_format.json"

    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(path.read_bytes(), file=path.name)

    assert 'did you mean "thai-national-id"?' in str(caught.value)
    assert caught.value.details["pointer"] == "/properties/national_id"


def test_remote_ref_is_refused_without_fetching(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a $ref was fetched from the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    path = DATA / "remote_ref.json"

    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(path.read_bytes(), file=path.name)

    assert "may only refer inside their own file" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"properties": {"a": {"$ref": "#/$defs/missing"}}}', "points to nothing"),
        ('{"type": "object", "title": "A", "title": "B"}', 'the key "title" appears twice'),
        ('{"properties": {"n": {"maximum": NaN}}}', "NaN is not a JSON number"),
        ("[]", "must be a JSON object"),
        ('{"type": "string"}', 'set "type": "object"'),
        ('{"$schema": "http://json-schema.org/draft-07/schema#"}', "Draft 2020-12"),
        ('{"x-title": "Form"}', "/x-title must map locales to text"),
        ('{"properties": {"a": {"x-title": {"th": 1}}}}', "/properties/a/x-title must map"),
        ('{"properties": {"a": {"pattern": "("}}}', "is not a 'regex'"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_unusable_schemas_are_procedure_invalid(text: str, words: str) -> None:
    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(text, file="form.json")

    assert words in str(caught.value)
    assert caught.value.details["file"] == "form.json"


def test_non_utf8_schema_reports_its_line() -> None:
    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema(b'{\n"title": "\xe0\xb9"\n}', file="form.json")

    assert caught.value.details["line"] == 2


def test_oversized_schema_is_refused() -> None:
    padding = " " * MAX_FORM_SCHEMA_BYTES

    with pytest.raises(ProcedureInvalid) as caught:
        load_form_schema('{"type": "object"}' + padding, file="big.json")

    assert "must not exceed" in str(caught.value)


def test_byte_order_mark_and_property_named_like_keywords_are_fine() -> None:
    document = {"type": "object", "properties": {"format": {"type": "string"}, "x-title": {}}}

    form = load_form_schema(b"\xef\xbb\xbf" + json.dumps(document).encode(), file="f.json")

    assert form.fields == ["format", "x-title"]


# --- the model ---------------------------------------------------------------------------


def test_constructing_form_schema_directly_runs_the_same_checks() -> None:
    with pytest.raises(ProcedureInvalid):
        FormSchema(file="f.json", definition={"properties": {"a": {"type": "strin"}}})


def test_json_schema_is_a_copy_that_cannot_change_the_form(birth: FormSchema) -> None:
    exposed = birth.json_schema
    before = copy.deepcopy(exposed)

    exposed["properties"]["phone"]["format"] = "email"

    assert birth.json_schema == before
    assert birth.fields == [
        "informant",
        "child_name",
        "birth_date",
        "phone",
        "sex",
        "weight_grams",
        "house_number",
        "attachments",
    ]


# --- localised titles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("th", "แจ้งเกิด"),
        ("vi", "Đăng ký khai sinh"),
        ("en", "Birth registration"),
        ("th-TH", "แจ้งเกิด"),
        ("fr", "Birth registration"),
    ],
)
def test_form_title_is_localised_with_fallback(birth: FormSchema, locale: str, title: str) -> None:
    assert birth.title(locale) == title


def test_field_titles_are_localised_with_fallbacks(birth: FormSchema) -> None:
    assert birth.field_title("child_name", "th") == "ชื่อเด็ก"
    assert birth.field_title("child_name", "vi") == "Họ và tên trẻ"
    assert birth.field_title("child_name") == "Child's name"
    assert birth.field_title("sex", "th") == "Sex"  # no x-title: plain title
    assert birth.field_title("informant.national_id", "th") == "เลขประจำตัวประชาชน"
    assert birth.field_title("informant.vn_id", "vi") == "Số căn cước công dân"  # via $ref
    assert birth.field_title("attachments[0].kind") == "Document kind"
    assert birth.field_title("no_such_field") == "no_such_field"


def test_descriptions_are_localised(birth: FormSchema) -> None:
    assert birth.description("vi") == "Nhập thông tin người khai và trẻ"
    assert birth.field_description("house_number", "th") == (
        "11 digits, as printed on the house registration book"
    )
    assert birth.field_description("phone") is None


def test_form_title_falls_back_to_file_name() -> None:
    assert _simple_form().title("th") == "simple"


def test_error_messages_use_titles_of_the_requested_locale(birth: FormSchema) -> None:
    data = _valid()
    data["informant"]["national_id"] = "1101700230075"
    del data["phone"]

    with pytest.raises(FormInvalid) as caught:
        validate_form(birth, data, locale="th")

    assert _by_field(caught.value.errors) == {
        "informant.national_id": (
            "เลขประจำตัวประชาชน: 1101700230075 is not a valid Thai national ID (check digit)"
        ),
        "phone": "โทรศัพท์: this field is required",
    }
    assert str(caught.value).startswith("แจ้งเกิด: 2 fields need correcting")
