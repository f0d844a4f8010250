"""A case's legal clock on a real jurisdiction calendar: the appointment date at receipt,
pauses while the applicant is awaited, extensions, and timers set with ``working_days`` and
``deadline`` that fire at the right working-day moment under the injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine import OneStop
from engine.errors import InputRejected, PermissionDenied
from tests.conftest import DATA, import_test_procedure, make_onestop

BANGKOK = ZoneInfo("Asia/Bangkok")


def bkk(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK)


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    instance = make_onestop(database_url)
    import_test_procedure(instance, DATA / "sla_clock")
    yield instance
    instance.close()


def _kinds(onestop: OneStop, code: str) -> list[str]:
    return [e.kind for e in onestop.queries.events("system", code)]


def _item(onestop: OneStop, code: str, element: str) -> int:
    return next(i.id for i in onestop.queries.case("system", code).open_items if i.element_id == element)


def test_a_receipt_after_the_cut_off_counts_from_the_next_working_day_over_songkran(onestop: OneStop) -> None:
    # Friday 10 April 2026, 15:30 in Bangkok: after the procedure's 15:00 cut-off. The next
    # working day is Thursday 16 April (weekend, then Songkran 13-15 April); 5 working days
    # on: Fri 17, Mon 20, Tue 21, Wed 22, Thu 23 April.
    case = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 10, 15, 30))
    assert case.appointment_date == case.due_date == date(2026, 4, 23)
    assert case.due_at == datetime(2026, 4, 23, 17, 0, tzinfo=UTC)  # midnight ending the 23rd in Bangkok
    history = onestop.cases.clock_history("clerk1", case.dossier_code)
    assert [(h.kind, h.due_date) for h in history] == [("deadline_set", date(2026, 4, 23))]
    # Half an hour earlier the day itself counts: Thu 16, Fri 17, Mon 20, Tue 21, Wed 22.
    earlier = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 10, 14, 30))
    assert earlier.appointment_date == date(2026, 4, 22)
    # The register step (1 working day, closing time 16:30 as its cut-off) is due at the end of
    # the next working day after Friday: Thursday 16 April.
    item = earlier.open_items[0]
    assert item.due_at == datetime(2026, 4, 16, 17, 0, tzinfo=UTC)


def test_waiting_for_the_applicant_stops_the_clock_and_moves_the_deadline_on(onestop: OneStop) -> None:
    code = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 10, 15, 30)).dossier_code
    case = onestop.cases.complete("clerk1", _item(onestop, code, "register"), bkk(4, 20), {})
    assert case.paused_since == bkk(4, 20)
    assert case.timeliness_at(bkk(5, 30)) == "no_deadline"  # a stopped clock is never late
    # Resumed on Wednesday 22 April: the pause covered Tue 21 and Wed 22, two working days, so
    # Thursday 23 April becomes Fri 24, Mon 27.
    case = onestop.cases.deliver_message("clerk1", code, "documents_supplied", bkk(4, 22, 9))
    assert case.paused_since is None
    assert (case.appointment_date, case.due_date) == (date(2026, 4, 23), date(2026, 4, 27))
    kinds = _kinds(onestop, code)
    assert kinds.count("clock_paused") == 1 and kinds.count("clock_resumed") == 1
    resumed = onestop.cases.clock_history("clerk1", code)[-1]
    assert (resumed.kind, resumed.days, resumed.previous_due_date) == ("clock_resumed", 2, date(2026, 4, 23))
    assert onestop.verify(code).ok


def test_a_step_deadline_timer_fires_after_its_working_days_and_not_a_second_before(onestop: OneStop) -> None:
    code = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 10, 14)).dossier_code
    onestop.cases.complete("clerk1", _item(onestop, code, "register"), bkk(4, 20), {})
    onestop.cases.deliver_message("clerk1", code, "documents_supplied", bkk(4, 22, 9))
    # review is allowed 2 working days from Wednesday 22 April 09:00: Thu 23, Fri 24; its
    # boundary timer deadline("review") is the end of Friday 24 April in Bangkok.
    timer_set = [e for e in onestop.queries.events("system", code) if e.kind == "timer_set"]
    assert [e.element_id for e in timer_set] == ["review_overdue"]
    end_of_friday = datetime(2026, 4, 24, 17, 0, tzinfo=UTC)
    assert onestop.cases.fire_due_timers("system", end_of_friday) == []
    assert onestop.queries.case("system", code).status == "running"
    fired = onestop.cases.fire_due_timers("system", end_of_friday + timedelta(seconds=1))
    assert [(f.dossier_code, f.refs, f.error) for f in fired] == [(code, ("review_overdue#1",), None)]
    case = onestop.queries.case("system", code)
    assert (case.status, case.outcome) == ("completed", "Escalated")
    assert onestop.verify(code).ok


def test_a_working_days_timer_skips_the_weekend_and_the_case_is_classified_on_its_deadline(
    onestop: OneStop,
) -> None:
    code = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 17, 9)).dossier_code
    # Friday 17 April 09:00, 5 working days: Mon 20 ... Fri 24.
    assert onestop.queries.case("system", code).due_date == date(2026, 4, 24)
    onestop.cases.complete("clerk1", _item(onestop, code, "register"), bkk(4, 17, 10), {})
    onestop.cases.deliver_message("clerk1", code, "documents_supplied", bkk(4, 17, 11))  # same day: no days
    onestop.cases.complete("clerk1", _item(onestop, code, "review"), bkk(4, 20, 9), {})
    # working_days(2) from Monday 20 April 09:00: Tue 21, Wed 22 -> fires after the end of Wed 22.
    assert onestop.cases.fire_due_timers("system", datetime(2026, 4, 22, 16, 59, tzinfo=UTC)) == []
    onestop.cases.fire_due_timers("system", datetime(2026, 4, 22, 17, 0, 1, tzinfo=UTC))
    case = onestop.queries.case("system", code)
    assert (case.status, case.due_date) == ("completed", date(2026, 4, 24))
    assert case.outcome_timeliness == "early"  # closed on the 23rd (Bangkok), due the 24th


def test_an_extension_needs_an_approver_a_reason_and_a_working_day_and_tells_the_applicant(
    onestop: OneStop,
) -> None:
    code = onestop.cases.start_case(
        "clerk1",
        "sla_clock",
        "TH.50.01",
        bkk(4, 17, 9),
        {"applicant_name": "Ana", "email": "ana@example.org"},
    ).dossier_code
    with pytest.raises(PermissionDenied):
        onestop.cases.extend_deadline("clerk1", code, date(2026, 4, 30), "busy", bkk(4, 20))
    with pytest.raises(InputRejected, match="needs a reason"):
        onestop.cases.extend_deadline("prasert", code, date(2026, 4, 30), "  ", bkk(4, 20))
    with pytest.raises(InputRejected, match=r"2026-05-04 is a public holiday \(Coronation Day"):
        onestop.cases.extend_deadline("prasert", code, date(2026, 5, 4), "site survey", bkk(4, 20))
    with pytest.raises(InputRejected, match="must be after the current deadline 2026-04-24"):
        onestop.cases.extend_deadline("prasert", code, date(2026, 4, 23), "site survey", bkk(4, 20))
    case = onestop.cases.extend_deadline(
        "prasert", code, date(2026, 5, 5), "a second site survey", bkk(4, 20), apology_ref="CM-0412/2569"
    )
    assert (case.appointment_date, case.due_date) == (date(2026, 4, 24), date(2026, 5, 5))
    assert case.timeliness_at(bkk(4, 27)) == "not_yet_due"
    with pytest.raises(InputRejected, match="allows 1 extension"):
        onestop.cases.extend_deadline("prasert", code, date(2026, 5, 8), "again", bkk(4, 21))
    extended = onestop.cases.clock_history("clerk1", code)[-1]
    assert (extended.kind, extended.previous_due_date, extended.apology_ref) == (
        "deadline_extended",
        date(2026, 4, 24),
        "CM-0412/2569",
    )
    [message] = onestop.outbox.messages(dossier_code=code)
    assert message.topic == "notice.extension"
    assert message.payload["recipients"][0]["address"] == "ana@example.org"
    assert "CM-0412/2569" in message.payload["body"] and "2026-05-05" in message.payload["body"]
    assert onestop.verify(code).ok


def test_staff_stop_and_restart_the_clock_with_a_reason(onestop: OneStop) -> None:
    code = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 17, 9)).dossier_code
    with pytest.raises(InputRejected, match="say why"):
        onestop.cases.pause_clock("prasert", code, "", bkk(4, 20))
    with pytest.raises(InputRejected, match="is running"):
        onestop.cases.resume_clock("prasert", code, bkk(4, 20))
    onestop.cases.pause_clock("prasert", code, "waiting for the land office", bkk(4, 20))
    with pytest.raises(InputRejected, match="already stopped"):
        onestop.cases.pause_clock("prasert", code, "again", bkk(4, 21))
    # Completing a step does not restart a clock staff stopped.
    onestop.cases.complete("clerk1", _item(onestop, code, "register"), bkk(4, 21), {})
    assert onestop.queries.case("system", code).paused_since == bkk(4, 20)
    case = onestop.cases.resume_clock("prasert", code, bkk(4, 23))
    # Stopped Monday 20, restarted Thursday 23: Tue 21, Wed 22, Thu 23 -> Fri 24 + 3 = Wed 29.
    assert case.due_date == date(2026, 4, 29)


def test_history_replays_on_the_calendar_it_was_recorded_with_after_holidays_change(onestop: OneStop) -> None:
    code = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 17, 9)).dossier_code
    onestop.cases.complete("clerk1", _item(onestop, code, "register"), bkk(4, 17, 10), {})
    onestop.cases.deliver_message("clerk1", code, "documents_supplied", bkk(4, 20, 9))
    data = onestop.calendars.content("TH")
    assert data is not None
    added = {"date": "2026-04-21", "name": {"en": "Special holiday"}}
    edited = data.model_dump(mode="json")
    edited["holidays"] = [*edited["holidays"], added]
    revision = onestop.calendars.save("admin", edited, "Cabinet resolution of 14 April 2026", bkk(4, 20, 12))
    assert onestop.verify(code).ok  # the review timer was set on the old revision and replays so
    newer = onestop.cases.start_case("clerk1", "sla_clock", "TH.50.01", bkk(4, 20, 13))
    # From Monday 20 April: Wed 22, Thu 23, Fri 24, Mon 27, Tue 28 (Tuesday 21 is now a holiday).
    assert newer.due_date == date(2026, 4, 28)
    assert onestop.calendars.history("TH")[0].id == revision.id
    with pytest.raises(PermissionDenied):
        onestop.calendars.save("prasert", edited, "mine", bkk(4, 20, 14))
    with pytest.raises(InputRejected, match="unchanged"):
        onestop.calendars.save("admin", edited, "again", bkk(4, 20, 14))
    broken = {**edited, "working_hours": {"start": "17:00", "end": "08:30"}}
    with pytest.raises(InputRejected, match="working_hours"):
        onestop.calendars.save("admin", broken, "typo", bkk(4, 20, 14))
