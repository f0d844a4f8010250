"""Working-day arithmetic against the bundled TH and VN calendars.

Every expected date is counted by hand from calendars/TH.yaml and calendars/VN.yaml; the
comment next to it shows the count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.calendar_files import load_calendar_file
from engine.errors import ConfigurationError
from engine.work_calendar import MAX_DAYS, WorkCalendar, weekdays_only

CALENDARS = Path(__file__).resolve().parents[2] / "calendars"
BANGKOK = ZoneInfo("Asia/Bangkok")
HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
CUTOFF_15 = time(15, 0)


@pytest.fixture(scope="module")
def th() -> WorkCalendar:
    return load_calendar_file(CALENDARS / "TH.yaml").to_calendar()


@pytest.fixture(scope="module")
def vn() -> WorkCalendar:
    return load_calendar_file(CALENDARS / "VN.yaml").to_calendar()


def test_th_receipt_after_close_before_songkran_counts_after_the_break(th: WorkCalendar) -> None:
    received = datetime(2025, 4, 11, 16, 45, tzinfo=BANGKOK)  # Friday, after the 16:30 close
    # Sat 12, Sun 13 (Songkran), Mon 14, Tue 15 (Songkran), Wed 16 (substitution) are off.
    assert th.counting_start(received) == date(2025, 4, 17)  # Thursday
    # Fri 18 (1), Mon 21 (2), Tue 22 (3)
    assert th.due_date(received, 3, "working") == date(2025, 4, 22)


def test_vn_receipt_after_cutoff_before_tet_counts_after_the_break(vn: WorkCalendar) -> None:
    received = datetime(2025, 1, 24, 15, 30, tzinfo=HCMC)  # Friday, after a 15:00 cut-off
    # Sat 25 Jan - Sun 2 Feb is the Tết break.
    assert vn.counting_start(received, CUTOFF_15) == date(2025, 2, 3)  # Monday
    # Tue 4 (1), Wed 5 (2), Thu 6 (3)
    assert vn.due_date(received, 3, "working", CUTOFF_15) == date(2025, 2, 6)


def test_th_five_working_days_across_new_year(th: WorkCalendar) -> None:
    received = datetime(2025, 12, 30, 10, 0, tzinfo=BANGKOK)  # Tuesday morning: counts from 30 Dec
    # 31 Dec, 1 Jan, 2 Jan (special holiday), 3-4 Jan weekend are off.
    # Mon 5 (1), Tue 6 (2), Wed 7 (3), Thu 8 (4), Fri 9 (5)
    assert th.due_date(received, 5, "working") == date(2026, 1, 9)


def test_vn_five_working_days_across_new_year(vn: WorkCalendar) -> None:
    received = datetime(2025, 12, 30, 10, 0, tzinfo=HCMC)  # Tuesday morning: counts from 30 Dec
    # Wed 31 Dec (1); 1 Jan, 2 Jan (swapped), 3-4 Jan off; Mon 5 (2), Tue 6 (3), Wed 7 (4), Thu 8 (5)
    assert vn.due_date(received, 5, "working") == date(2026, 1, 8)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (datetime(2025, 3, 4, 14, 59, tzinfo=HCMC), date(2025, 3, 4)),  # Tuesday, before 15:00: same day
        (datetime(2025, 3, 4, 15, 0, tzinfo=HCMC), date(2025, 3, 5)),  # at the cut-off: Wednesday
        (datetime(2025, 3, 8, 9, 0, tzinfo=HCMC), date(2025, 3, 10)),  # Saturday: Monday
        (datetime(2025, 4, 26, 9, 0, tzinfo=HCMC), date(2025, 4, 26)),  # declared working Saturday
    ],
)
def test_vn_same_day_procedure_respects_the_cutoff(
    vn: WorkCalendar, received: datetime, expected: date
) -> None:
    assert vn.due_date(received, 0, "working", CUTOFF_15) == expected


def test_receipt_before_opening_counts_from_that_day(th: WorkCalendar) -> None:
    received = datetime(2025, 4, 21, 7, 0, tzinfo=BANGKOK)  # Monday, before 08:30
    assert th.counting_start(received) == date(2025, 4, 21)


def test_calendar_day_limit_ending_on_a_holiday_rolls_forward(vn: WorkCalendar, th: WorkCalendar) -> None:
    received = datetime(2025, 4, 21, 10, 0, tzinfo=HCMC)  # Monday
    # 21 Apr + 9 = Wed 30 Apr (holiday); 1, 2 May off, 3-4 weekend: Monday 5 May
    assert vn.due_date(received, 9, "calendar") == date(2025, 5, 5)
    received_th = datetime(2025, 4, 3, 10, 0, tzinfo=BANGKOK)  # Thursday
    # 3 Apr + 10 = Sun 13 Apr (Songkran); 14, 15, 16 off: Thursday 17 Apr
    assert th.due_date(received_th, 10, "calendar") == date(2025, 4, 17)


def test_calendar_day_limit_ending_on_a_working_day_stays(vn: WorkCalendar) -> None:
    received = datetime(2025, 4, 21, 10, 0, tzinfo=HCMC)  # Monday
    # 21 Apr + 8 = Tuesday 29 Apr, a working day
    assert vn.due_date(received, 8, "calendar") == date(2025, 4, 29)


def test_calendar_day_limit_counts_from_the_local_date(vn: WorkCalendar) -> None:
    received = datetime(2025, 4, 20, 18, 0, tzinfo=UTC)  # 01:00 on Monday 21 Apr in Vietnam
    # 21 Apr + 8 = Tuesday 29 Apr
    assert vn.due_date(received, 8, "calendar") == date(2025, 4, 29)


def test_calendar_zero_days_is_the_counting_start(vn: WorkCalendar) -> None:
    received = datetime(2025, 3, 4, 16, 0, tzinfo=HCMC)  # Tuesday after a 15:00 cut-off
    assert vn.due_date(received, 0, "calendar", CUTOFF_15) == date(2025, 3, 5)


def test_declared_working_saturday_counts(vn: WorkCalendar) -> None:
    received = datetime(2025, 4, 25, 10, 0, tzinfo=HCMC)  # Friday
    assert vn.is_working_day(date(2025, 4, 26))
    # Sat 26 Apr (1)
    assert vn.due_date(received, 1, "working") == date(2025, 4, 26)
    # Sat 26 Apr (1), Mon 28 Apr (2)
    assert vn.due_date(received, 2, "working") == date(2025, 4, 28)
    received_2026 = datetime(2026, 1, 8, 10, 0, tzinfo=HCMC)  # Thursday
    # Fri 9 Jan (1), Sat 10 Jan, worked in exchange for 2 Jan (2)
    assert vn.due_date(received_2026, 2, "working") == date(2026, 1, 10)


def test_working_days_between_is_antisymmetric(vn: WorkCalendar, th: WorkCalendar) -> None:
    # 3, 4, 5, 6 Feb 2025 lie after 24 Jan and up to 6 Feb: 4
    assert vn.working_days_between(date(2025, 1, 24), date(2025, 2, 6)) == 4
    assert vn.working_days_between(date(2025, 2, 6), date(2025, 1, 24)) == -4
    # only Thursday 17 Apr lies after Friday 11 Apr and up to 17 Apr: 1
    assert th.working_days_between(date(2025, 4, 11), date(2025, 4, 17)) == 1
    assert th.working_days_between(date(2025, 4, 17), date(2025, 4, 11)) == -1
    assert th.working_days_between(date(2025, 4, 17), date(2025, 4, 17)) == 0


def test_working_days_between_inverts_add_working_days(th: WorkCalendar) -> None:
    start = date(2025, 4, 10)
    assert th.working_days_between(start, th.add_working_days(start, 7)) == 7


def test_add_working_days_zero_is_the_start_itself(th: WorkCalendar) -> None:
    assert th.add_working_days(date(2025, 4, 13), 0) == date(2025, 4, 13)  # a Sunday holiday


def test_next_working_day_and_on_or_after(th: WorkCalendar) -> None:
    assert th.next_working_day(date(2025, 4, 17)) == date(2025, 4, 18)  # strictly after
    assert th.working_day_on_or_after(date(2025, 4, 17)) == date(2025, 4, 17)
    assert th.working_day_on_or_after(date(2025, 4, 12)) == date(2025, 4, 17)


def test_end_of_day_is_closing_time_in_utc(th: WorkCalendar, vn: WorkCalendar) -> None:
    assert th.end_of_day(date(2025, 4, 17)) == datetime(2025, 4, 17, 9, 30, tzinfo=UTC)  # 16:30 Bangkok
    assert vn.end_of_day(date(2025, 2, 6)) == datetime(2025, 2, 6, 10, 0, tzinfo=UTC)  # 17:00 Hanoi


def test_working_instant_is_close_of_the_nth_working_day(th: WorkCalendar) -> None:
    now = datetime(2025, 4, 11, 9, 45, tzinfo=UTC)  # 16:45 Friday in Bangkok
    # counts from Thu 17 Apr: Fri 18 (1), Mon 21 (2), Tue 22 (3), closing 16:30 = 09:30 UTC
    assert th.working_instant(now, 3) == datetime(2025, 4, 22, 9, 30, tzinfo=UTC)


def test_local_converts_aware_and_refuses_naive(th: WorkCalendar) -> None:
    assert th.local(datetime(2025, 1, 1, 0, 0, tzinfo=UTC)) == datetime(2025, 1, 1, 7, 0, tzinfo=BANGKOK)
    with pytest.raises(ConfigurationError, match="no time zone"):
        th.local(datetime(2025, 1, 1, 0, 0))
    with pytest.raises(ConfigurationError):
        th.due_date(datetime(2025, 1, 1, 0, 0), 1, "working")


@pytest.mark.parametrize("days", [-1, MAX_DAYS + 1])
def test_absurd_day_counts_are_refused(th: WorkCalendar, days: int) -> None:
    received = datetime(2025, 4, 1, 9, 0, tzinfo=BANGKOK)
    with pytest.raises(ValueError, match="days"):
        th.due_date(received, days, "working")
    with pytest.raises(ValueError, match="days"):
        th.add_working_days(date(2025, 4, 1), days)


def test_absurd_spans_and_day_types_are_refused(th: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="apart"):
        th.working_days_between(date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=MAX_DAYS + 1))
    with pytest.raises(ValueError, match="day type"):
        th.due_date(datetime(2025, 4, 1, 9, 0, tzinfo=BANGKOK), 1, "weekly")  # type: ignore[arg-type]


def test_weekdays_only_skips_weekends_and_nothing_else() -> None:
    calendar = weekdays_only()
    assert calendar.country == "XX"
    assert calendar.timezone == "UTC"
    friday_evening = datetime(2025, 1, 3, 17, 30, tzinfo=UTC)
    assert calendar.counting_start(friday_evening) == date(2025, 1, 6)  # Monday
    # 1 Jan is no holiday in this calendar
    assert calendar.add_working_days(date(2024, 12, 31), 2) == date(2025, 1, 2)  # Wed 1 (1), Thu 2 (2)
    assert calendar.end_of_day(date(2025, 1, 6)) == datetime(2025, 1, 6, 17, 0, tzinfo=UTC)


def test_calendar_holidays_are_read_only(th: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        th.holidays[date(2030, 1, 1)] = "invented"  # type: ignore[index]
    source = {date(2025, 1, 2): "Test day"}
    calendar = WorkCalendar("XX", "UTC", frozenset({5, 6}), time(8), time(17), source)
    source[date(2025, 1, 3)] = "added later"
    assert date(2025, 1, 3) not in calendar.holidays


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"weekend": frozenset(range(7))}, "every day"),
        ({"weekend": frozenset({7})}, "0-6"),
        ({"work_start": time(17), "work_end": time(8)}, "open before"),
    ],
)
def test_unusable_calendar_is_a_configuration_error(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "country": "XX",
        "timezone": "UTC",
        "weekend": frozenset({5, 6}),
        "work_start": time(8),
        "work_end": time(17),
    }
    fields.update(kwargs)
    with pytest.raises(ConfigurationError, match=message):
        WorkCalendar(**fields)  # type: ignore[arg-type]
