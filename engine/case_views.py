"""Views of case and work-item rows, shared by commands and queries."""

from __future__ import annotations

from engine.case_records import CaseRecord, ItemRecord, open_items
from engine.clock import stored_instant
from engine.persistence.models import Case, WorkItem
from engine.persistence.prepared import Tx
from engine.views import CaseView, WorkItemView


def case_view_of(
    tx: Tx, case: Case | CaseRecord, procedure_code: str, version: int, unit_code: str
) -> CaseView:
    """The view of a case row whose procedure and unit are already known."""
    items = open_items(tx, case.id)
    return CaseView(
        dossier_code=case.dossier_code,
        procedure_code=procedure_code,
        procedure_version=version,
        unit_code=unit_code,
        status=case.status,  # type: ignore[arg-type]
        outcome=case.outcome,
        current_step=case.current_step,
        received_at=stored_instant(case.received_at),
        appointment_date=case.appointment_date,
        closed_at=stored_instant(case.closed_at) if case.closed_at else None,
        updated_at=stored_instant(case.updated_at),
        version=case.version,
        open_items=tuple(work_item_view(item, case, procedure_code, unit_code) for item in items),
        due_date=case.due_date,
        due_at=stored_instant(case.due_at) if case.due_at else None,
        paused_since=stored_instant(case.paused_at) if case.paused_at else None,
    )


def work_item_view(
    item: WorkItem | ItemRecord, case: Case | CaseRecord, procedure_code: str, unit_code: str
) -> WorkItemView:
    return WorkItemView(
        id=item.id,
        case_code=case.dossier_code,
        procedure_code=procedure_code,
        ref=item.ref,
        element_id=item.element_id,
        name=item.name,
        role=item.role,
        unit_code=unit_code,
        form=item.form,
        state=item.state,  # type: ignore[arg-type]
        assignee=item.assignee,
        ready_at=stored_instant(item.ready_at),
        due_at=stored_instant(item.due_at) if item.due_at else None,
        closed_at=stored_instant(item.closed_at) if item.closed_at else None,
        closed_by=item.closed_by,
        case_version=case.version,
    )
