"""Changing any stored event field breaks the chain at exactly that case and seq."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine import OneStop
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE

FIELDS = {
    "actor": "mallory",
    "kind": "task_claimed",
    "element_id": "forged",
    "payload": '{"ref":"check_completeness#1","data":{"documents_complete":false}}',
    "prev_hash": "1" * 64,
    "hash": "2" * 64,
    "at": None,
}


def _started_case(onestop: OneStop) -> str:
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
    return case.dossier_code


def _allow_tampering(onestop: OneStop) -> None:
    with onestop.db.engine.begin() as connection:
        if onestop.db.is_sqlite:
            connection.execute(text("DROP TRIGGER case_events_no_update"))
        else:
            connection.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))


def test_event_rows_cannot_be_updated_or_deleted(onestop: OneStop) -> None:
    _started_case(onestop)
    for statement in ("UPDATE case_events SET actor = 'mallory'", "DELETE FROM case_events"):
        with pytest.raises(DBAPIError, match="append-only"), onestop.db.engine.begin() as connection:
            connection.execute(text(statement))
    assert onestop.verify().ok


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_changing_any_event_field_fails_verification_at_that_seq(onestop: OneStop, field: str) -> None:
    code = _started_case(onestop)
    assert onestop.verify().ok
    _allow_tampering(onestop)
    with onestop.db.engine.begin() as connection:
        case_id = connection.execute(
            text("SELECT id FROM cases WHERE dossier_code = :c"), {"c": code}
        ).scalar_one()
        where = "WHERE case_id = :c AND seq = 3"
        if field == "at":
            connection.execute(
                text(f"UPDATE case_events SET at = :v {where}"), {"c": case_id, "v": T0 + timedelta(1)}
            )
        else:
            connection.execute(
                text(f"UPDATE case_events SET {field} = :v {where}"), {"c": case_id, "v": FIELDS[field]}
            )

    report = onestop.verify()

    assert not report.ok
    assert [(p.dossier_code, p.seq) for p in report.problems] == [(code, 3)]


def test_verify_names_a_deleted_event(onestop: OneStop) -> None:
    code = _started_case(onestop)
    with onestop.db.engine.begin() as connection:
        if onestop.db.is_sqlite:
            connection.execute(text("DROP TRIGGER case_events_no_delete"))
        else:
            connection.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        connection.execute(text("DELETE FROM case_events WHERE seq = 2"))
    report = onestop.verify(code)
    assert [(p.dossier_code, p.seq) for p in report.problems] == [(code, 2)]
