"""Worklists: open and claimed items of the roles and units a user holds, a page at a time.

Reads only the ``work_items`` projection (never a workflow). Units are resolved to ids
first, so the query is ``role = ? AND org_unit_id IN (...)`` over the partial index of open
items; items with a due date come first, soonest first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from engine.authorization import Principal, units_within
from engine.case_views import work_item_view
from engine.directory import RESERVED_ROLES
from engine.persistence.models import Case, OrgUnit, Procedure, ProcedureVersion, WorkItem
from engine.views import View, WorkItemView

# Spelled with literals, like the partial index ``ix_work_items_open``, so that it is used.
OPEN_STATES = WorkItem.state.in_([literal_column("'open'"), literal_column("'claimed'")])
MAX_PAGE = 500
# Matches the columns of ``ix_work_items_open`` (the id is the row's key, last in any index).
ORDER = (WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.ready_at, WorkItem.id)


class WorklistPage(View):
    """One page of a worklist and how many items match in all."""

    items: tuple[WorkItemView, ...]
    total: int
    offset: int
    limit: int


def worklist_page(
    session: Session,
    principal: Principal,
    *,
    procedure: str | None = None,
    mine_only: bool = False,
    limit: int | None = 50,
    offset: int = 0,
) -> WorklistPage:
    """Items ``principal`` may work on, soonest due first (``limit=None``: all of them)."""
    conditions = []
    pairs: set[tuple[str, int]] = set()
    for role, path in sorted(principal.grants):
        if role in RESERVED_ROLES:
            continue
        units = session.scalars(select(OrgUnit.id).where(units_within(OrgUnit.path, path))).all()
        if units:
            conditions.append(and_(WorkItem.role == role, WorkItem.org_unit_id.in_(units)))
            pairs.update((role, unit) for unit in units)
    size = MAX_PAGE if limit is None else max(1, min(limit, MAX_PAGE))
    if not conditions:
        return WorklistPage(items=(), total=0, offset=offset, limit=size)
    extra: list[Any] = []
    if mine_only:
        extra.append(or_(WorkItem.assignee.is_(None), WorkItem.assignee == principal.username))
    if procedure:
        versions = select(ProcedureVersion.id).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        in_procedure = select(Case.id).where(
            Case.procedure_version_id.in_(versions.where(Procedure.code == procedure))
        )
        extra.append(WorkItem.case_id.in_(in_procedure))
    where = [OPEN_STATES, or_(*conditions), *extra]
    rows_query = (
        select(WorkItem, Case, Procedure.code, OrgUnit.code)
        .join(Case, Case.id == WorkItem.case_id)
        .join(ProcedureVersion, ProcedureVersion.id == Case.procedure_version_id)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .join(OrgUnit, OrgUnit.id == WorkItem.org_unit_id)
    )
    if limit is None:
        rows = list(session.execute(rows_query.where(*where).order_by(*ORDER)).all())
        total = len(rows)
    else:
        # First the page of ids, from the index alone; then the rows of that page only.
        ids = _page_ids(session, sorted(pairs), extra, size, max(0, offset))
        position = {item_id: index for index, item_id in enumerate(ids)}
        rows = sorted(
            session.execute(rows_query.where(WorkItem.id.in_(ids))).all(), key=lambda row: position[row[0].id]
        )
        total = int(session.scalar(select(func.count()).select_from(WorkItem).where(*where)) or 0)
    return WorklistPage(
        items=tuple(work_item_view(item, c, code, unit) for item, c, code, unit in rows),
        total=total,
        offset=offset,
        limit=size if limit is not None else total,
    )


def _page_ids(
    session: Session, pairs: list[tuple[str, int]], extra: list[Any], size: int, offset: int
) -> list[int]:
    """Ids of one page. Each (role, unit) is a range of the worklist index already in
    worklist order, so each range is read only as far as the page reaches and the ranges
    are merged, instead of sorting every matching item."""
    reach = offset + size
    arms = [
        select(WorkItem.id, WorkItem.due_at.is_(None).label("undated"), WorkItem.due_at, WorkItem.ready_at)
        .where(OPEN_STATES, WorkItem.role == role, WorkItem.org_unit_id == unit, *extra)
        .order_by(*ORDER)
        .limit(reach)
        .subquery()
        for role, unit in pairs
    ]
    merged = union_all(*(select(arm) for arm in arms)).subquery() if len(arms) > 1 else arms[0]
    query = (
        select(merged.c.id)
        .order_by(merged.c.undated, merged.c.due_at, merged.c.ready_at, merged.c.id)
        .limit(size)
        .offset(offset)
    )
    return list(session.scalars(query))
