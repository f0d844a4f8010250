"""Jurisdiction calendar files (``calendars/*.yaml``): load, validate, convert.

A calendar file is YAML data, never code: it is parsed with a safe loader, checked
against :class:`CalendarData` and turned into the pure
:class:`~engine.work_calendar.WorkCalendar`. Every problem is reported as
:class:`~engine.errors.InputRejected` naming the file, the line and the field, e.g.
``calendars/TH.yaml line 14: holidays[3].date: '2025-02-30' is not a valid date``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from engine.errors import InputRejected
from engine.work_calendar import WorkCalendar

MAX_FILE_BYTES = 256 * 1024

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WeekdayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

Location = tuple[int | str, ...]

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class _LocatedProblem(ValueError):
    """A whole-file rule broken at one place; ``loc`` says where, for the line number."""

    def __init__(self, loc: Location, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _check_names(names: dict[str, str]) -> dict[str, str]:
    for language, text in names.items():
        if not _LANGUAGE.match(language):
            raise ValueError(f"{language!r} is not a language code (use en, th, vi ...)")
        if not text.strip():
            raise ValueError(f"the {language!r} name is empty")
    if "en" not in names:
        raise ValueError("an English name ('en') is required")
    return names


def _check_clock_time(value: str) -> str:
    if not _HH_MM.match(value):
        raise ValueError(f'{value!r} is not a time of day; write it quoted as "HH:MM", e.g. "08:30"')
    return value


def _check_timezone(key: str) -> str:
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{key!r} is not a known time zone (use a key such as Asia/Bangkok)") from exc
    return key


LocalizedName = Annotated[dict[str, str], AfterValidator(_check_names)]
ClockTime = Annotated[str, AfterValidator(_check_clock_time)]


class CalendarDay(BaseModel):
    """One dated entry: a holiday or a declared working day, with its names by language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    name: LocalizedName


class WorkingHours(BaseModel):
    """Office hours, local time, as ``"HH:MM"`` strings; ``start`` before ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _opens_before_closing(self) -> WorkingHours:
        if self.start >= self.end:
            raise _LocatedProblem(("start",), f"start {self.start} is not before end {self.end}")
        return self


class CalendarData(BaseModel):
    """The content of one calendar file, validated.

    Rules beyond the field types: no date listed twice, no date both a holiday and a
    working day, every working day falls on a weekend day, every name has ``en``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: LocalizedName
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    weekend: tuple[WeekdayName, ...]
    working_hours: WorkingHours
    sources: tuple[str, ...] = Field(min_length=1)
    holidays: tuple[CalendarDay, ...]
    working_days: tuple[CalendarDay, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CalendarData:
        for problem in self._problems():
            raise problem
        return self

    def _problems(self) -> Iterator[_LocatedProblem]:
        seen_weekend: set[str] = set()
        for index, day_name in enumerate(self.weekend):
            if day_name in seen_weekend:
                yield _LocatedProblem(("weekend", index), f"{day_name} is listed twice")
            seen_weekend.add(day_name)
        if len(seen_weekend) == 7:
            yield _LocatedProblem(("weekend",), "every day of the week is a weekend day")
        first_holiday: dict[dt.date, int] = {}
        for index, entry in enumerate(self.holidays):
            if entry.date in first_holiday:
                yield _LocatedProblem(
                    ("holidays", index, "date"),
                    f"{entry.date} is listed twice (also holidays[{first_holiday[entry.date]}])",
                )
            first_holiday.setdefault(entry.date, index)
        weekend_numbers = {WEEKDAY_NAMES.index(day_name) for day_name in self.weekend}
        first_working: dict[dt.date, int] = {}
        for index, entry in enumerate(self.working_days):
            where: Location = ("working_days", index, "date")
            if entry.date in first_working:
                yield _LocatedProblem(
                    where, f"{entry.date} is listed twice (also working_days[{first_working[entry.date]}])"
                )
            first_working.setdefault(entry.date, index)
            if entry.date in first_holiday:
                yield _LocatedProblem(
                    where, f"{entry.date} is also a holiday (holidays[{first_holiday[entry.date]}])"
                )
            if entry.date.weekday() not in weekend_numbers:
                yield _LocatedProblem(
                    where,
                    f"{entry.date} is a {WEEKDAY_NAMES[entry.date.weekday()]}, not a weekend day; "
                    "only weekend days can be declared working days",
                )

    def to_calendar(self) -> WorkCalendar:
        """The pure calendar used for deadline arithmetic (holidays by English name)."""
        return WorkCalendar(
            country=self.country,
            timezone=self.timezone,
            weekend=frozenset(WEEKDAY_NAMES.index(day_name) for day_name in self.weekend),
            work_start=dt.time.fromisoformat(self.working_hours.start),
            work_end=dt.time.fromisoformat(self.working_hours.end),
            holidays=MappingProxyType({entry.date: entry.name["en"] for entry in self.holidays}),
            working_days=frozenset(entry.date for entry in self.working_days),
        )


class _CalendarLoader(yaml.SafeLoader):
    """Safe loader that keeps dates as text, so pydantic reports a bad date by field."""


def _date_as_text(loader: _CalendarLoader, node: yaml.Node) -> Any:
    return loader.construct_yaml_str(node)


_CalendarLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


def load_calendar_file(path: Path) -> CalendarData:
    """Read and validate one calendar file.

    Raises:
        InputRejected: the file cannot be read, is larger than :data:`MAX_FILE_BYTES`,
            is not valid YAML or breaks a rule of :class:`CalendarData`.
    """
    source = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(source, size)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputRejected(f"{source}: cannot read the calendar file ({exc.strerror})", file=source) from exc
    except UnicodeDecodeError as exc:
        raise InputRejected(f"{source}: the calendar file is not UTF-8 text", file=source) from exc
    return parse_calendar_text(text, source)


def parse_calendar_text(text: str, source: str) -> CalendarData:
    """Validate calendar YAML ``text``; ``source`` names it in error messages.

    Raises:
        InputRejected: too large, not valid YAML, anchors/aliases used, or a rule of
            :class:`CalendarData` broken. The message names ``source``, the line and the
            field; ``details["problems"]`` lists every problem found.
    """
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise _too_big(source, size)
    root, data = _parse_yaml(text, source)
    if not isinstance(data, dict):
        raise InputRejected(
            f"{source} line 1: a calendar file is a mapping with country, name, timezone, weekend, "
            "working_hours, sources, holidays and working_days",
            file=source,
            line=1,
        )
    try:
        return CalendarData.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, root, source) for error in exc.errors()]
        line, field, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputRejected(
            message + more,
            file=source,
            line=line,
            field=field,
            problems=[text for _, _, text in problems],
        ) from exc


