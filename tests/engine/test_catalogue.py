"""The public procedure catalogue: published versions only, their manuals as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from designer.packages import read_package
from engine import OneStop, PackageFiles
from engine.catalogue_export import CSV_COLUMNS, FORMAT, FORMAT_VERSION, read_json, to_csv, to_json
from engine.errors import InputRejected
from tests.conftest import DATA, PROCEDURES, T0

LATER = T0 + timedelta(days=3)


def _building_permit(**manual: object) -> PackageFiles:
    package = read_package(PROCEDURES / "building_permit")
    return replace(package, manual={**package.manual, **manual})


def _review_loop(manual: dict[str, object]) -> PackageFiles:
    package = read_package(DATA / "review_loop")
    return replace(package, manual={**package.manual, **manual})


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_published_building_permit_is_listed_with_its_service_manual(onestop: OneStop) -> None:
    [entry] = onestop.catalogue.entries()

    assert (entry.procedure_code, entry.version, entry.published_at) == ("building_permit", 1, T0)
    assert len(entry.sha256) == 64
    assert entry.national_code == "TH-LOCAL-BCA2522-S21-CONSTRUCTION"
    assert entry.name == {
        "th": "การขออนุญาตก่อสร้างอาคาร",
        "vi": "Cấp giấy phép xây dựng công trình (Thái Lan)",
        "en": "Building construction permit",
    }
    assert (entry.time_limit_days, entry.day_type, entry.max_extensions) == (45, "calendar", 2)
    assert entry.channels == ("counter", "online")
    assert entry.legal_basis[0].startswith("Building Control Act B.E. 2522 (1979), section 21")
    # A plain-string text serves every language.
    assert entry.responsible_unit == dict.fromkeys(("th", "vi", "en"), "Engineering division, municipality")
    first = entry.steps[0]
    assert (first.id, first.role, first.allowance_days) == ("check_completeness", "intake_officer", 1)
    held = [d.name["en"] for d in entry.documents if d.held_by_state]
    assert any(name.startswith("Company registration certificate") for name in held)
    assert entry.fees[0].amount == 20
    assert entry.results[0].name["th"] == "ใบอนุญาตก่อสร้างอาคาร (แบบ อ.1)"
    assert entry.complaint_channel is not None
    assert "1567" in entry.complaint_channel["en"]


def test_a_draft_version_is_not_in_the_catalogue(onestop: OneStop) -> None:
    onestop.procedures.import_package("admin", _review_loop({}), T0, publish=False)
    onestop.procedures.import_package(
        "admin", _building_permit(time_limit={"value": 30, "day_type": "working"}), T0, publish=False
    )

    entries = onestop.catalogue.entries()

    assert [(e.procedure_code, e.version, e.time_limit_days) for e in entries] == [("building_permit", 1, 45)]


def test_a_retired_version_leaves_the_catalogue(onestop: OneStop) -> None:
    onestop.procedures.import_package(
        "admin", _building_permit(time_limit={"value": 30, "day_type": "working"}), LATER, publish=True
    )

    [entry] = onestop.catalogue.entries()
    assert (entry.version, entry.published_at, entry.time_limit_days) == (2, LATER, 30)

    onestop.procedures.retire("admin", "building_permit", 2, LATER)
    assert onestop.catalogue.entries() == []


def test_entries_are_ordered_by_procedure_code(onestop: OneStop) -> None:
    onestop.procedures.import_package("admin", _review_loop({}), T0, publish=True)

    assert [e.procedure_code for e in onestop.catalogue.entries()] == ["building_permit", "review_loop"]


def test_nothing_but_the_manual_and_the_version_metadata_is_published(onestop: OneStop) -> None:
    document = json.loads(to_json(onestop.catalogue.entries(), LATER))
    [entry] = document["procedures"]

    for hidden in ("published_by", "created_by", "starter_role", "personal_data", "process_id", "roles"):
        assert hidden not in entry
    assert "national_id" not in json.dumps(document)  # the manual's personal-data field list stays out


def test_json_carries_every_language_and_reads_back_unchanged(onestop: OneStop) -> None:
    entries = onestop.catalogue.entries()

    text = to_json(entries, LATER)
    document = json.loads(text)

    assert (document["format"], document["format_version"]) == (FORMAT, FORMAT_VERSION)
    assert document["generated_at"] == "2026-03-05T02:30:00Z"
    assert document["languages"] == ["th", "vi", "en"]
    assert document["procedures"][0]["published_at"] == "2026-03-02T02:30:00Z"
    assert set(document["procedures"][0]["steps"][0]["name"]) == {"th", "vi", "en"}
    assert "การขออนุญาตก่อสร้างอาคาร" in text  # written as UTF-8, not \\u escapes
    assert read_json(text) == entries


def test_reading_json_of_another_format_is_refused() -> None:
    with pytest.raises(InputRejected, match="not a procedure catalogue"):
        read_json('{"format": "something-else"}')
    with pytest.raises(InputRejected, match="format version 99"):
        read_json(json.dumps({"format": FORMAT, "format_version": 99}))
    with pytest.raises(InputRejected, match="not JSON"):
        read_json("{")


def test_csv_has_the_documented_header_and_one_thai_row_per_version(onestop: OneStop) -> None:
    text = to_csv(onestop.catalogue.entries(), "th")

    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    [row] = _csv_rows(text)
    assert row["procedure_code"] == "building_permit"
    assert (row["version"], row["language"], row["published_at"]) == ("1", "th", "2026-03-02T02:30:00Z")
    assert row["name"] == "การขออนุญาตก่อสร้างอาคาร"
    assert (row["time_limit_days"], row["day_type"], row["max_extensions"]) == ("45", "calendar", "2")
    assert row["channels"] == "counter | online"
    steps = row["steps"].split(" | ")
    assert steps[0] == "รับคำขอและตรวจสอบความครบถ้วนของเอกสาร [intake_officer; 1 day]"
    assert "ทะเบียนบ้านของผู้ขออนุญาตและเจ้าของที่ดิน [required; held by the state]" in row["documents"]
    assert row["fees"].split(" | ")[0] == "ค่าธรรมเนียมใบอนุญาตก่อสร้าง: 20 THB per permit"
    assert row["results"] == "ใบอนุญาตก่อสร้างอาคาร (แบบ อ.1)"
    assert len(row["legal_basis"].split(" | ")) == 4


def test_csv_texts_follow_the_language_asked_for(onestop: OneStop) -> None:
    entries = onestop.catalogue.entries()

    assert _csv_rows(to_csv(entries, "vi"))[0]["name"] == "Cấp giấy phép xây dựng công trình (Thái Lan)"
    assert _csv_rows(to_csv(entries, "en"))[0]["name"] == "Building construction permit"
    with pytest.raises(InputRejected, match="language 'fr'"):
        to_csv(entries, "fr")


def test_free_procedures_say_none_rather_than_leaving_fees_blank(onestop: OneStop) -> None:
    onestop.procedures.import_package(
        "admin",
        _review_loop({"fees": [{"name": {"en": "Certified copy", "th": "สำเนารับรอง"}, "amount": 0}]}),
        T0,
        publish=True,
    )
    onestop.procedures.import_package("admin", read_package(DATA / "timer_wait"), T0, publish=True)

    rows = {row["procedure_code"]: row for row in _csv_rows(to_csv(onestop.catalogue.entries(), "th"))}

    assert rows["review_loop"]["fees"] == "สำเนารับรอง: none"
    assert rows["timer_wait"]["fees"] == "none"


def test_entries_in_one_language_keep_only_its_texts(onestop: OneStop) -> None:
    [entry] = onestop.catalogue.entries("th")

    assert entry.name == {"th": "การขออนุญาตก่อสร้างอาคาร"}
    assert entry.steps[0].name == {"th": "รับคำขอและตรวจสอบความครบถ้วนของเอกสาร"}
    with pytest.raises(InputRejected, match="choose one of th, vi, en"):
        onestop.catalogue.entries("de")


def test_a_missing_language_falls_back_to_english(onestop: OneStop) -> None:
    onestop.procedures.import_package(
        "admin", _review_loop({"name": {"en": "Review loop", "th": "วงรอบการตรวจ"}}), T0, publish=True
    )

    entry = next(e for e in onestop.catalogue.entries() if e.procedure_code == "review_loop")

    assert entry.name == {"th": "วงรอบการตรวจ", "vi": "Review loop", "en": "Review loop"}


def test_an_odd_manual_gives_empty_sections_instead_of_failing(onestop: OneStop) -> None:
    odd = {
        "name": None,
        "legal_basis": "One law as a plain string",
        "channels": "counter",
        "time_limit": {"value": 5, "day_type": "fortnightly"},
        "steps": ["not a mapping", {"id": "review", "allowance_days": -3}],
        "documents": [{"required": False}, {"name": "Form A", "held_by_state": "yes"}],
        "fees": [{"name": {"en": "Stamp"}, "amount": "a lot"}],
        "results": {"name": "not a list"},
        "complaint_channel": {"en": ""},
    }
    onestop.procedures.import_package("admin", _review_loop(odd), T0, publish=True)

    entry = next(e for e in onestop.catalogue.entries() if e.procedure_code == "review_loop")

    assert entry.name == dict.fromkeys(("th", "vi", "en"), "review_loop")
    assert entry.legal_basis == ("One law as a plain string",)
    assert entry.channels == ("counter",)
    assert (entry.time_limit_days, entry.day_type) == (5, None)
    assert [(s.id, s.name, s.allowance_days) for s in entry.steps] == [("review", {}, None)]
    assert [(d.name["en"], d.required, d.held_by_state) for d in entry.documents] == [("Form A", True, False)]
    assert entry.fees[0].amount is None
    assert entry.results[0].name["th"] == "not a list"
    assert entry.complaint_channel is None
    assert _csv_rows(to_csv([entry], "th"))[0]["steps"] == "review"
