"""SLA reports: on-time figures per unit and month, nearly-late cases, step durations and
monthly open data.

Definitions, for a period ``[start, end)`` of local days (DOMAIN.md, "Deadlines and
on-time classification"):

- *received*: cases received in the period; *carried over*: received before it and not
  closed before it; *to process* = carried over + received.
- *processed*: completed cases closed in the period, split into *early*, *on time* and
  *late* by :func:`engine.deadlines.closed_timeliness` (cases without a deadline are
  processed but in none of the three: *no deadline*). Cancelled or withdrawn cases closed
  in the period are counted apart as *withdrawn*.
- *late open*: open at the period's end (or now, if the period has not ended) and late
  then: due at or before that instant, clock not stopped.
- on-time rate = (early + on time) / processed; late rate = (late open + late) / to
  process; None when the denominator is zero.

Who sees what: auditors, admins and the system see every unit; other staff the units
under their grants; a user without any grant is refused.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from engine.authorization import Principal, covers, load_principal, units_within
from engine.case_diagram import procedure_bpmn
from engine.clock import as_utc, stored_instant
from engine.errors import InputRejected, OrgUnitNotFound, PermissionDenied, ProcedureNotFound, UserNotFound
from engine.persistence.database import Database
from engine.persistence.models import Case, OrgUnit, Procedure, ProcedureVersion, WorkItem
from engine.persistence.prepared import Tx
from engine.procedures import ProcedureCatalog
from engine.sla_counts import COUNTS, added, cases_joined, count_rows, sla_row
from engine.views import (
    MonthlyAggregate,
    NearlyLateCase,
    ProcessDiagramView,
    SlaRow,
    SlaSummary,
    StepDuration,
)

MAX_DAYS = 5 * 366  # five years, leap days included
MAX_MONTHS = 60
MAX_NEARLY_LATE = 1000
SEE_EVERY_UNIT = frozenset({"auditor", "admin"})


class SlaReports:
    """SLA dashboards and open data, read from the case and work-item projections.

    Args:
        db: the database.
        procedures: the catalogue (for the BPMN drawn under step durations).
    """

    def __init__(self, db: Database, procedures: ProcedureCatalog) -> None:
        self.db = db
        self.procedures = procedures

    def summary(
        self,
        actor: str,
        *,
        start: date,
        end: date,
        zone: str,
        now: datetime,
        procedure: str | None = None,
        unit: str | None = None,
    ) -> SlaSummary:
        """Totals, one row per unit and one per calendar month of the local days
        ``[start, end)`` in ``zone``; ``unit`` includes the units below it.

        Raises:
            PermissionDenied: unknown actor, no grant at all, or a unit outside the actor's.
            InputRejected: ``end <= start``, a period over five years, an unknown zone.
            ProcedureNotFound / OrgUnitNotFound: unknown procedure or unit code.
        """
        since, until = _period(start, end, zone)
        as_of = min(until, as_utc(now))
        with self.db.read() as session:
            where = _scope(session, _principal(session, actor), procedure, unit)
            per_unit = count_rows(
                session,
                start=since,
                end=until,
                as_of=as_of,
                is_sqlite=self.db.is_sqlite,
                where=where,
                group_by=[OrgUnit.code],
            )
            months = []
            for first, low, high in _months(start, end):
                m_since, m_until = _period(low, high, zone)
                rows = count_rows(
                    session,
                    start=m_since,
                    end=m_until,
                    as_of=min(m_until, as_of),
                    is_sqlite=self.db.is_sqlite,
                    where=where,
                )
                months.append(sla_row(first.strftime("%Y-%m"), added([c for _, c in rows]), month=first))
        by_unit = sorted((sla_row(str(k[0]), c, unit=str(k[0])) for k, c in per_unit), key=lambda r: r.label)
        return SlaSummary(
            start=start,
            end=end,
            zone=zone,
            as_of=as_of,
            procedure=procedure,
            unit=unit,
            total=sla_row("total", added([c for _, c in per_unit]), unit=unit),
            by_unit=tuple(by_unit),
            by_month=tuple(months),
        )

    def nearly_late(
        self,
        actor: str,
        *,
        now: datetime,
        threshold: timedelta,
        procedure: str | None = None,
        unit: str | None = None,
        limit: int = 200,
    ) -> list[NearlyLateCase]:
        """Open cases with a running clock, not late, due within ``threshold`` of ``now``;
        soonest due first. Carries no applicant data.

        Raises:
            PermissionDenied: unknown actor, no grant at all, or a unit outside the actor's.
            InputRejected: a threshold that is not positive.
            ProcedureNotFound / OrgUnitNotFound: unknown procedure or unit code.
        """
        if threshold <= timedelta(0):
            raise InputRejected("the nearly-late threshold must be positive", field="threshold")
        moment = as_utc(now)
        with self.db.read() as session:
            where = _scope(session, _principal(session, actor), procedure, unit)
            rows = session.execute(
                cases_joined(
                    Case.dossier_code,
                    Procedure.code,
                    OrgUnit.code,
                    Case.current_step,
                    Case.due_date,
                    Case.due_at,
                )
                .where(
                    Case.status == "running",
                    Case.paused_at.is_(None),
                    Case.due_at > moment,
                    Case.due_at <= moment + threshold,
                    *where,
                )
                .order_by(Case.due_at, Case.dossier_code)
                .limit(max(1, min(limit, MAX_NEARLY_LATE)))
            ).all()
        return [
            NearlyLateCase(
                dossier_code=code,
                procedure=proc,
                unit=unit_code,
                current_step=step,
                due_date=due_date,
                due_at=stored_instant(due_at),
                hours_left=round((stored_instant(due_at) - moment).total_seconds() / 3600, 1),
            )
            for code, proc, unit_code, step, due_date, due_at in rows
        ]

    def step_durations(
        self,
        actor: str,
        *,
        start: date,
        end: date,
        zone: str,
        now: datetime,
        procedure: str,
        unit: str | None = None,
    ) -> list[StepDuration]:
        """Per user-task element of ``procedure``: items completed in the period with the
        median and 90th percentile (nearest rank) of ready → completed in hours, and items
        open now and late now (due at or before ``now``); slowest median first.

        Raises:
            PermissionDenied: unknown actor, no grant at all, or a unit outside the actor's.
            InputRejected: ``end <= start``, a period over five years, an unknown zone.
            ProcedureNotFound / OrgUnitNotFound: unknown procedure or unit code.
        """
        since, until = _period(start, end, zone)
        moment = as_utc(now)
        hours: dict[str, list[float]] = defaultdict(list)
        names: dict[str, str] = {}
        open_counts: dict[str, tuple[int, int]] = {}
        with self.db.read() as session:
            where = _scope(session, _principal(session, actor), procedure, unit)
            done = session.execute(
                cases_joined(WorkItem.element_id, WorkItem.name, WorkItem.ready_at, WorkItem.closed_at)
                .join(WorkItem, WorkItem.case_id == Case.id)
                .where(
                    WorkItem.state == "completed",
                    WorkItem.closed_at >= since,
                    WorkItem.closed_at < until,
                    *where,
                )
                .execution_options(yield_per=5000)
            )
            for element_id, name, ready_at, closed_at in done:
                names.setdefault(element_id, name)
                span = stored_instant(closed_at) - stored_instant(ready_at)
                hours[element_id].append(span.total_seconds() / 3600)
            late = func.coalesce(func.sum(_flag(WorkItem.due_at <= moment)), 0)
            still_open = session.execute(
                cases_joined(WorkItem.element_id, func.max(WorkItem.name), func.count(), late)
                .join(WorkItem, WorkItem.case_id == Case.id)
                .where(WorkItem.state.in_(("open", "claimed")), *where)
                .group_by(WorkItem.element_id)
            ).all()
            for element_id, name, count, late_count in still_open:
                names.setdefault(element_id, name)
                open_counts[element_id] = (int(count), int(late_count or 0))
        steps = [
            StepDuration(
                element_id=element_id,
                name=names[element_id],
                completed=len(hours.get(element_id, [])),
                median_hours=_rounded(statistics.median(hours[element_id]))
                if hours.get(element_id)
                else None,
                p90_hours=_rounded(_nearest_rank(hours[element_id], 0.9)) if hours.get(element_id) else None,
                open_now=open_counts.get(element_id, (0, 0))[0],
                late_open_now=open_counts.get(element_id, (0, 0))[1],
            )
            for element_id in names
        ]
        return sorted(steps, key=lambda s: (-(s.median_hours or -1.0), s.name, s.element_id))

    def process_diagram(self, actor: str, procedure: str) -> ProcessDiagramView:
        """The BPMN of ``procedure``'s published version (else its newest), to draw on.

        Raises:
            PermissionDenied: unknown actor or no grant at all.
            ProcedureNotFound: unknown procedure code.
        """
        with self.db.read() as session:
            _principal(session, actor)
            row = session.execute(
                select(ProcedureVersion.id, ProcedureVersion.version)
                .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                .where(Procedure.code == procedure)
                .order_by((ProcedureVersion.status == "published").desc(), ProcedureVersion.version.desc())
                .limit(1)
            ).first()
            if row is None:
                raise _unknown_procedure(procedure)
            file, text = procedure_bpmn(session, row.id)
            return ProcessDiagramView(procedure=procedure, version=row.version, file=file, bpmn=text)

    def monthly_open_data(
        self,
        actor: str,
        *,
        first_month: date,
        last_month: date,
        procedure: str | None = None,
        min_cell: int = 5,
    ) -> list[MonthlyAggregate]:
        """One row per month × procedure × unit with any case to process, months read in
        each unit's own time zone. Every count below ``min_cell`` and every rate whose
        denominator is below it is None (suppressed). No dossier codes.

        Raises:
            PermissionDenied: unknown actor or no grant at all.
            InputRejected: months out of order, more than 60 months, ``min_cell`` below 1.
            ProcedureNotFound: unknown procedure code.
        """
        first, last = first_month.replace(day=1), last_month.replace(day=1)
        if last < first:
            raise InputRejected("the last month comes before the first", field="last_month")
        if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
            raise InputRejected(f"export at most {MAX_MONTHS} months at a time", field="last_month")
        if min_cell < 1:
            raise InputRejected("the smallest published count must be at least 1", field="min_cell")
        rows: list[MonthlyAggregate] = []
        with self.db.read() as session:
            where = _scope(session, _principal(session, actor), procedure, None)
            zones = session.execute(select(OrgUnit.timezone).distinct()).scalars().all()
            for month, _low, high in _months(first, _next_month(last)):
                for zone in sorted(zones):
                    since, until = _period(month, high, zone)
                    for (proc, unit_code), counts in count_rows(
                        session,
                        start=since,
                        end=until,
                        as_of=until,
                        is_sqlite=self.db.is_sqlite,
                        where=[*where, OrgUnit.timezone == zone],
                        group_by=[Procedure.code, OrgUnit.code],
                    ):
                        rows.append(_published(sla_row("", counts), month, proc, unit_code, min_cell))
        return sorted(rows, key=lambda r: (r.month, r.procedure, r.unit))


def _published(row: SlaRow, month: date, procedure: str, unit: str, min_cell: int) -> MonthlyAggregate:
    def shown(value: int) -> int | None:
        return value if value >= min_cell else None

    counts: dict[str, Any] = {name: shown(getattr(row, name)) for name in (*COUNTS, "to_process")}
    return MonthlyAggregate(
        month=month,
        procedure=procedure,
        unit=unit,
        on_time_rate=row.on_time_rate if row.processed >= min_cell else None,
        late_rate=row.late_rate if row.to_process >= min_cell else None,
        **counts,
    )


def _principal(session: Session, actor: str) -> Principal:
    try:
        principal = load_principal(Tx.of(session.connection()), actor)
    except UserNotFound as exc:
        raise PermissionDenied(
            f"{actor} may not read SLA reports: no active user has that name", actor=actor
        ) from exc
    if not principal.is_system and not principal.grants:
        raise PermissionDenied(
            f"{actor} may not read SLA reports: it needs a role in some unit; ask an administrator",
            actor=actor,
        )
    return principal


def _scope(
    session: Session, principal: Principal, procedure: str | None, unit: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on cases joined to procedure and unit: the filters and what the actor sees."""
    where: list[ColumnElement[bool]] = []
    if procedure:
        if session.scalar(select(Procedure.id).where(Procedure.code == procedure)) is None:
            raise _unknown_procedure(procedure)
        where.append(Procedure.code == procedure)
    sees_all = principal.sees_every_case or bool(principal.roles & SEE_EVERY_UNIT)
    granted = sorted({path for _, path in principal.grants})
    if unit:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == unit))
        if path is None:
            raise OrgUnitNotFound(f"no org unit has the code '{unit}'", unit=unit)
        if not (sees_all or principal.sees_unit(path) or any(covers(path, g) for g in granted)):
            raise PermissionDenied(
                f"{principal.username} may not read SLA reports of unit {unit}: no grant covers it",
                actor=principal.username,
                unit=unit,
            )
        where.append(units_within(OrgUnit.path, path))
    if not sees_all:
        where.append(or_(*(units_within(OrgUnit.path, g) for g in granted)))
    return where


def _unknown_procedure(code: str) -> ProcedureNotFound:
    return ProcedureNotFound(f"no procedure has the code '{code}'", procedure=code)


def _period(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` local days as UTC instants.

    Raises:
        InputRejected: an empty or reversed period, one over five years, an unknown zone.
    """
    if end <= start:
        raise InputRejected("the period must end after it starts", field="end")
    if (end - start).days > MAX_DAYS:
        raise InputRejected("the period may cover at most five years", field="end")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputRejected(f"unknown time zone {zone!r}", field="zone") from exc
    return as_utc(datetime.combine(start, time.min, tz)), as_utc(datetime.combine(end, time.min, tz))


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _months(start: date, end: date) -> list[tuple[date, date, date]]:
    """(first day of the month, first day in the period, first day after it) per month
    overlapping ``[start, end)``."""
    months = []
    month = start.replace(day=1)
    while month < end:
        following = _next_month(month)
        months.append((month, max(month, start), min(following, end)))
        month = following
    return months


def _flag(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _rounded(value: float) -> float:
    return round(value, 1)
