"""Calendar files: validation errors name file, line and field; the bundled data is sane."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from engine.calendar_files import (
    MAX_FILE_BYTES,
    CalendarData,
    bundled_calendars,
    load_calendar_file,
    parse_calendar_text,
)
from engine.errors import InputRejected

CALENDARS = Path(__file__).resolve().parents[2] / "calendars"
YEARS = (2025, 2026, 2027)
SOURCE = "calendars/XX.yaml"

# Line numbers matter: the tests below point at them.
VALID = """\
country: XX
name: {en: Testland, th: ประเทศทดสอบ}
timezone: Asia/Bangkok
weekend: [saturday, sunday]
working_hours: {start: "08:30", end: "16:30"}
sources:
  - "test data"
holidays:
  - {date: 2025-01-01, name: {en: New Year's Day}}
  - {date: 2025-04-13, name: {en: Songkran}}
working_days:
  - {date: 2025-04-26, name: {en: Working Saturday}}
"""


def rejected(text: str) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        parse_calendar_text(text, SOURCE)
    return caught.value


def test_valid_text_parses_into_the_model() -> None:
    data = parse_calendar_text(VALID, SOURCE)
    assert data.country == "XX"
    assert data.holidays[1].date == date(2025, 4, 13)
    calendar = data.to_calendar()
    assert calendar.weekend == frozenset({5, 6})
    assert (calendar.work_start, calendar.work_end) == (time(8, 30), time(16, 30))
    assert calendar.holidays[date(2025, 1, 1)] == "New Year's Day"
    assert calendar.working_days == frozenset({date(2025, 4, 26)})


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "2025-04-13",
            "2025-02-30",
            "calendars/XX.yaml line 10: holidays[1].date: '2025-02-30' is not a valid date",
        ),
        (
            "[saturday, sunday]",
            "[saturday, sundy]",
            "calendars/XX.yaml line 4: weekend[1]: 'sundy' is not a weekday",
        ),
        (
            "Asia/Bangkok",
            "Asia/Bangkk",
            "calendars/XX.yaml line 3: timezone: 'Asia/Bangkk' is not a known time zone",
        ),
        (
            "2025-04-13",
            "2025-01-01",
            "calendars/XX.yaml line 10: holidays[1].date: 2025-01-01 is listed twice",
        ),
        (
            "name: {en: Songkran}}",
            "name: {en: Songkran}, note: extra}",
            "calendars/XX.yaml line 10: holidays[1].note: unknown key 'note'",
        ),
        (
            '{start: "08:30", end: "16:30"}',
            '{start: "17:00", end: "08:00"}',
            "calendars/XX.yaml line 5: working_hours.start: start 17:00 is not before end 08:00",
        ),
        (
            '{start: "08:30", end: "16:30"}',
            "{start: 08:30, end: 16:30}",  # unquoted 16:30 is the YAML 1.1 integer 990
            "calendars/XX.yaml line 5: working_hours.end: 990 is not a time of day",
        ),
        (
            "{date: 2025-04-26, name: {en: Working Saturday}}",
            "{date: 2025-04-28, name: {en: Working Monday}}",
            "calendars/XX.yaml line 12: working_days[0].date: 2025-04-28 is a monday, not a weekend day",
        ),
        (
            "{date: 2025-04-13, name: {en: Songkran}}",
            "{date: 2025-04-26, name: {en: Songkran}}",
            "calendars/XX.yaml line 12: working_days[0].date: 2025-04-26 is also a holiday",
        ),
        (
            "name: {en: Songkran}",
            "name: {th: สงกรานต์}",
            "calendars/XX.yaml line 10: holidays[1].name: an English name ('en') is required",
        ),
        ("country: XX", "country: xx", "calendars/XX.yaml line 1: country:"),
    ],
)
def test_error_names_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in VALID
    error = rejected(VALID.replace(old, new, 1))
    assert expected in str(error)
    assert error.details["file"] == SOURCE
    assert f"line {error.details['line']}:" in str(error)


def test_error_details_carry_field_and_every_problem() -> None:
    text = VALID.replace("2025-04-13", "2025-02-30").replace("Asia/Bangkok", "Nowhere/Else")
    error = rejected(text)
    assert error.details["line"] == 3
    assert error.details["field"] == "timezone"
    assert "(and 1 more problems)" in str(error)
    assert any("holidays[1].date" in problem for problem in error.details["problems"])


def test_missing_field_is_named() -> None:
    error = rejected(VALID.replace("timezone: Asia/Bangkok\n", ""))
    assert "timezone: this field is required" in str(error)


def test_broken_yaml_names_the_line() -> None:
    error = rejected(VALID.replace("weekend: [saturday, sunday]", "weekend: [saturday, sunday"))
    assert str(error).startswith("calendars/XX.yaml line ")
    assert "not valid YAML" in str(error)


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "plain text\n"])
def test_non_mapping_documents_are_refused(text: str) -> None:
    error = rejected(text)
    assert "calendars/XX.yaml line 1:" in str(error)


def test_anchors_and_aliases_are_refused() -> None:
    text = VALID.replace("name: {en: Testland, th: ประเทศทดสอบ}", "name: &n {en: Testland}").replace(
        "name: {en: Songkran}", "name: *n"
    )
    assert "anchors and aliases" in str(rejected(text))


def test_oversized_text_and_file_are_refused(tmp_path: Path) -> None:
    padding = "#" * (MAX_FILE_BYTES + 1) + "\n"
    assert "KiB" in str(rejected(padding + VALID))
    big = tmp_path / "calendars" / "XX.yaml"
    big.parent.mkdir()
    big.write_text(padding + VALID, encoding="utf-8")
    with pytest.raises(InputRejected, match=r"calendars/XX\.yaml: .* KiB"):
        load_calendar_file(big)


def test_missing_file_is_input_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="cannot read"):
        load_calendar_file(tmp_path / "calendars" / "ZZ.yaml")


def test_file_errors_name_folder_and_file(tmp_path: Path) -> None:
    folder = tmp_path / "calendars"
    folder.mkdir()
    path = folder / "XX.yaml"
    path.write_text(VALID.replace("Asia/Bangkok", "Asia/Bangkk"), encoding="utf-8")
    with pytest.raises(InputRejected, match=r"^calendars/XX\.yaml line 3: timezone: "):
        load_calendar_file(path)


def test_bundled_calendars_refuse_a_country_defined_twice(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID, encoding="utf-8")
    with pytest.raises(InputRejected) as caught:
        bundled_calendars(tmp_path)
    assert "a.yaml" in str(caught.value)
    assert "b.yaml" in str(caught.value)


# --- the bundled data files ------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> dict[str, CalendarData]:
    return bundled_calendars(CALENDARS)


def test_bundled_calendars_are_thailand_and_vietnam(bundled: dict[str, CalendarData]) -> None:
    assert sorted(bundled) == ["TH", "VN"]
    assert bundled["TH"].timezone == "Asia/Bangkok"
    assert bundled["TH"].working_hours.start == "08:30"
    assert bundled["TH"].working_hours.end == "16:30"
    assert bundled["VN"].timezone == "Asia/Ho_Chi_Minh"
    assert bundled["VN"].working_hours.start == "08:00"
    assert bundled["VN"].working_hours.end == "17:00"


@pytest.mark.parametrize("country", ["TH", "VN"])
@pytest.mark.parametrize("year", YEARS)
def test_every_year_is_present(bundled: dict[str, CalendarData], country: str, year: int) -> None:
    days = [entry.date for entry in bundled[country].holidays]
    assert date(year, 1, 1) in days
    assert sum(1 for day in days if day.year == year) >= 10


@pytest.mark.parametrize("year", YEARS)
def test_thailand_has_songkran_every_year(bundled: dict[str, CalendarData], year: int) -> None:
    holidays = {entry.date: entry.name for entry in bundled["TH"].holidays}
    for day in (13, 14, 15):
        assert holidays[date(year, 4, day)]["th"] == "วันสงกรานต์"


@pytest.mark.parametrize("year", YEARS)
def test_vietnam_has_national_day_every_year(bundled: dict[str, CalendarData], year: int) -> None:
    holidays = {entry.date: entry.name for entry in bundled["VN"].holidays}
    assert holidays[date(year, 9, 2)]["vi"] == "Quốc khánh"
    # National Day comes with an adjacent day, 1 or 3 September.
    assert date(year, 9, 1) in holidays or date(year, 9, 3) in holidays


@pytest.mark.parametrize("country", ["TH", "VN"])
def test_no_day_is_both_holiday_and_working_day(bundled: dict[str, CalendarData], country: str) -> None:
    data = bundled[country]
    assert not {e.date for e in data.holidays} & {e.date for e in data.working_days}


@pytest.mark.parametrize("country", ["TH", "VN"])
def test_every_day_is_named_in_three_languages(bundled: dict[str, CalendarData], country: str) -> None:
    data = bundled[country]
    for entry in (*data.holidays, *data.working_days):
        assert set(entry.name) == {"en", "th", "vi"}, entry.date


def test_vietnam_tet_breaks_match_the_government_decisions(bundled: dict[str, CalendarData]) -> None:
    days = {entry.date for entry in bundled["VN"].holidays}
    # Tết 2025: Saturday 25 January - Sunday 2 February (9 days)
    assert all(date(2025, 1, 25 + offset) in days for offset in range(7))
    assert {date(2025, 2, 1), date(2025, 2, 2)} <= days
    # Tết 2026: 14-22 February (9 days)
    assert all(date(2026, 2, day) in days for day in range(14, 23))
    assert date(2025, 1, 24) not in days
    assert date(2026, 2, 23) not in days
