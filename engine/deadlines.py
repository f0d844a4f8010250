"""On-time classification of open work (DOMAIN.md: not yet due / nearly late / late)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from engine.clock import as_utc, stored_instant

Timeliness = Literal["no_deadline", "not_yet_due", "nearly_late", "late"]

NEARLY_LATE = timedelta(days=1)


def timeliness(due_at: datetime | None, now: datetime) -> Timeliness:
    """How an open item or case stands against its deadline at ``now``.

    Nearly late means due within :data:`NEARLY_LATE`; a naive ``due_at`` is UTC.
    """
    if due_at is None:
        return "no_deadline"
    left = stored_instant(due_at) - as_utc(now)
    if left < timedelta(0):
        return "late"
    if left <= NEARLY_LATE:
        return "nearly_late"
    return "not_yet_due"
