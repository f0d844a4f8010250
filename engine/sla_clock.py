"""The legal clock a command runs under: the jurisdiction calendar and the case's deadline.

Model scripts and timer expressions reach it through the helpers ``working_days(n)`` and
``deadline(step)`` (:mod:`engine.sandbox_helpers`). Like the instant of a command, the
clock is an *input*: a command of a procedure that uses the helpers records which calendar
revision and which deadline it ran with (``"clock"`` in its payload), and replay runs the
command again under that recorded clock, so a later calendar edit never changes history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.clock import stored_instant
from engine.deadlines import due_instant
from engine.errors import IntegrityError, ScriptFailed
from engine.work_calendar import WorkCalendar

CalendarSource = Callable[[int, str], WorkCalendar]  # (revision, time zone) -> calendar


@dataclass(frozen=True)
class CaseClock:
    """What the deadline helpers compute with during one command.

    Attributes:
        calendar: the jurisdiction's calendar at ``revision`` (0: built-in weekdays only).
        revision: the calendar revision recorded with the command.
        due_at: the case's current deadline (end of its due day), if it has one.
        allowances: working days allowed per step (element id), from the service manual.
        day_type: whether the procedure counts ``working`` or ``calendar`` days.
    """

    calendar: WorkCalendar
    revision: int
    due_at: datetime | None
    allowances: Mapping[str, int] = field(default_factory=dict)
    day_type: str = "working"

    def record(self) -> dict[str, Any]:
        """The part of the clock a command records: the rest comes from the version."""
        return {
            "calendar": self.revision,
            "zone": self.calendar.timezone,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }

    @classmethod
    def recorded(
        cls,
        payload: Mapping[str, Any],
        calendars: CalendarSource | None,
        allowances: Mapping[str, int],
        day_type: str,
    ) -> CaseClock:
        """The clock a command recorded, with its calendar revision looked up again.

        Raises:
            IntegrityError: the record is malformed or no calendar source was given.
        """
        if calendars is None:
            raise IntegrityError("a recorded command names a calendar, but no calendar source was given")
        try:
            revision = int(payload["calendar"])
            zone = str(payload.get("zone") or "UTC")
            due = payload.get("due_at")
            due_at = stored_instant(datetime.fromisoformat(due)) if due else None
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"the recorded clock {dict(payload)} cannot be read: {exc}") from exc
        return cls(calendars(revision, zone), revision, due_at, allowances, day_type)


def step_deadline(clock: CaseClock, now: datetime, days: int) -> datetime:
    """The end of the day ``days`` working (or calendar) days after ``now``, by the clock's
    calendar and the procedure's day type: the instant a step allowed ``days`` turns late."""
    day_type: Literal["working", "calendar"] = "calendar" if clock.day_type == "calendar" else "working"
    return due_instant(clock.calendar.due_date(now, days, day_type), clock.calendar.timezone)


_current: ContextVar[CaseClock | None] = ContextVar("onestop_case_clock", default=None)


@contextmanager
def running_under(clock: CaseClock | None) -> Iterator[None]:
    """Run the body with ``clock`` as the command's legal clock."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


def current_clock(helper: str) -> CaseClock:
    """The clock of the running command.

    Raises:
        ScriptFailed: the command runs without one (a trial without calendar, a model
            evaluated outside a case).
    """
    clock = _current.get()
    if clock is None:
        raise ScriptFailed(f"{helper}() needs a case and its jurisdiction calendar; none is set here")
    return clock
