"""Finding cases: by dossier code, procedure, status, unit, receipt dates or applicant.

Only cases in the searcher's units are found (auditors and the system see all). Searching
by applicant matches personal data, so it needs a purpose and is written to the access
log, like any other read of personal data; the results themselves carry none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.authorization import Principal, units_within
from engine.case_views import case_view_of
from engine.clock import as_utc
from engine.errors import InputRejected, PermissionDenied
from engine.persistence.models import AccessLogEntry, Case, OrgUnit, Procedure, ProcedureVersion
from engine.persistence.prepared import Tx
from engine.views import CaseView, View

MAX_PAGE = 200


class CaseFilters(View):
    """What to look for; every field is optional and they combine with AND."""

    code: str | None = None  # a dossier code or its beginning
    procedure: str | None = None
    status: Literal["running", "completed", "cancelled"] | None = None
    unit: str | None = None  # this unit and the units below it
    received_from: date | None = None
    received_to: date | None = None  # inclusive
    applicant: str | None = None  # part of the applicant's name; needs a purpose


class CasePage(View):
    items: tuple[CaseView, ...]
    total: int
    offset: int
    limit: int


def search_cases(
    session: Session,
    principal: Principal,
    filters: CaseFilters,
    *,
    now: datetime,
    purpose: str = "",
    zone: str = "Asia/Bangkok",
    limit: int = 50,
    offset: int = 0,
) -> CasePage:
    """One page of matching cases, most recently received first, and the number of matches.

    Receipt dates are days in the time zone ``zone`` (the searcher's).

    Raises:
        PermissionDenied: an applicant search without a purpose.
        InputRejected: a date range that ends before it starts.
    """
    size = max(1, min(limit, MAX_PAGE))
    where: list[Any] = []
    if not principal.sees_every_case:
        paths = {path for _, path in principal.grants}
        if not paths:
            return CasePage(items=(), total=0, offset=offset, limit=size)
        where.append(or_(*(units_within(OrgUnit.path, p) for p in sorted(paths))))
    if filters.code and filters.code.strip():
        where.append(Case.dossier_code.startswith(filters.code.strip(), autoescape=True))
    if filters.procedure:
        where.append(Procedure.code == filters.procedure)
    if filters.status:
        where.append(Case.status == filters.status)
    if filters.unit:
        unit = filters.unit.strip()
        under = select(OrgUnit.path).where(OrgUnit.code == unit).scalar_subquery()
        where.append(
            or_(OrgUnit.path == under, OrgUnit.path.like(under + "/%"))
        )  # a stored path: no wildcards
    if filters.received_from and filters.received_to and filters.received_to < filters.received_from:
        raise InputRejected("the date range ends before it starts", field="received_to")
    if filters.received_from:
        where.append(Case.received_at >= _start_of(filters.received_from, zone))
    if filters.received_to:
        where.append(Case.received_at < _start_of(filters.received_to + timedelta(days=1), zone))
    if filters.applicant and filters.applicant.strip():
        if not purpose.strip():
            raise PermissionDenied("say why you search by applicant (purpose): it reads personal data")
        name = func.lower(Case.applicant["applicant_name"].as_string())
        where.append(name.contains(filters.applicant.strip().lower(), autoescape=True))
        session.add(
            AccessLogEntry(
                at=as_utc(now),
                actor=principal.username,
                case_id=None,
                fields=["applicant_name"],
                purpose=f"search by applicant: {purpose.strip()}",
            )
        )
    base = (
        select(Case, Procedure.code, ProcedureVersion.version, OrgUnit.code)
        .join(ProcedureVersion, ProcedureVersion.id == Case.procedure_version_id)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(*where)
    )
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = session.execute(
        base.order_by(Case.received_at.desc(), Case.id.desc()).limit(size).offset(max(0, offset))
    ).all()
    tx = Tx.of(session.connection())
    items = tuple(case_view_of(tx, case, code, version, unit) for case, code, version, unit in rows)
    return CasePage(items=items, total=total, offset=offset, limit=size)


def _start_of(day: date, zone: str) -> datetime:
    return as_utc(datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)))
