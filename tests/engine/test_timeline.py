"""A case's timeline: data changes per event, personal values masked unless needed, reveals logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine import OneStop
from engine.attachments import Upload
from engine.errors import PermissionDenied
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE

PDF = b"%PDF-1.7\n%%EOF\n"


def _case_after_intake(onestop: OneStop) -> str:
    case = onestop.cases.start_case(
        "somchai",
        "building_permit",
        "TH.50.01",
        T0,
        {"applicant_name": "Somchai Jaidee", "phone": "0812345678"},
    )
    onestop.cases.complete(
        "somchai",
        case.open_items[0].id,
        T0 + timedelta(minutes=3),
        {**COMPLETE, "phone": "+66 81 234 5678"},
        files={"id_card_copy": [Upload("card.pdf", PDF)]},
    )
    return case.dossier_code


def test_each_event_lists_the_fields_it_changed_with_before_and_after(onestop: OneStop) -> None:
    code = _case_after_intake(onestop)
    timeline = onestop.queries.timeline("niran", code, now=T0)
    started, *rest = timeline.entries
    assert started.kind == "case_started" and started.actor == "somchai"
    completed = next(e for e in rest if e.kind == "task_completed")
    assert completed.step == "Check completeness"
    changes = {c.field: c for c in completed.changes}
    assert changes["floor_area"].before is None and changes["floor_area"].after == 180.0
    assert changes["phone"].masked and changes["phone"].before == "•••5678"
    assert changes["phone"].after == "•••5678"
    assert changes["id_card_copy"].after == "c•••"  # the file name, masked: it is personal
    assert "applicant_name" not in changes  # unchanged since the start
    assert completed.documents == ("card.pdf",)
    assert timeline.masked_fields == (
        "applicant_address",
        "applicant_name",
        "id_card_copy",
        "lookup_applicant",
        "national_id",
        "phone",
    )
    assert all(e.seq == n for n, e in enumerate(timeline.entries, start=1))


def test_a_role_that_needs_personal_data_sees_it_with_a_purpose_and_the_read_is_logged(
    onestop: OneStop,
) -> None:
    code = _case_after_intake(onestop)
    plain = onestop.queries.timeline("somchai", code, now=T0)
    assert "phone" in plain.masked_fields  # no purpose given: masked even for intake
    shown = onestop.queries.timeline("somchai", code, now=T0, purpose="applicant called")
    assert shown.masked_fields == ()
    completed = next(e for e in shown.entries if e.kind == "task_completed")
    phone = next(c for c in completed.changes if c.field == "phone")
    assert (phone.before, phone.after) == ("0812345678", "+66 81 234 5678")
    assert next(c for c in completed.changes if c.field == "id_card_copy").after == "card.pdf"
    engineer = onestop.queries.timeline("niran", code, now=T0, purpose="curious")
    assert "phone" in engineer.masked_fields
    with onestop.db.engine.connect() as connection:
        logged = connection.execute(text("SELECT actor, purpose, fields FROM access_log")).all()
    assert [(actor, purpose) for actor, purpose, _ in logged] == [("somchai", "applicant called")]
    assert "phone" in logged[0][2] and "national_id" in logged[0][2]


def test_recorded_events_are_for_auditors_whose_reads_are_logged(onestop: OneStop) -> None:
    code = _case_after_intake(onestop)
    with pytest.raises(PermissionDenied, match="read its history instead"):
        onestop.queries.events("somchai", code)
    assert onestop.queries.events("system", code)  # the system reads without a log row
    events = onestop.queries.events("lan", code, T0)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    with onestop.db.engine.connect() as connection:
        logged = connection.execute(text("SELECT actor, purpose FROM access_log")).all()
    assert [tuple(row) for row in logged] == [("lan", "audit: recorded events")]