def bundled_calendars(folder: Path) -> dict[str, CalendarData]:
    """Every ``*.yaml`` calendar in ``folder``, keyed by country code.

    Raises:
        InputRejected: a file is invalid (see :func:`load_calendar_file`) or two files
            declare the same country.
    """
    found: dict[str, tuple[Path, CalendarData]] = {}
    for path in sorted(folder.glob("*.yaml")):
        calendar = load_calendar_file(path)
        if calendar.country in found:
            other = found[calendar.country][0]
            raise InputRejected(
                f"{other.name} and {path.name} both define the calendar of {calendar.country}; "
                "keep one file per country",
                file=str(path),
                field="country",
            )
        found[calendar.country] = (path, calendar)
    return {country: calendar for country, (_, calendar) in found.items()}


def _too_big(source: str, size: int) -> InputRejected:
    return InputRejected(
        f"{source}: {size} bytes is larger than the {MAX_FILE_BYTES // 1024} KiB allowed for a calendar file",
        file=source,
    )


def _parse_yaml(text: str, source: str) -> tuple[yaml.Node, Any]:
    """Compose the node tree (for line numbers) and build the data from the same parse."""
    loader = _CalendarLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InputRejected(f"{source} line 1: the calendar file is empty", file=source, line=1)
        _refuse_aliases(root, source)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise InputRejected(
            f"{source} line {line}: not valid YAML: {exc.problem or exc.context}", file=source, line=line
        ) from exc
    except yaml.YAMLError as exc:
        raise InputRejected(f"{source}: not valid YAML: {exc}", file=source) from exc
    finally:
        loader.dispose()
    return root, data


def _refuse_aliases(root: yaml.Node, source: str) -> None:
    """Refuse anchors/aliases: a shared node could expand to a huge document."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            line = node.start_mark.line + 1
            raise InputRejected(
                f"{source} line {line}: YAML anchors and aliases (& and *) are not allowed in calendar files",
                file=source,
                line=line,
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


def _node_at(root: yaml.Node, loc: Location) -> yaml.Node:
    """The deepest node on the path ``loc``; an unknown key points at the key itself."""
    node = root
    for index, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            match = [(key, value) for key, value in node.value if key.value == str(part)]
            if not match:
                return node
            key, value = match[0]
            # The last step points at the key: its line is where the field is written.
            node = key if index == len(loc) - 1 else value
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _field_path(loc: Location) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(error: ErrorDetails, root: yaml.Node, source: str) -> tuple[int, str, str]:
    """Line, field path and message for one pydantic error."""
    loc: Location = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _LocatedProblem):
        loc = loc + cause.loc
        reason = str(cause)
    elif error["type"] == "value_error" and cause is not None:
        reason = str(cause)
    elif error["type"].startswith("date_"):
        reason = f"{error['input']!r} is not a valid date (write YYYY-MM-DD)"
    elif error["type"] == "extra_forbidden":
        reason = f"unknown key {loc[-1]!r}"
    elif error["type"] == "missing":
        reason = "this field is required"
    elif error["type"] == "string_type" and loc[:1] == ("working_hours",):
        reason = f'{error["input"]!r} is not a time of day; write it quoted as "HH:MM", e.g. "16:30"'
    elif error["type"] == "literal_error" and loc[:1] == ("weekend",):
        reason = f"{error['input']!r} is not a weekday name ({', '.join(WEEKDAY_NAMES)})"
    else:
        reason = f"{error['msg']} (got {error['input']!r})"
    line = _node_at(root, loc).start_mark.line + 1
    field = _field_path(loc)
    return line, field, f"{source} line {line}: {field}: {reason}"
