"""Deterministic helpers available to model scripts.

No wall clock, no randomness, no I/O: ``now()`` and ``today()`` read the injected clock
(:func:`engine.clock.current_now`), so replaying a case with its recorded instant gives the same
results. Dates may be passed as ``date``/``datetime`` values or ISO strings (form fields arrive
as strings); ``add_days`` returns the kind it was given, so a string stays storable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from engine.clock import current_now
from engine.errors import ScriptFailed
from engine.sla_clock import CaseClock, current_clock, step_deadline

_Day = TypeVar("_Day", date, datetime, str)


def now() -> datetime:
    """The instant of the command being run (aware, UTC).

    Raises:
        ConfigurationError: the script runs outside ``frozen_at`` (an engine bug).
    """
    return current_now()


def today() -> date:
    """The UTC date of :func:`now`."""
    return current_now().date()


def make_datetime(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    """``datetime(...)`` for scripts: always aware, in UTC.

    Raises:
        ValueError: a field is out of range.
    """
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def parse_date(text: str) -> date:
    """Parse ``"2025-01-31"``.

    Raises:
        ValueError: not an ISO date.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_date() expects a string, not {type(text).__name__}")
    return date.fromisoformat(text)


def parse_datetime(text: str) -> datetime:
    """Parse an ISO date-time; one without a time zone is taken as UTC.

    Raises:
        ValueError: not an ISO date-time.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_datetime() expects a string, not {type(text).__name__}")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _is_datetime_text(text: str) -> bool:
    return len(text) > 10


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, str):
        value = parse_datetime(value) if _is_datetime_text(value) else parse_date(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo is not None else value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, a datetime or an ISO string, not {type(value).__name__}")


def add_days(day: _Day, days: int) -> _Day:
    """``day`` plus ``days`` days, of the same kind (a string comes back as an ISO string).

    Raises:
        TypeError: ``day`` is not a date, datetime or ISO string.
        ValueError: the string is not ISO.
    """
    if isinstance(day, str):
        if _is_datetime_text(day):
            return (parse_datetime(day) + timedelta(days=days)).isoformat()
        return (parse_date(day) + timedelta(days=days)).isoformat()
    if isinstance(day, date):
        return day + timedelta(days=days)
    raise TypeError(f"add_days() expects a date, a datetime or an ISO string, not {type(day).__name__}")


def days_between(start: date | datetime | str, end: date | datetime | str) -> int:
    """Calendar days from ``start`` to ``end`` (negative if ``end`` is earlier); UTC dates.

    Raises:
        TypeError: an argument is not a date, datetime or ISO string.
        ValueError: a string is not ISO.
    """
    return (_as_date(end) - _as_date(start)).days


def iso_duration(days: int = 0, hours: int = 0, minutes: int = 0) -> str:
    """An ISO 8601 duration for timer expressions: ``iso_duration(days=3)`` -> ``"P3D"``.

    Raises:
        ValueError: a part is negative or not a whole number.
    """
    parts = {"days": days, "hours": hours, "minutes": minutes}
    for name, value in parts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"iso_duration() {name} must be a whole number >= 0, not {value!r}")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    text = "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")
    return text if text != "P" else "P0D"


def working_days(days: int) -> str:
    """The end of the day ``days`` working days from now (local midnight after it), as an
    ISO date-time for a ``timeDate`` timer. Counting starts today when the command runs on
    a working day before closing time, else on the next working day.

    Raises:
        ScriptFailed: no case calendar (outside a case).
        ValueError: ``days`` is negative or absurd.
    """
    if not isinstance(days, int) or isinstance(days, bool):
        raise TypeError(f"working_days() expects a whole number of days, not {days!r}")
    clock = current_clock("working_days")
    working = CaseClock(clock.calendar, clock.revision, clock.due_at, clock.allowances, "working")
    return step_deadline(working, current_now(), days).isoformat()


def deadline(step: str | None = None) -> str:
    """A deadline as an ISO date-time for a ``timeDate`` timer.

    ``deadline()`` is the case's current deadline (its appointment date, moved by
    extensions and pauses): the end of that day. ``deadline("review")`` is the end of the
    time the service manual allows the step ``review``, counted from now.

    Raises:
        ScriptFailed: no case calendar, or the case has no deadline.
        ValueError: the manual gives ``step`` no allowance.
    """
    clock = current_clock("deadline")
    if step is None:
        if clock.due_at is None:
            raise ScriptFailed("deadline(): the case has no deadline (its manual gives no time limit)")
        return clock.due_at.isoformat()
    if step not in clock.allowances:
        known = ", ".join(sorted(clock.allowances)) or "none"
        raise ValueError(
            f"deadline({step!r}): the service manual gives that step no allowance (steps: {known})"
        )
    return step_deadline(clock, current_now(), clock.allowances[step]).isoformat()


#: Names scripts see, in addition to the allowed builtins.
HELPERS: dict[str, Any] = {
    "now": now,
    "today": today,
    "date": date,
    "datetime": make_datetime,
    "timedelta": timedelta,
    "parse_date": parse_date,
    "parse_datetime": parse_datetime,
    "add_days": add_days,
    "days_between": days_between,
    "iso_duration": iso_duration,
    "working_days": working_days,
    "deadline": deadline,
}
