"""Append events to a case's hash chain, and read them back.

Rows are only ever inserted (the database refuses UPDATE and DELETE on ``case_events``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select

from engine.case_records import CaseRecord
from engine.case_workflow import EventDraft
from engine.event_chain import canonical_json, event_hash
from engine.persistence.models import CaseEvent, table_of
from engine.persistence.prepared import Prepared, Tx, insert_values

_EVENTS = table_of(CaseEvent)
_INSERT_EVENT = Prepared(
    insert_values(_EVENTS, "case_id seq at actor kind element_id payload prev_hash hash")
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
        # The legal clock (engine.case_deadlines): set at receipt, extended, paused, resumed.
        "deadline_set",
        "deadline_extended",
        "clock_paused",
        "clock_resumed",
    }
)
# Commands that change the workflow (the others only change who holds a work item).
WORKFLOW_COMMANDS = frozenset(
    {"case_started", "task_completed", "message_received", "timers_due", "case_cancelled"}
)


def append_events(tx: Tx, case: CaseRecord, at: datetime, actor: str, drafts: Sequence[EventDraft]) -> None:
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
        _INSERT_EVENT.run_many(tx, rows)
    case.last_seq, case.last_hash = seq, prev


class StoredEvent(Protocol):
    """What replay and projections read of an event (an ORM row or an :class:`EventRecord`)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def element_id(self) -> str | None: ...
    @property
    def payload(self) -> str: ...


@dataclass(frozen=True)
class EventRecord:
    seq: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    payload: str


_EVENTS_AFTER = Prepared(
    select(
        _EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.kind, _EVENTS.c.element_id, _EVENTS.c.payload
    )
    .where(_EVENTS.c.case_id == bindparam("case_id"), _EVENTS.c.seq > bindparam("seq"))
    .order_by(_EVENTS.c.seq)
)


def events_after(tx: Tx, case_id: int, seq: int) -> list[EventRecord]:
    """The case's events with ``seq`` greater than ``seq``, in order."""
    return [EventRecord(**row) for row in _EVENTS_AFTER.rows(tx, {"case_id": case_id, "seq": seq})]


def payload_of(event: StoredEvent) -> dict[str, Any]:
    data = json.loads(event.payload)
    return data if isinstance(data, dict) else {"value": data}
