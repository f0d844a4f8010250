"""The access log, read back: who read which case's personal data, when, and why.

Rows are written by the reads themselves (see :func:`engine.queries.log_access`); this
module only lists them, for auditors, admins and the system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from engine.authorization import Principal, load_principal
from engine.clock import as_utc, stored_instant
from engine.errors import InputRejected, PermissionDenied
from engine.persistence.database import Database
from engine.persistence.models import AccessLogEntry, Case
from engine.persistence.prepared import Tx
from engine.views import View

READERS_OF_THE_LOG = frozenset({"auditor", "admin"})
MAX_LIMIT = 1000


class AccessLogItem(View):
    """One read of personal data."""

    at: datetime
    actor: str
    dossier_code: str | None
    fields: tuple[str, ...]
    purpose: str


class AccessLogPage(View):
    """One page of the access log, newest first, and how many rows match in all."""

    total: int
    items: tuple[AccessLogItem, ...]
    offset: int
    limit: int


class AccessLog:
    """Listing the access log."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(
        self,
        actor: str,
        *,
        case: str | None = None,
        reader: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> AccessLogPage:
        """The reads matching the filters, newest first: of the case with dossier code
        ``case``, by the user ``reader``, at or after ``since`` and before ``until``.

        Raises:
            PermissionDenied: ``actor`` is neither an auditor, an admin nor the system.
            InputRejected: ``until`` is not after ``since``, or a negative limit or offset.
            UserNotFound: ``actor`` is not an active user.
        """
        if since is not None and until is not None and as_utc(until) <= as_utc(since):
            raise InputRejected("the end of the period must come after its start", field="until")
        if limit < 0 or offset < 0:
            raise InputRejected("limit and offset cannot be negative", field="limit")
        with self.db.read() as session:
            require_log_reader(load_principal(Tx.of(session.connection()), actor))
            where = _conditions(case, reader, since, until)
            total = session.scalar(
                select(func.count(AccessLogEntry.id))
                .select_from(AccessLogEntry)
                .outerjoin(Case, Case.id == AccessLogEntry.case_id)
                .where(*where)
            )
            rows = session.execute(
                select(AccessLogEntry, Case.dossier_code)
                .outerjoin(Case, Case.id == AccessLogEntry.case_id)
                .where(*where)
                .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
                .limit(min(limit, MAX_LIMIT))
                .offset(offset)
            ).all()
            items = tuple(_item(entry, code) for entry, code in rows)
        return AccessLogPage(total=total or 0, items=items, offset=offset, limit=min(limit, MAX_LIMIT))


def require_log_reader(principal: Principal) -> None:
    """Refuse unless ``principal`` may list the access log.

    Raises:
        PermissionDenied: neither the system nor an auditor or admin anywhere.
    """
    if principal.is_system or principal.roles & READERS_OF_THE_LOG:
        return
    raise PermissionDenied(
        f"{principal.username} may not read the access log: it needs the role 'auditor' or 'admin'",
        actor=principal.username,
    )


def _conditions(
    case: str | None, reader: str | None, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if case and case.strip():
        where.append(Case.dossier_code == case.strip())
    if reader and reader.strip():
        where.append(AccessLogEntry.actor == reader.strip())
    if since is not None:
        where.append(AccessLogEntry.at >= as_utc(since))
    if until is not None:
        where.append(AccessLogEntry.at < as_utc(until))
    return where


def _item(entry: AccessLogEntry, dossier_code: str | None) -> AccessLogItem:
    fields: Any = entry.fields or []
    return AccessLogItem(
        at=stored_instant(entry.at),
        actor=entry.actor,
        dossier_code=dossier_code,
        fields=tuple(str(name) for name in fields),
        purpose=entry.purpose,
    )
