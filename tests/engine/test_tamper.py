"""Tampering with stored history is found and named by case and seq.

Editing or deleting an event breaks the hash chain. Edits that recompute every hash (a
forged approval, changed data, reordered events) are found by replaying the case; a
truncated tail or an older copy of the whole event table, by the signed checkpoint; a
doctored snapshot, by comparing it with the replayed workflow.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from designer.packages import read_package
from engine import OneStop
from engine.event_chain import GENESIS, canonical_json, event_hash
from engine.views import VerifyReport
from tests.conftest import PROCEDURES, T0, make_onestop
from tests.procedures.driver import CaseDriver
from tests.procedures.permit_paths import drive, issued
from tests.procedures.test_building_permit import APPROVE, COMPLETE, PLAN_OK, SITE

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
    assert [(p.dossier_code, p.seq, p.kind) for p in report.problems] == [(code, 2, "chain")]


# -- tampering that keeps the chain consistent: caught by replay, snapshot or checkpoint --


@pytest.fixture(autouse=True)
def checkpoint_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "checkpoint_key.pem"
    monkeypatch.setenv("ONESTOP_CHECKPOINT_KEY", str(path))
    return path


def _unlock(onestop: OneStop) -> None:
    """Lift the append-only guard, as someone with the database's owner rights could."""
    with onestop.db.engine.begin() as connection:
        if onestop.db.is_sqlite:
            connection.execute(text("DROP TRIGGER case_events_no_update"))
            connection.execute(text("DROP TRIGGER case_events_no_delete"))
        else:
            connection.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))


def _case_id(connection: Connection, code: str) -> int:
    return int(
        connection.execute(text("SELECT id FROM cases WHERE dossier_code = :c"), {"c": code}).scalar_one()
    )


def _rechain(connection: Connection, code: str) -> None:
    """Recompute every hash of a case and its header, hiding the edit from the chain."""
    case_id = _case_id(connection, code)
    uid = connection.execute(text("SELECT uid FROM cases WHERE id = :c"), {"c": case_id}).scalar_one()
    rows = connection.execute(
        text(
            "SELECT seq, at, actor, kind, element_id, payload FROM case_events WHERE case_id = :c ORDER BY seq"
        ),
        {"c": case_id},
    ).all()
    prev = GENESIS
    for seq, at, actor, kind, element_id, payload in rows:
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        digest = event_hash(
            case_uid=uid,
            seq=seq,
            at=at,
            actor=actor,
            kind=kind,
            element_id=element_id,
            payload=payload,
            prev_hash=prev,
        )
        connection.execute(
            text("UPDATE case_events SET prev_hash = :p, hash = :h WHERE case_id = :c AND seq = :s"),
            {"p": prev, "h": digest, "c": case_id, "s": seq},
        )
        prev = digest
    connection.execute(
        text("UPDATE cases SET last_seq = :s, last_hash = :h WHERE id = :c"),
        {"s": rows[-1][0], "h": prev, "c": case_id},
    )


def _intake_done(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)


def _seq(onestop: OneStop, code: str, kind: str, element: str | None = None) -> int:
    """The seq of the first event of ``kind`` (at ``element``) in the case's history."""
    return next(
        e.seq
        for e in onestop.queries.events("system", code)
        if e.kind == kind and (element is None or e.element_id == element)
    )


def _last_seq(onestop: OneStop, code: str) -> int:
    return onestop.queries.events("system", code)[-1].seq


def _named(report: VerifyReport) -> list[tuple[str, int, str]]:
    return [(p.dossier_code, p.seq, p.kind) for p in report.problems]


def test_an_edited_payload_is_named_by_the_chain(onestop: OneStop) -> None:
    code = drive(onestop, issued)
    approved = _seq(onestop, code, "task_completed", "approval")
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s"),
            {
                "p": '{"data":{"decision":"refuse"},"ref":"approval#1"}',
                "c": _case_id(connection, code),
                "s": approved,
            },
        )
    report = onestop.verify()
    assert _named(report) == [(code, approved, "chain")]
    assert report.problems[0].element_id == "approval"


