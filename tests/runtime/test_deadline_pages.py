"""The deadline section of the case page and the administrators' calendar page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from engine import OneStop
from tests.runtime.conftest import open_page

CALENDARS = Path(__file__).resolve().parents[2] / "calendars"


def _case(onestop: OneStop) -> str:
    return onestop.cases.start_case(
        "somchai", "building_permit", "TH.50.01", datetime.now(UTC), {"applicant_name": "Somsri"}
    ).dossier_code


def _metrics(app: object) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}  # type: ignore[attr-defined]


def test_an_approver_extends_the_deadline_and_a_holiday_is_refused(seeded: OneStop) -> None:
    code = _case(seeded)
    due = seeded.queries.case("system", code).due_date
    assert due is not None
    app = open_page(seeded, "workbench/case.py", "prasert", **{"case.code": code})
    assert _metrics(app)["Standing"] == "On time"
    assert _metrics(app)["Clock"] == "running"
    saturday = due + timedelta(days=(5 - due.weekday()) % 7 or 7)
    app.date_input[0].set_value(saturday)
    app.text_area[0].set_value("A second site survey is needed.")
    app.button(key="FormSubmitter:case.extend-Extend").click().run()
    assert any("not a working day" in e.value for e in app.error), [e.value for e in app.error]
    assert seeded.queries.case("system", code).due_date == due  # nothing changed

    calendar = seeded.calendars.content("TH")
    assert calendar is not None
    days_off = {day.date for day in calendar.holidays}
    later = due + timedelta(days=14)
    while later.weekday() >= 5 or later in days_off:
        later += timedelta(days=1)
    app.date_input[0].set_value(later)
    app.text_area[0].set_value("A second site survey is needed.")
    app.button(key="FormSubmitter:case.extend-Extend").click().run()
    assert not app.exception, app.exception
    assert seeded.queries.case("system", code).due_date == later
    assert [s.value for s in app.success] == ["Deadline extended."]
    assert list(app.dataframe[0].value["Event"]) == ["Appointment date set", "Deadline extended"]


def test_an_intake_officer_stops_and_restarts_the_clock_but_cannot_extend(seeded: OneStop) -> None:
    code = _case(seeded)
    app = open_page(seeded, "workbench/case.py", "somchai", **{"case.code": code})
    assert not [f for f in app.date_input]  # no extension form for intake officers
    [reason] = [t for t in app.text_input if t.label == "Why the clock stops"]
    reason.set_value("Waiting for the land office's survey.")
    app.button(key="FormSubmitter:case.pause-Stop the clock").click().run()
    assert not app.exception, app.exception
    assert seeded.queries.case("system", code).paused_since is not None
    assert _metrics(app)["Clock"].startswith("stopped since")
    app.button(key="case.resume").click().run()
    assert seeded.queries.case("system", code).paused_since is None


def test_the_calendar_page_computes_a_date_and_imports_a_revision(seeded: OneStop) -> None:
    app = open_page(seeded, "workbench/calendars.py", "admin")
    assert not app.error, [e.value for e in app.error]
    assert app.selectbox(key="calendars.country").value == "TH"
    # Try a date: Friday 10 April 2026, 10:00, 3 working days -> Songkran (13-15) -> Thu 16, Fri 17, Mon 20.
    app.date_input(key="calendars.try_day").set_value(date(2026, 4, 10)).run()
    app.number_input(key="calendars.try_days").set_value(3).run()
    assert _metrics(app)["Due on"] == "20 Apr 2026"

    text = (CALENDARS / "TH.yaml").read_text(encoding="utf-8")
    broken = text.replace('start: "08:30"', 'start: "18:30"')
    app.text_input(key="calendars.file_reason").set_value("Cabinet resolution")
    app.run()
    app.get("file_uploader")[0].set_value(("TH.yaml", broken.encode(), "application/yaml"))  # type: ignore[attr-defined]
    app.run()
    app.button(key="calendars.import").click().run()
    assert any("TH.yaml line" in e.value and "working_hours" in e.value for e in app.error), [
        e.value for e in app.error
    ]
    before = len(seeded.calendars.history("TH"))
    edited = text.replace('start: "08:30"', 'start: "08:00"')
    app.get("file_uploader")[0].set_value(("TH.yaml", edited.encode(), "application/yaml"))  # type: ignore[attr-defined]
    app.run()
    app.button(key="calendars.import").click().run()
    assert not app.exception, app.exception
    history = seeded.calendars.history("TH")
    assert len(history) == before + 1
    assert (history[0].created_by, history[0].reason, history[0].data.working_hours.start) == (
        "admin",
        "Cabinet resolution",
        "08:00",
    )


def test_only_administrators_see_the_calendar_page(seeded: OneStop) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(seeded, "workbench/calendars.py", "prasert")
