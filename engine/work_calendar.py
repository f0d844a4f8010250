"""Working-day arithmetic for legal deadlines.

A :class:`WorkCalendar` knows one jurisdiction's weekend, office hours, public holidays
and the weekend days declared working days (Vietnam swaps a weekday off for a Saturday
worked). Everything here is pure: no I/O, no database, no workflow objects, and no
reading of the clock. Callers pass the receipt instant; the calendar answers with local
dates and UTC instants.

Counting rules, written once so every procedure gets the same answer:

- *Counting start*: a dossier received on a working day before the cut-off (default: the
  close of office hours) counts from that day; later, or on a day off, it counts from the
  next working day. A receipt before opening on a working day counts from that day.
- *Working days*: ``N`` working days after the counting start, the start itself not
  counted; ``0`` means the counting start itself (same-day procedures).
- *Calendar days*: the receipt's local date plus ``N`` days (the first day is not
  counted); a period ending on a day off ends on the next working day instead, which is
  the civil-code rule in both Thailand and Vietnam.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.clock import as_utc
from engine.errors import ConfigurationError

DayType = Literal["working", "calendar"]

MAX_DAYS = 3660
"""Largest day count (or date span) accepted: ten years and change. Legal time limits are
counted in days or weeks; anything larger is a data error, not a deadline."""

_SEARCH_LIMIT = 366
"""How far ahead :meth:`WorkCalendar.next_working_day` looks before declaring the
calendar unusable (a year without a single working day)."""


def _check_days(days: int) -> None:
    if days < 0:
        raise ValueError(f"a number of days cannot be negative (got {days})")
    if days > MAX_DAYS:
        raise ValueError(
            f"{days} days is beyond the supported limit of {MAX_DAYS} days; check the time limit"
        )


@dataclass(frozen=True)
class WorkCalendar:
    """One jurisdiction's working days and office hours.

    Attributes:
        country: ISO 3166 alpha-2 code (``TH``, ``VN``).
        timezone: zoneinfo key of the offices' local time.
        weekend: ``date.weekday()`` numbers of the weekly days off (Monday is 0).
        work_start: opening time of government offices, local.
        work_end: closing time, local; also the default same-day cut-off.
        holidays: days off for government offices (substitution days and official breaks
            included), mapped to their English name. Stored read-only.
        working_days: weekend days declared working days.

    Raises:
        ConfigurationError: unknown time zone, weekend numbers outside 0–6, a weekend of
            all seven days, or office hours that close before they open.
    """

    country: str
    timezone: str
    weekend: frozenset[int]
    work_start: time
    work_end: time
    holidays: Mapping[date, str] = field(default_factory=dict, hash=False)
    working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(
                f"calendar {self.country}: {self.timezone!r} is not a known time zone", field="timezone"
            ) from exc
        if not self.weekend <= frozenset(range(7)):
            raise ConfigurationError(
                f"calendar {self.country}: weekend days must be weekday numbers 0-6 (Monday=0)",
                field="weekend",
            )
        if len(self.weekend) == 7:
            raise ConfigurationError(f"calendar {self.country}: every day is a weekend day", field="weekend")
        if self.work_start >= self.work_end:
            raise ConfigurationError(
                f"calendar {self.country}: office hours must open before they close "
                f"({self.work_start:%H:%M}-{self.work_end:%H:%M})",
                field="working_hours",
            )
        # Freeze whatever mapping the caller handed in, so a shared calendar cannot drift.
        object.__setattr__(self, "holidays", MappingProxyType(dict(self.holidays)))

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone object."""
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        """Whether government offices work on ``day`` (a local date)."""
        if day in self.working_days:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``.

        Raises:
            ConfigurationError: no working day in the year after ``day`` (broken data).
        """
        candidate = day
        for _ in range(_SEARCH_LIMIT):
            candidate += timedelta(days=1)
            if self.is_working_day(candidate):
                return candidate
        raise ConfigurationError(
            f"calendar {self.country} has no working day in the year after {day.isoformat()}; "
            "check its holidays and weekend"
        )

    def working_day_on_or_after(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next working day.

        Raises:
            ConfigurationError: see :meth:`next_working_day`.
        """
        return day if self.is_working_day(day) else self.next_working_day(day)

    def local(self, moment: datetime) -> datetime:
        """``moment`` as an aware datetime in the calendar's time zone.

        Raises:
            ConfigurationError: ``moment`` is naive (it has no meaning here).
        """
        return as_utc(moment).astimezone(self.zone)

    def counting_start(self, received: datetime, cutoff: time | None = None) -> date:
        """The local day from which a time limit counts for a receipt at ``received``.

        The receipt day when it is a working day and the local time is before ``cutoff``
        (default: :attr:`work_end`); otherwise the next working day.

        Raises:
            ConfigurationError: ``received`` is naive.
        """
        limit = self.work_end if cutoff is None else cutoff
        moment = self.local(received)
        day = moment.date()
        if self.is_working_day(day) and moment.time() < limit:
            return day
        return self.next_working_day(day)

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start``; ``0`` gives ``start`` itself.

        Raises:
            ValueError: ``days`` is negative or above :data:`MAX_DAYS`.
        """
        _check_days(days)
        current = start
        for _ in range(days):
            current = self.next_working_day(current)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start < d <= end``.

        When ``end`` is before ``start`` the answer is negative: minus the working days
        ``d`` with ``end < d <= start``, so ``between(a, b) == -between(b, a)``.

        Raises:
            ValueError: the two dates are more than :data:`MAX_DAYS` days apart.
        """
        if end < start:
            return -self.working_days_between(end, start)
        span = (end - start).days
        if span > MAX_DAYS:
            raise ValueError(
                f"{start.isoformat()} and {end.isoformat()} are {span} days apart, "
                f"beyond the supported limit of {MAX_DAYS} days"
            )
        return sum(1 for offset in range(1, span + 1) if self.is_working_day(start + timedelta(days=offset)))

    def due_date(self, received: datetime, days: int, day_type: DayType, cutoff: time | None = None) -> date:
        """The local date by which a dossier received at ``received`` must be decided.

        ``working``: ``days`` working days after :meth:`counting_start`. ``calendar``: the
        receipt's local date plus ``days``, moved to the next working day when that date
        is a day off. With ``days == 0`` both give the counting start (same-day service).

        Raises:
            ValueError: ``days`` out of range or an unknown ``day_type``.
            ConfigurationError: ``received`` is naive.
        """
        _check_days(days)
        if day_type == "working":
            return self.add_working_days(self.counting_start(received, cutoff), days)
        if day_type == "calendar":
            if days == 0:
                return self.counting_start(received, cutoff)
            last_day = self.local(received).date() + timedelta(days=days)
            return self.working_day_on_or_after(last_day)
        raise ValueError(f"day type must be 'working' or 'calendar', not {day_type!r}")

    def end_of_day(self, day: date) -> datetime:
        """The UTC instant at which offices close on the local date ``day``."""
        return datetime.combine(day, self.work_end, tzinfo=self.zone).astimezone(UTC)

    def working_instant(self, moment: datetime, days: int) -> datetime:
        """Closing time of the ``days``-th working day counted from ``moment`` (UTC).

        This is "N working days from now" for timer expressions; the cut-off is the close
        of office hours.

        Raises:
            ValueError: ``days`` out of range.
            ConfigurationError: ``moment`` is naive.
        """
        return self.end_of_day(self.add_working_days(self.counting_start(moment), days))


def weekdays_only(country: str = "XX", timezone: str = "UTC") -> WorkCalendar:
    """A calendar of Monday–Friday, 08:00–17:00 and no holidays.

    Used when a deployment has no calendar configured for its jurisdiction.

    Raises:
        ConfigurationError: ``timezone`` is not a known zoneinfo key.
    """
    return WorkCalendar(
        country=country,
        timezone=timezone,
        weekend=frozenset({5, 6}),
        work_start=time(8, 0),
        work_end=time(17, 0),
    )