def test_a_forged_approval_with_recomputed_hashes_fails_replay(onestop: OneStop) -> None:
    code = drive(onestop, _intake_done)
    honest = drive(onestop, issued)
    forged = _last_seq(onestop, code) + 1
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO case_events (case_id, seq, at, actor, kind, element_id, payload, prev_hash, hash) "
                "VALUES (:c, :s, :at, 'prasert', 'task_completed', 'approval', :p, '', '')"
            ),
            {
                "c": _case_id(connection, code),
                "s": forged,
                "at": T0 + timedelta(hours=1),
                "p": canonical_json(FORGED),
            },
        )
        _rechain(connection, code)
    assert onestop.verify_chains().ok

    report = onestop.verify()

    assert _named(report) == [(code, forged, "replay")]
    problem = report.problems[0]
    assert problem.element_id == "approval" and "approval#1" in str(problem.found)
    assert honest not in {p.dossier_code for p in report.problems}


def test_changed_decision_data_with_recomputed_hashes_fails_replay_where_the_path_forks(
    onestop: OneStop,
) -> None:
    code = drive(onestop, issued)
    approved = _seq(onestop, code, "task_completed", "approval")
    fork = _seq(onestop, code, "gateway_taken", "gw_decision")
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        refused = {"data": {"decision": "refuse", "reasons": "Green zone."}, "ref": "approval#1"}
        connection.execute(
            text("UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s"),
            {"p": canonical_json(refused), "c": _case_id(connection, code), "s": approved},
        )
        _rechain(connection, code)
    assert onestop.verify_chains().ok

    report = onestop.verify()

    assert _named(report) == [(code, fork, "replay")]
    problem = report.problems[0]
    assert problem.element_id == "gw_decision"
    assert "calculate_fee" in str(problem.expected) and "calculate_fee" not in str(problem.found)


def test_reordered_events_with_recomputed_hashes_fail_replay(onestop: OneStop) -> None:
    code = drive(onestop, issued)
    first = _seq(onestop, code, "task_ready", "plan_review")
    assert _seq(onestop, code, "task_ready", "site_visit") == first + 1
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        case_id = _case_id(connection, code)
        # Swap the two parallel review tasks becoming ready.
        swap = "UPDATE case_events SET seq = :to WHERE case_id = :c AND seq = :s"
        connection.execute(text(swap), {"c": case_id, "s": first, "to": -first})
        connection.execute(text(swap), {"c": case_id, "s": first + 1, "to": first})
        connection.execute(text(swap), {"c": case_id, "s": -first, "to": first + 1})
        _rechain(connection, code)
    assert onestop.verify_chains().ok

    report = onestop.verify()

    assert _named(report) == [(code, first, "replay")]
    problem = report.problems[0]
    assert problem.element_id == "site_visit"  # what the record now says is at that seq
    assert "site_visit" in str(problem.expected) and "plan_review" in str(problem.found)


def test_a_truncated_tail_with_a_fixed_header_is_caught_only_by_the_checkpoint(onestop: OneStop) -> None:
    code = drive(onestop, issued)
    paid, last = _seq(onestop, code, "task_completed", "record_payment"), _last_seq(onestop, code)
    onestop.checkpoint("lan", T0 + timedelta(days=40))
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        case_id = _case_id(connection, code)
        # Back to before payment was recorded: the case looks like it still waits for it.
        connection.execute(
            text("DELETE FROM case_events WHERE case_id = :c AND seq >= :s"), {"c": case_id, "s": paid}
        )
        connection.execute(
            text("UPDATE cases SET status = 'running', outcome = NULL WHERE id = :c"), {"c": case_id}
        )
        _rechain(connection, code)
    assert onestop.verify_chains().ok

    report = onestop.verify()

    assert _named(report) == [(code, paid, "checkpoint")]
    assert report.problems[0].expected is not None and f"seq {last}" in report.problems[0].expected


