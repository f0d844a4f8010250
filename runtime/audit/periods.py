"""Date filters of the audit pages: whole local days turned into UTC instants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.views import OrgUnitView, UserView

DEFAULT_ZONE = "Asia/Bangkok"


def home_zone(user: UserView, units: Iterable[OrgUnitView]) -> str:
    """The time zone of the first unit ``user`` holds a grant in (dates are read there)."""
    zones = {unit.code: unit.timezone for unit in units}
    return next((zones[g.unit_code] for g in user.grants if g.unit_code in zones), DEFAULT_ZONE)


def day_bounds(first: date | None, last: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """``[start of first, start of the day after last)`` in ``zone``; either may be open."""
    tz = ZoneInfo(zone)
    since = datetime.combine(first, time.min, tzinfo=tz) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz) if last else None
    return since, until
