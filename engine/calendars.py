"""Jurisdiction calendars in the database: every edit is a new, immutable revision.

A case's deadline is computed on the revision in force when it was received, and every
command of a model that calls the deadline helpers records the revision it ran under, so
history replays the same way after holidays are edited. Revisions name who made them, when
and why: the calendar is part of the audit trail. The bundled files under ``calendars/``
seed a country that has no revision yet.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.authorization import Principal, load_principal
from engine.calendar_files import CalendarData, bundled_calendars
from engine.clock import as_utc, stored_instant
from engine.directory_rules import SYSTEM_ACTOR
from engine.errors import InputRejected, IntegrityError, PermissionDenied
from engine.event_chain import canonical_json
from engine.persistence.database import Database
from engine.persistence.models import CalendarRevision, OrgUnit, table_of
from engine.persistence.prepared import Prepared, Tx
from engine.views import CalendarRevisionView
from engine.work_calendar import WorkCalendar, weekdays_only

#: The revision number of the built-in Monday–Friday calendar used when none is stored.
WEEKDAYS_ONLY = 0
EDIT_ROLE = "admin"

_REVISIONS = table_of(CalendarRevision)
_CURRENT = Prepared(
    select(func.max(_REVISIONS.c.id).label("id")).where(_REVISIONS.c.country == bindparam("country"))
)
_CONTENT = Prepared(
    select(_REVISIONS.c.country, _REVISIONS.c.content).where(_REVISIONS.c.id == bindparam("id"))
)


class CalendarBook:
    """Calendar revisions: read on the command path (cached: revisions never change),
    listed and edited by administrators.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[int, str], WorkCalendar] = {}
        self._lock = threading.Lock()

    # -- the command path -------------------------------------------------------------------

    def current(self, tx: Tx, country: str, zone: str) -> tuple[int, WorkCalendar]:
        """The newest revision of ``country``'s calendar, or the built-in weekdays-only
        calendar in ``zone`` (revision :data:`WEEKDAYS_ONLY`) when none is stored."""
        row = _CURRENT.first(tx, {"country": country})
        revision = int(row["id"]) if row and row["id"] is not None else WEEKDAYS_ONLY
        return revision, self.revision(revision, zone, tx)

    def revision(self, revision: int, zone: str, tx: Tx | None = None) -> WorkCalendar:
        """The calendar of one revision (``zone`` only matters for :data:`WEEKDAYS_ONLY`).

        Raises:
            IntegrityError: no stored revision has that number, or it cannot be read.
        """
        key = (revision, zone if revision == WEEKDAYS_ONLY else "")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if revision == WEEKDAYS_ONLY:
            calendar = weekdays_only(timezone=zone)
        elif tx is not None:
            calendar = _calendar_of(_CONTENT.first(tx, {"id": revision}), revision)
        else:
            with self.db.read() as session:
                calendar = _calendar_of(
                    _CONTENT.first(Tx.of(session.connection()), {"id": revision}), revision
                )
        with self._lock:
            self._cache[key] = calendar
        return calendar

    # -- administration ---------------------------------------------------------------------

    def countries(self) -> list[CalendarRevisionView]:
        """The newest revision of every country that has one."""
        with self.db.read() as session:
            newest = select(func.max(CalendarRevision.id)).group_by(CalendarRevision.country)
            rows = session.scalars(
                select(CalendarRevision)
                .where(CalendarRevision.id.in_(newest))
                .order_by(CalendarRevision.country)
            ).all()
            return [_view(row) for row in rows]

    def history(self, country: str) -> list[CalendarRevisionView]:
        """Every revision of ``country``'s calendar, newest first."""
        with self.db.read() as session:
            rows = session.scalars(
                select(CalendarRevision)
                .where(CalendarRevision.country == country)
                .order_by(CalendarRevision.id.desc())
            ).all()
            return [_view(row) for row in rows]

    def content(self, country: str) -> CalendarData | None:
        """The newest stored calendar of ``country``, or None."""
        with self.db.read() as session:
            newest = _newest(session, country)
            return CalendarData.model_validate(newest.content) if newest is not None else None

    def save(
        self, actor: str, data: CalendarData | dict[str, Any], reason: str, now: datetime
    ) -> CalendarRevisionView:
        """Store a new revision of a country's calendar.

        Raises:
            PermissionDenied: the actor is not an administrator of a unit in that country
                (nor the system).
            InputRejected: no reason, the data breaks a calendar rule (naming the field),
                or nothing changed since the newest revision.
        """
        if not reason.strip():
            raise InputRejected("say why the calendar changes (e.g. the decision that declared a holiday)")
        calendar = _validated(data)
        content = calendar.model_dump(mode="json")
        digest = hashlib.sha256(canonical_json(content).encode()).hexdigest()
        with self.db.write() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            _require_editor(
                session.execute(select(OrgUnit.path).where(OrgUnit.country == calendar.country)).scalars(),
                principal,
                calendar.country,
            )
            newest = _newest(session, calendar.country)
            if newest is not None and newest.sha256 == digest:
                raise InputRejected(f"the {calendar.country} calendar is unchanged; nothing was saved")
            row = CalendarRevision(
                country=calendar.country,
                content=content,
                sha256=digest,
                created_at=as_utc(now),
                created_by=principal.username,
                reason=reason.strip()[:500],
            )
            session.add(row)
            session.flush()
            return _view(row)

    def seed(self, folder: Path, now: datetime) -> list[str]:
        """Store the bundled calendar of every country that has none yet; the countries seeded.

        Raises:
            InputRejected: a bundled file is invalid.
        """
        seeded = []
        stored = {view.country for view in self.countries()}
        for country, calendar in sorted(bundled_calendars(folder).items()):
            if country not in stored:
                self.save(SYSTEM_ACTOR, calendar, f"bundled calendar file calendars/{country}.yaml", now)
                seeded.append(country)
        return seeded


def _newest(session: Session, country: str) -> CalendarRevision | None:
    return session.scalars(
        select(CalendarRevision)
        .where(CalendarRevision.country == country)
        .order_by(CalendarRevision.id.desc())
        .limit(1)
    ).first()


def _validated(data: CalendarData | dict[str, Any]) -> CalendarData:
    if isinstance(data, CalendarData):
        return data
    try:
        return CalendarData.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'calendar'}: {error['msg']}"
            for error in exc.errors()
        ]
        first = exc.errors()[0]
        raise InputRejected(
            problems[0] + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""),
            field=".".join(str(part) for part in first["loc"]) or None,
            problems=problems,
        ) from exc


def _require_editor(unit_paths: Any, principal: Principal, country: str) -> None:
    if principal.is_system:
        return
    if not any(principal.holds(EDIT_ROLE, path) for path in unit_paths):
        raise PermissionDenied(
            f"{principal.username} may not edit the {country} calendar: it needs the admin role "
            f"in a unit of {country}",
            actor=principal.username,
        )


def _calendar_of(row: dict[str, Any] | None, revision: int) -> WorkCalendar:
    if row is None:
        raise IntegrityError(f"calendar revision {revision} is recorded but not stored")
    try:
        return CalendarData.model_validate(row["content"]).to_calendar()
    except ValidationError as exc:
        raise IntegrityError(
            f"calendar revision {revision} cannot be read: {exc.errors()[0]['msg']}"
        ) from exc


def _view(row: CalendarRevision) -> CalendarRevisionView:
    return CalendarRevisionView(
        id=row.id,
        country=row.country,
        created_at=stored_instant(row.created_at),
        created_by=row.created_by,
        reason=row.reason,
        sha256=row.sha256,
        data=CalendarData.model_validate(row.content),
    )
