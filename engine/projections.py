"""Read projections of a case, updated in the command's transaction.

Worklists, timers and the case header are read from here; nothing on a read path ever
deserializes a workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, update

from engine.case_records import CaseRecord
from engine.case_workflow import CaseWorkflow, EventDraft, OpenTask
from engine.persistence.models import Timer, WorkItem, table_of
from engine.persistence.prepared import Prepared, Tx, insert_values
from engine.specs import DEFAULT_STARTER_ROLE
from engine.spiff_time import parse_due

_ITEMS = table_of(WorkItem)
_TIMERS = table_of(Timer)
_CLOSE_ITEM = Prepared(
    update(_ITEMS)
    .where(
        _ITEMS.c.case_id == bindparam("b_case"),
        _ITEMS.c.ref == bindparam("b_ref"),
        or_(_ITEMS.c.state == "open", _ITEMS.c.state == "claimed"),
    )
    .values(
        state=bindparam("v_state"), closed_at=bindparam("v_closed_at"), closed_by=bindparam("v_closed_by")
    )
)
_INSERT_ITEM = Prepared(
    insert_values(
        _ITEMS,
        "case_id ref element_id name role org_unit_id form state assignee ready_at due_at",
    )
)
_DELETE_TIMERS = Prepared(delete(_TIMERS).where(_TIMERS.c.case_id == bindparam("case_id")))
_INSERT_TIMER = Prepared(insert_values(_TIMERS, "case_id ref element_id due_at"))


def sync_work_items(
    tx: Tx,
    case: CaseRecord,
    drafts: Sequence[EventDraft],
    now: datetime,
    actor: str,
    due_of: Callable[[str, datetime], datetime | None],
) -> None:
    """Apply the command's events to the work-item rows: close, cancel, open."""
    completed = [d.payload["ref"] for d in drafts if d.kind == "task_completed"]
    cancelled = [d.payload["ref"] for d in drafts if d.kind == "task_cancelled"]
    for state, refs in (("completed", completed), ("cancelled", cancelled)):
        if refs:
            _CLOSE_ITEM.run_many(
                tx,
                [
                    {
                        "b_case": case.id,
                        "b_ref": ref,
                        "v_state": state,
                        "v_closed_at": now,
                        "v_closed_by": actor,
                    }
                    for ref in refs
                ],
            )
    new_rows = [
        {
            "case_id": case.id,
            "ref": d.payload["ref"],
            "element_id": d.element_id,
            "name": d.payload.get("name") or d.element_id,
            "role": d.payload.get("lane") or DEFAULT_STARTER_ROLE,
            "org_unit_id": case.org_unit_id,
            "form": d.payload.get("form"),
            "state": "open",
            "assignee": None,
            "ready_at": now,
            "due_at": due_of(str(d.element_id), now),
        }
        for d in drafts
        if d.kind == "task_ready"
    ]
    if new_rows:
        _INSERT_ITEM.run_many(tx, new_rows)


def sync_timers(tx: Tx, case: CaseRecord, workflow: CaseWorkflow) -> None:
    """Make the case's timer rows equal the timers its workflow waits on (only on change)."""
    pending = {t.ref: t for t in workflow.pending_timers()}
    # A cycle timer keeps its ref and moves its due instant: compare both.
    current = frozenset((ref, t.due_at) for ref, t in pending.items())
    if workflow.synced_timers is not None and workflow.synced_timers == current:
        return
    _DELETE_TIMERS.run(tx, {"case_id": case.id})
    rows = [
        {"case_id": case.id, "ref": ref, "element_id": t.element_id, "due_at": parse_due(t.due_at)}
        for ref, t in pending.items()
    ]
    if rows:
        _INSERT_TIMER.run_many(tx, rows)
    workflow.synced_timers = current


def update_header(
    case: CaseRecord,
    workflow: CaseWorkflow,
    open_tasks: Sequence[OpenTask],
    drafts: Sequence[EventDraft],
    now: datetime,
) -> None:
    """Status, outcome and current step."""
    for draft in drafts:
        if draft.kind == "case_completed":
            case.status, case.outcome, case.closed_at = "completed", draft.payload.get("outcome"), now
        elif draft.kind == "case_cancelled":
            case.status, case.outcome, case.closed_at = "cancelled", "Cancelled", now
    steps = sorted({task.name for task in open_tasks})
    if case.status == "running":
        waiting = sorted(workflow.waiting_messages())
        case.current_step = ", ".join(steps) or (f"waiting for {', '.join(waiting)}" if waiting else "")
    else:
        case.current_step = case.outcome or case.status
    case.updated_at = now
