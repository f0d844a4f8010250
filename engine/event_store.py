"""Append events to a case's hash chain, and read them back.

Rows are only ever inserted (the database refuses UPDATE and DELETE on ``case_events``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.case_records import CaseRecord
from engine.case_workflow import EventDraft
from engine.event_chain import canonical_json, event_hash
from engine.persistence.models import CaseEvent, table_of
from engine.persistence.prepared import Prepared, insert_values

_INSERT_EVENT = Prepared(
    insert_values(table_of(CaseEvent), "case_id seq at actor kind element_id payload prev_hash hash")
)

# The kinds whose event *is* the command; everything else is a consequence of one.
COMMAND_KINDS = frozenset(
    {
        "case_started",
        "task_claimed",
        "task_released",
        "task_assigned",
        "task_completed",
        "message_received",
        "timers_due",
        "case_cancelled",
    }
)
# Commands that change the workflow (the others only change who holds a work item).
WORKFLOW_COMMANDS = frozenset(
    {"case_started", "task_completed", "message_received", "timers_due", "case_cancelled"}
)


def append_events(
    connection: Connection, case: CaseRecord, at: datetime, actor: str, drafts: Sequence[EventDraft]
) -> None:
    """Number, chain and insert ``drafts``; advance the case's ``last_seq``/``last_hash``."""
    rows: list[dict[str, Any]] = []
    seq, prev = case.last_seq, case.last_hash
    for draft in drafts:
        seq += 1
        payload = canonical_json(draft.payload)
        digest = event_hash(
            case_uid=case.uid,
            seq=seq,
            at=at,
            actor=actor,
            kind=draft.kind,
            element_id=draft.element_id,
            payload=payload,
            prev_hash=prev,
        )
        rows.append(
            {
                "case_id": case.id,
                "seq": seq,
                "at": at,
                "actor": actor,
                "kind": draft.kind,
                "element_id": draft.element_id,
                "payload": payload,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        _INSERT_EVENT.run_many(connection, rows)
    case.last_seq, case.last_hash = seq, prev


def events_after(session: Session, case_id: int, seq: int) -> list[CaseEvent]:
    """The case's events with ``seq`` greater than ``seq``, in order."""
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq > seq).order_by(CaseEvent.seq)
        ).all()
    )


def payload_of(event: CaseEvent) -> dict[str, Any]:
    data = json.loads(event.payload)
    return data if isinstance(data, dict) else {"value": data}
