"""The log of directory changes: who changed which user, grant or org unit, when, from what.

Rows are written in the transaction of the change they describe (so a change and its record
commit or roll back together) and are never updated or deleted (database triggers refuse it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import stored_instant
from engine.errors import InputRejected
from engine.persistence.models import DirectoryChange
from engine.views import DirectoryChangeView

MAX_CHANGES_READ = 1000


def record_change(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one change; ``at`` is the command's (UTC) instant."""
    session.add(
        DirectoryChange(
            at=at, actor=actor, action=action, subject=subject, details={"before": before, "after": after}
        )
    )


def apply_changes(
    session: Session,
    row: Any,
    wanted: dict[str, Any],
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
) -> None:
    """Set those ``wanted`` attributes of ``row`` that differ and record them, before and
    after, as one change; nothing is recorded when nothing differs."""
    before = {key: getattr(row, key) for key, value in wanted.items() if getattr(row, key) != value}
    if not before:
        return
    after = {key: wanted[key] for key in before}
    for key, value in after.items():
        setattr(row, key, value)
    record_change(session, at=at, actor=actor, action=action, subject=subject, before=before, after=after)
    session.flush()


def recent_changes(session: Session, limit: int) -> list[DirectoryChangeView]:
    """The newest ``limit`` changes, newest first.

    Raises:
        InputRejected: ``limit`` is not between 1 and :data:`MAX_CHANGES_READ`.
    """
    if not 1 <= limit <= MAX_CHANGES_READ:
        raise InputRejected(
            f"limit {limit} is out of range; ask for 1 to {MAX_CHANGES_READ} changes", field="limit"
        )
    rows = session.scalars(select(DirectoryChange).order_by(DirectoryChange.id.desc()).limit(limit)).all()
    return [change_view(row) for row in rows]


def change_view(row: DirectoryChange) -> DirectoryChangeView:
    details = row.details or {}
    return DirectoryChangeView(
        id=row.id,
        at=stored_instant(row.at),
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        before=details.get("before"),
        after=details.get("after"),
    )
