"""On-time classification (DOMAIN.md): open cases are not yet due / nearly late / late,
closed ones early / on time / late, all against the case's current deadline.

A deadline is a local *date* (the appointment date, moved by extensions and pauses); the
case is on time all through that day, so its deadline instant (``due_at``) is the local
midnight that ends it. Closed early means before the deadline day began.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from engine.clock import as_utc, stored_instant

Timeliness = Literal["no_deadline", "not_yet_due", "nearly_late", "late"]
Outcome = Literal["no_deadline", "early", "on_time", "late"]

NEARLY_LATE = timedelta(days=1)


def due_instant(day: date, zone: str) -> datetime:
    """The instant a deadline day ends: local midnight after ``day``, in UTC."""
    return as_utc(datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone)))


def day_start(due_at: datetime) -> datetime:
    """The instant the deadline day began (one day before it ended; no DST in TH or VN)."""
    return stored_instant(due_at) - timedelta(days=1)


def timeliness(due_at: datetime | None, now: datetime, nearly_late: timedelta = NEARLY_LATE) -> Timeliness:
    """How an open item or case stands against its deadline at ``now``.

    Nearly late means due within ``nearly_late``; a naive ``due_at`` is UTC.
    """
    if due_at is None:
        return "no_deadline"
    left = stored_instant(due_at) - as_utc(now)
    if left <= timedelta(0):
        return "late"
    if left <= nearly_late:
        return "nearly_late"
    return "not_yet_due"


def closed_timeliness(due_at: datetime | None, closed_at: datetime) -> Outcome:
    """How a closed case did: early (before its deadline day), on time (on it) or late."""
    if due_at is None:
        return "no_deadline"
    closed = stored_instant(closed_at)
    if closed >= stored_instant(due_at):
        return "late"
    if closed < day_start(due_at):
        return "early"
    return "on_time"