def test_a_snapshot_that_no_longer_matches_its_events_is_named(database_url: str) -> None:
    onestop = make_onestop(database_url, snapshot_every=1)
    try:
        onestop.procedures.import_package(
            "admin", read_package(PROCEDURES / "building_permit"), T0, publish=True
        )
        code = drive(onestop, _intake_done)
        with onestop.db.engine.begin() as connection:
            case_id = _case_id(connection, code)
            stored, seq = connection.execute(
                text("SELECT snapshot, snapshot_seq FROM cases WHERE id = :c"), {"c": case_id}
            ).one()
            state = json.loads(stored)
            state["workflow"]["data"]["floor_area"] = 18.0  # a smaller house, a smaller fee
            connection.execute(
                text("UPDATE cases SET snapshot = :s WHERE id = :c"), {"s": json.dumps(state), "c": case_id}
            )
        assert onestop.verify_chains().ok

        report = onestop.verify()

        assert _named(report) == [(code, seq, "snapshot")]
        assert "floor_area" in str(report.problems[0].expected)
        assert "18.0" in str(report.problems[0].found)
    finally:
        onestop.close()


def test_an_older_copy_of_the_event_table_is_caught_by_the_checkpoint(onestop: OneStop) -> None:
    codes = [drive(onestop, _intake_done) for _ in range(3)]
    first_missing = _last_seq(onestop, codes[0]) + 1
    with onestop.db.engine.begin() as connection:
        old_events = connection.execute(text(f"SELECT {EVENT_COLUMNS} FROM case_events")).mappings().all()
        old_headers = connection.execute(text(f"SELECT id, {HEADER_COLUMNS} FROM cases")).mappings().all()
    for code in codes[:2]:  # two of the three cases move on
        item = onestop.queries.case("system", code).open_items[0]
        onestop.cases.complete(
            "niran", item.id, T0 + timedelta(hours=2), SITE if item.element_id == "site_visit" else PLAN_OK
        )
    onestop.checkpoint("system", T0 + timedelta(hours=3))
    _unlock(onestop)
    with onestop.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM case_events"))
        connection.execute(
            text(f"INSERT INTO case_events ({EVENT_COLUMNS}) VALUES ({_params(EVENT_COLUMNS)})"),
            [dict(row) for row in old_events],
        )
        for row in old_headers:
            sets = ", ".join(f"{column} = :{column}" for column in HEADER_COLUMNS.split(", "))
            connection.execute(text(f"UPDATE cases SET {sets} WHERE id = :id"), dict(row))
    assert onestop.verify_chains().ok

    report = onestop.verify()

    assert _named(report) == [
        (codes[0], first_missing, "checkpoint"),
        (codes[1], first_missing, "checkpoint"),
    ]


def test_a_checkpoint_with_a_bad_signature_is_a_problem_and_the_one_before_is_used(
    onestop: OneStop,
) -> None:
    code = drive(onestop, _intake_done)
    first = onestop.checkpoint("system", T0)
    second = onestop.checkpoint("system", T0 + timedelta(hours=1))
    with onestop.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE chain_checkpoints SET signature = :s WHERE id = :i"),
            {"s": "00" * 64, "i": second.id},
        )

    report = onestop.verify()

    assert [(p.kind, p.checkpoint_id, p.dossier_code) for p in report.problems] == [
        ("checkpoint", second.id, "")
    ]
    assert report.checkpoint_id == first.id
    assert code not in {p.dossier_code for p in report.problems}


def test_checkpoint_heads_edited_to_match_a_truncation_are_caught(onestop: OneStop) -> None:
    code = drive(onestop, _intake_done)
    taken = onestop.checkpoint("system", T0)
    with onestop.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE chain_checkpoints SET heads = :h WHERE id = :i"),
            {"h": canonical_json({code: [3, "0" * 64]}), "i": taken.id},
        )
    report = onestop.verify()
    assert [(p.kind, p.checkpoint_id) for p in report.problems] == [("checkpoint", taken.id)]
    assert report.checkpoint_id is None


EVENT_COLUMNS = "case_id, seq, at, actor, kind, element_id, payload, prev_hash, hash"
HEADER_COLUMNS = "last_seq, last_hash, status, outcome, version, snapshot, snapshot_seq"
FORGED = {"data": APPROVE, "ref": "approval#1"}


def _params(columns: str) -> str:
    return ", ".join(f":{column}" for column in columns.split(", "))
