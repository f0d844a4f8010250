"""Documents uploaded with a form: checked, stored once, recorded in the event, opened with a log."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from engine import OneStop
from engine.attachments import Upload, clean_filename, sniff_media_type
from engine.errors import DocumentNotFound, FormInvalid, PermissionDenied
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE, SITE

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60


def _intake(onestop: OneStop) -> tuple[str, int]:
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    return case.dossier_code, case.open_items[0].id


def _rows(onestop: OneStop, sql: str) -> list[tuple[object, ...]]:
    with onestop.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_uploads_are_stored_once_referenced_and_recorded_in_the_event(onestop: OneStop) -> None:
    code, item = _intake(onestop)
    files = {
        "id_card_copy": [Upload("C:\\scans\\id card.pdf", PDF)],
        "building_plans": [Upload("plans.png", PNG), Upload("plans (copy).png", PNG)],
    }
    onestop.cases.complete("somchai", item, T0 + timedelta(minutes=5), COMPLETE, files=files)

    stored = _rows(onestop, "SELECT filename, media_type, size, sha256 FROM attachments ORDER BY id")
    assert stored == [
        ("id card.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
        ("plans.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest()),
    ]
    completed = next(e for e in onestop.queries.events("system", code) if e.kind == "task_completed")
    data = completed.payload["data"]
    assert data["id_card_copy"] == "sha256:" + hashlib.sha256(PDF).hexdigest()
    assert data["building_plans"] == ["sha256:" + hashlib.sha256(PNG).hexdigest()] * 2
    recorded = completed.payload["attachments"]
    assert [(a["field"], a["filename"], a["size"]) for a in recorded] == [
        ("id_card_copy", "id card.pdf", len(PDF)),
        ("building_plans", "plans.png", len(PNG)),
        ("building_plans", "plans (copy).png", len(PNG)),
    ]
    assert onestop.verify(code).ok


def test_a_refused_upload_stores_nothing_and_reports_every_field(onestop: OneStop) -> None:
    code, item = _intake(onestop)
    files = {
        "id_card_copy": [Upload("virus.pdf", EXE)],
        "building_plans": [Upload("plan.pdf", PDF), Upload("empty.pdf", b"")],
        "storeys": [Upload("x.pdf", PDF)],
    }
    with pytest.raises(FormInvalid) as refused:
        onestop.cases.complete("somchai", item, T0, {**COMPLETE, "storeys": 0}, files=files)
    messages = {(e.field, e.message) for e in refused.value.errors}
    assert ("id_card_copy", "'virus.pdf' is not a PDF, JPEG, PNG, TIFF or WebP file") in messages
    assert ("building_plans", "'empty.pdf' is empty") in messages
    assert ("storeys", "this field takes no file") in messages
    assert _rows(onestop, "SELECT count(*) FROM attachments") == [(0,)]
    assert [e.kind for e in onestop.queries.events("system", code)][-1] == "deadline_set"  # nothing new


def test_a_field_restricts_media_types_and_size(onestop: OneStop) -> None:
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
    site = next(
        i for i in onestop.queries.case("kanya", case.dossier_code).open_items if i.element_id == "site_visit"
    )
    with pytest.raises(FormInvalid) as refused:
        onestop.cases.complete("kanya", site.id, T0, SITE, files={"site_photos": [Upload("report.pdf", PDF)]})
    assert [e.message for e in refused.value.errors] == [
        "'report.pdf' is application/pdf; this field takes image/*"
    ]
    small = OneStop(onestop.settings.model_copy(update={"max_attachment_mb": 0.00001}))
    try:
        with pytest.raises(FormInvalid) as too_big:
            small.cases.complete("kanya", site.id, T0, SITE, files={"site_photos": [Upload("a.png", PNG)]})
        assert "at most 0.0 MiB" in too_big.value.errors[0].message
    finally:
        small.close()


def test_references_typed_by_hand_are_refused(onestop: OneStop) -> None:
    _, item = _intake(onestop)
    foreign = "sha256:" + "ab" * 32
    with pytest.raises(FormInvalid) as refused:
        onestop.cases.complete("somchai", item, T0, {**COMPLETE, "id_card_copy": foreign})
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("id_card_copy", "this file was not uploaded to this case; upload it again")
    ]
    with pytest.raises(FormInvalid) as typed:
        onestop.cases.complete("somchai", item, T0, {**COMPLETE, "id_card_copy": "my card"})
    assert typed.value.errors[0].message.endswith(": upload the file here, do not type it")


def test_documents_open_with_a_purpose_and_personal_ones_only_for_roles_that_need_them(
    onestop: OneStop,
) -> None:
    code, item = _intake(onestop)
    files = {"id_card_copy": [Upload("id.pdf", PDF)], "building_plans": [Upload("plan.png", PNG)]}
    onestop.cases.complete("somchai", item, T0, COMPLETE, files=files)

    listed = {d.filename: d for d in onestop.queries.documents("kanya", code)}
    assert listed["id.pdf"].restricted and listed["id.pdf"].fields == ("id_card_copy",)
    assert not listed["plan.png"].restricted
    with pytest.raises(PermissionDenied, match="personal data"):
        onestop.queries.document("kanya", code, listed["id.pdf"].id, "plan review", T0)
    with pytest.raises(PermissionDenied, match="purpose"):
        onestop.queries.document("kanya", code, listed["plan.png"].id, " ", T0)
    plan = onestop.queries.document("kanya", code, listed["plan.png"].id, "plan review", T0)
    assert plan.content == PNG and plan.attachment.media_type == "image/png"
    card = onestop.queries.document("somchai", code, listed["id.pdf"].id, "identity check", T0)
    assert card.content == PDF
    with pytest.raises(DocumentNotFound):
        onestop.queries.document("somchai", code, 999_999, "identity check", T0)
    logged = _rows(onestop, "SELECT actor, fields, purpose FROM access_log ORDER BY id")[-2:]
    assert [(actor, json.loads(f) if isinstance(f, str) else f, why) for actor, f, why in logged] == [
        ("kanya", [f"document {listed['plan.png'].id} (plan.png)"], "plan review"),
        ("somchai", [f"document {listed['id.pdf'].id} (id.pdf)"], "identity check"),
    ]
    # Another commune's staff cannot even list them.
    with pytest.raises(Exception, match="that you may see"):
        onestop.queries.documents("malee", code)
    task = onestop.tasks.task("kanya", onestop.queries.case("kanya", code).open_items[0].id, T0)
    assert {d.filename for d in task.documents} == {"id.pdf", "plan.png"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\a\\scan.pdf", "scan.pdf"),
        ("bad\x00name\u202e.pdf", "badname.pdf"),
        ("...", "document"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
        ("ใบอนุญาต.pdf", "ใบอนุญาต.pdf"),
    ],
)
def test_file_names_are_reduced_to_plain_names(given: str, kept: str) -> None:
    assert clean_filename(given) == kept


def test_media_types_come_from_the_content() -> None:
    assert sniff_media_type(PDF) == "application/pdf"
    assert sniff_media_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_media_type(b"<html><script>") is None
    assert sniff_media_type(EXE) is None
