"""SLA counts aggregated in SQL: one pass over the cases alive in a period.

A case is *alive* in ``[start, end)`` when it was received before ``end`` and not closed
before ``start``; every count of :class:`engine.views.SlaRow` is a conditional sum over
those cases, so a report reads one aggregate row per group, never the cases themselves.

The on-time rules are those of :mod:`engine.deadlines`, spelled in SQL: a closed case is
late when ``closed_at >= due_at``, early when ``closed_at < due_at - 1 day`` (before its
deadline day began), else on time; an open case is late at ``t`` when ``due_at <= t`` and
its clock was not stopped at ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from engine.persistence.models import Case, OrgUnit, Procedure, ProcedureVersion
from engine.views import SlaRow

COUNTS = (
    "received",
    "carried_over",
    "processed",
    "early",
    "on_time",
    "late",
    "no_deadline",
    "withdrawn",
    "late_open",
)


def deadline_day_start(is_sqlite: bool) -> ColumnElement[Any]:
    """``cases.due_at`` minus one day: the instant the deadline day began.

    SQLite keeps instants as ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC, which compares
    correctly with the text ``strftime`` returns; PostgreSQL subtracts an interval.
    """
    if is_sqlite:
        return func.strftime("%Y-%m-%d %H:%M:%f", Case.due_at, "-1 day")
    return Case.due_at - literal(timedelta(days=1), Interval())


def cases_joined(*columns: Any) -> Select[Any]:
    """``columns`` selected from cases joined to their procedure and unit."""
    return (
        select(*columns)
        .select_from(Case)
        .join(ProcedureVersion, ProcedureVersion.id == Case.procedure_version_id)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
    )


def count_rows(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    is_sqlite: bool,
    where: Sequence[ColumnElement[bool]],
    group_by: Sequence[Any] = (),
) -> list[tuple[tuple[Any, ...], dict[str, int]]]:
    """The counts of the cases alive in ``[start, end)``, per value of ``group_by``.

    Open cases are judged at ``as_of`` (the end, or now if earlier). All instants UTC.
    """
    day_start = deadline_day_start(is_sqlite)
    processed = and_(Case.status == "completed", Case.closed_at < end)
    open_at = or_(Case.closed_at.is_(None), Case.closed_at >= as_of)
    running_clock = or_(Case.paused_at.is_(None), Case.paused_at > as_of)
    conditions: dict[str, ColumnElement[bool]] = {
        "received": Case.received_at >= start,
        "carried_over": Case.received_at < start,
        "processed": processed,
        "early": and_(processed, Case.closed_at < day_start),
        "on_time": and_(processed, Case.closed_at >= day_start, Case.closed_at < Case.due_at),
        "late": and_(processed, Case.closed_at >= Case.due_at),
        "no_deadline": and_(processed, Case.due_at.is_(None)),
        "withdrawn": and_(Case.status == "cancelled", Case.closed_at < end),
        "late_open": and_(open_at, Case.received_at < as_of, Case.due_at <= as_of, running_clock),
    }
    sums = [
        func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(name) for name, cond in conditions.items()
    ]
    query = cases_joined(*group_by, *sums).where(
        Case.received_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= start), *where
    )
    if group_by:
        query = query.group_by(*group_by)
    width = len(group_by)
    return [
        (tuple(row[:width]), {name: int(row[width + i] or 0) for i, name in enumerate(COUNTS)})
        for row in session.execute(query).all()
    ]


def sla_row(
    label: str, counts: Mapping[str, int], *, unit: str | None = None, month: date | None = None
) -> SlaRow:
    """A row with its derived figures: to process, on-time rate and late rate."""
    values = {name: int(counts.get(name, 0)) for name in COUNTS}
    to_process = values["carried_over"] + values["received"]
    processed = values["processed"]
    return SlaRow(
        label=label,
        unit=unit,
        month=month,
        to_process=to_process,
        on_time_rate=(values["early"] + values["on_time"]) / processed if processed else None,
        late_rate=(values["late_open"] + values["late"]) / to_process if to_process else None,
        **values,
    )


def added(rows: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """Counts of several disjoint slices added up."""
    return {name: sum(int(row.get(name, 0)) for row in rows) for name in COUNTS}
