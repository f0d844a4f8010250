"""Every path of the Vietnamese first-time complaint resolution (Law on Complaints 2011,
arts. 10, 27-31): intake with one supplement request, acceptance within 10 days, then
verification, dialogue and decision within 30 (45) days of acceptance, with the
complainant's withdrawal possible at any moment of the handling and an escalation to the
director when the resolution time limit runs out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from designer.packages import read_package
from designer.validation import validate_package
from engine import OneStop
from engine.errors import FormInvalid, InputRejected, MessageNotExpected, PermissionDenied
from tests.conftest import PROCEDURES, T0
from tests.procedures import vn_complaint_paths as paths
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.library import published

PACKAGE = PROCEDURES / paths.CODE
#: working_days(n) ends at local midnight after the n-th working day: 17:00 UTC in Hanoi.
END_OF_13_APRIL = datetime(2026, 4, 13, 17, 0, tzinfo=UTC)


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units and users, with this procedure published (replaces conftest's fixture)."""
    yield from published(database_url, PACKAGE)


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(onestop: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    return CaseDriver(onestop, T0, reload_each_step=request.param)


@pytest.fixture
def hot(onestop: OneStop) -> CaseDriver:
    """A driver that keeps the workflow cached (for the tests that only move the clock)."""
    return CaseDriver(onestop, T0, reload_each_step=False)


def data_of(onestop: OneStop, d: CaseDriver, reader: str = "system") -> dict[str, Any]:
    return onestop.queries.case_data(reader, d.code, "test", d.now).data


def events_of(onestop: OneStop, d: CaseDriver, kind: str) -> list[Any]:
    return [e for e in onestop.queries.events("system", d.code) if e.kind == kind]


def timer_due(onestop: OneStop, d: CaseDriver) -> str:
    [timer] = [e for e in events_of(onestop, d, "timer_set") if e.element_id == "timer_resolution_overdue"]
    return str(timer.payload["due_at"])


def outcome(d: CaseDriver) -> tuple[str, str | None]:
    case = d.case()
    return case.status, case.outcome


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


# -- the package ---------------------------------------------------------------------------


def test_the_package_validates_without_findings() -> None:
    assert validate_package(read_package(PACKAGE)) == []


# -- the main paths ------------------------------------------------------------------------


def test_a_well_founded_complaint_is_upheld_without_dialogue(driver: CaseDriver, onestop: OneStop) -> None:
    paths.upheld_without_dialogue(driver)
    assert outcome(driver) == ("completed", "Complaint upheld")
    data = data_of(onestop, driver)
    assert data["result"] == "upheld" and data["remedies"]
    assert data["lookup_complainant"]["found"] is True
    # Copied from the registry; personal data shown to the desk, masked for the auditor.
    desk = data_of(onestop, driver, "nam")
    assert {name: desk[name] for name in paths.AN} == paths.AN
    audit = data_of(onestop, driver, "lan")
    assert audit["complainant_name"] != paths.AN["complainant_name"] and audit["result"] == "upheld"
    ready = {e.element_id for e in events_of(onestop, driver, "task_ready")}
    assert "hold_dialogue" not in ready and "record_complainant" not in ready
    # Accepted on Monday 2 March, an ordinary case: 30 working days, to the end of 13 April.
    assert timer_due(onestop, driver) == END_OF_13_APRIL.isoformat()
    # The decision closed the handling: its deadline timer went with it.
    assert "timer_resolution_overdue" in {e.element_id for e in events_of(onestop, driver, "task_cancelled")}
    assert driver.case().outcome_timeliness in ("early", "on_time")
    assert_verifies(onestop)


def test_a_partly_founded_complaint_goes_through_dialogue(hot: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(hot)
    hot.complete("verify_complaint", paths.verification("partly_founded"))
    assert hot.open_elements() == ["hold_dialogue"]
    with pytest.raises(FormInvalid) as refused:
        hot.complete("hold_dialogue", {})
    assert {e.field for e in refused.value.errors} >= {"dialogue_on", "participants"}
    hot.complete("hold_dialogue", paths.DIALOGUE)
    with pytest.raises(FormInvalid) as no_remedies:
        hot.complete("decide_complaint", {**paths.decision("partly_upheld"), "remedies": []})
    assert [e.field for e in no_remedies.value.errors] == ["remedies"]
    paths.decide_and_send(hot, "partly_upheld")
    assert outcome(hot) == ("completed", "Complaint partly upheld")
    assert_verifies(onestop)


def test_an_unfounded_complaint_is_rejected_after_dialogue(hot: CaseDriver, onestop: OneStop) -> None:
    paths.rejected_after_dialogue(hot)
    assert outcome(hot) == ("completed", "Complaint rejected")
    assert data_of(onestop, hot)["dialogue_minutes_ref"] == "BB-DT-2026-0004"
    assert_verifies(onestop)


def test_supplied_documents_continue_with_the_clock_stopped_meanwhile(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.start(driver)
    paths.request_supplement(driver)
    assert driver.open_elements() == []
    assert "waiting for documents_supplied" in driver.case().current_step
    with pytest.raises(MessageNotExpected, match="documents_supplied"):
        onestop.cases.deliver_message("nam", driver.code, "complaint_withdrawn", driver.now, {})
    driver.wait(days=7)  # Monday 9 March
    paths.supply(driver, paths.SUPPLIED)
    # The clock stood still from Monday 2 to Monday 9 March: 5 working days (3-6 and 9
    # March). The deadline of Tuesday 28 April moves on by 5 working days, skipping the
    # 30 April and 1 May holidays: 29 April, 4, 5, 6, 7 May.
    case = driver.case()
    assert (case.appointment_date, case.due_date) == (date(2026, 4, 28), date(2026, 5, 7))
    driver.complete("check_supplement", {"supplement_complete": True})
    driver.complete("decide_acceptance", paths.ACCEPT_COMPLICATED)
    assert driver.open_elements() == ["notify_acceptance"]
    assert data_of(onestop, driver)["documents_supplied"] == paths.SUPPLIED
    driver.complete("notify_acceptance", paths.ACCEPTANCE_NOTICE)
    driver.complete("verify_complaint", paths.verification("partly_founded"))
    driver.complete("hold_dialogue", paths.DIALOGUE)
    paths.decide_and_send(driver, "partly_upheld")
    assert outcome(driver) == ("completed", "Complaint partly upheld")
    assert_verifies(onestop)


def test_an_unanswered_supplement_request_returns_the_complaint(hot: CaseDriver, onestop: OneStop) -> None:
    paths.start(hot)
    paths.request_supplement(hot)
    assert hot.wait(days=14) == []
    assert hot.case().status == "running"
    assert hot.wait(days=1, minutes=1) != []
    assert outcome(hot) == ("completed", "Complaint returned (no supplement)")
    assert_verifies(onestop)


def test_an_insufficient_supplement_returns_the_complaint(hot: CaseDriver, onestop: OneStop) -> None:
    paths.returned_insufficient(hot)
    assert outcome(hot) == ("completed", "Complaint returned (supplement insufficient)")
    assert hot.case().open_items == ()
    assert_verifies(onestop)


def test_a_complaint_not_accepted_is_notified_with_reasons(hot: CaseDriver, onestop: OneStop) -> None:
    paths.start(hot)
    hot.complete("check_completeness", paths.COMPLETE)
    with pytest.raises(FormInvalid) as refused:
        hot.complete("decide_acceptance", {"acceptance": "reject"})
    assert {e.field for e in refused.value.errors} == {"non_acceptance_ground", "reasons"}
    with pytest.raises(FormInvalid) as unclassified:
        hot.complete("decide_acceptance", {"acceptance": "accept"})
    assert {e.field for e in unclassified.value.errors} == {"complexity", "remote_area"}
    hot.complete("decide_acceptance", paths.REJECT)
    assert hot.item("notify_non_acceptance").role == "intake_officer"
    hot.complete("notify_non_acceptance", paths.NON_ACCEPTANCE_NOTICE)
    assert outcome(hot) == ("completed", "Complaint not accepted")
    assert data_of(onestop, hot)["non_acceptance_ground"] == "time_limit_expired"
    assert_verifies(onestop)


def test_a_complaint_withdrawn_before_acceptance_is_cancelled(hot: CaseDriver, onestop: OneStop) -> None:
    paths.withdrawn_before_acceptance(hot)
    case = hot.case()
    assert (case.status, case.open_items) == ("cancelled", ())
    assert onestop.queries.work_for("thu") == []
    assert_verifies(onestop)


# -- withdrawal (art. 10) at two moments of the handling -----------------------------------


def test_withdrawal_during_verification_suspends_the_resolution(driver: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(driver)
    assert driver.open_elements() == ["verify_complaint"]
    # Waiting for a possible withdrawal does not stop the resolution clock.
    assert driver.case().paused_since is None
    # The desk records the withdrawal letter; the inspector cannot.
    with pytest.raises(PermissionDenied):
        onestop.cases.deliver_message("thu", driver.code, "complaint_withdrawn", driver.now, paths.WITHDRAWAL)
    driver.deliver("complaint_withdrawn", paths.WITHDRAWAL)
    assert driver.open_elements() == ["suspend_resolution"]
    assert driver.item("suspend_resolution").role == "approver"
    cancelled = {e.element_id for e in events_of(onestop, driver, "task_cancelled")}
    assert {"verify_complaint", "timer_resolution_overdue"} <= cancelled
    assert onestop.queries.work_for("thu") == []
    driver.complete("suspend_resolution", paths.SUSPEND)
    assert outcome(driver) == ("completed", "Complaint withdrawn")
    assert data_of(onestop, driver)["complaint_withdrawn"] == paths.WITHDRAWAL
    assert_verifies(onestop)


def test_withdrawal_during_dialogue_suspends_the_resolution(driver: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(driver)
    driver.complete("verify_complaint", paths.verification("unfounded"))
    assert driver.open_elements() == ["hold_dialogue"]
    driver.wait(days=2)
    driver.deliver("complaint_withdrawn", paths.WITHDRAWAL)
    assert driver.open_elements() == ["suspend_resolution"]
    assert "hold_dialogue" in {e.element_id for e in events_of(onestop, driver, "task_cancelled")}
    driver.complete("suspend_resolution", paths.SUSPEND)
    assert outcome(driver) == ("completed", "Complaint withdrawn")
    assert driver.wait(days=60) == []  # the resolution timer went with the handling
    assert_verifies(onestop)


def test_no_withdrawal_once_the_decision_is_issued(hot: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(hot)
    hot.complete("verify_complaint", paths.verification("well_founded"))
    hot.complete("decide_complaint", paths.decision("upheld"))
    with pytest.raises(MessageNotExpected):
        hot.deliver("complaint_withdrawn", paths.WITHDRAWAL)
    hot.complete("send_decision", paths.SEND)
    assert outcome(hot) == ("completed", "Complaint upheld")


# -- the resolution time limit (art. 28) ---------------------------------------------------


def test_an_overdue_resolution_escalates_to_the_director(hot: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(hot)
    # Accepted Monday 2 March: 30 working days are 3 March ... 13 April (no holiday between).
    hot.now = END_OF_13_APRIL - timedelta(minutes=10)
    assert hot.wait() == []
    assert hot.wait(minutes=10) == ["timer_resolution_overdue#1"]
    # Non-interrupting: the inspector keeps verifying while the director is told.
    assert hot.open_elements() == ["direct_overdue_resolution", "verify_complaint"]
    item = hot.item("direct_overdue_resolution")
    assert (item.role, [w.element_id for w in onestop.queries.work_for("son")]) == (
        "approver",
        ["direct_overdue_resolution"],
    )
    hot.complete("direct_overdue_resolution", paths.DIRECTION)
    hot.complete("verify_complaint", paths.verification("well_founded"))
    paths.decide_and_send(hot, "upheld")
    assert outcome(hot) == ("completed", "Complaint upheld")
    assert "end_escalation_handled" in {e.element_id for e in events_of(onestop, hot, "event_reached")}
    assert_verifies(onestop)


def test_a_decision_issued_after_the_escalation_closes_the_directors_task(
    hot: CaseDriver, onestop: OneStop
) -> None:
    paths.accepted(hot)
    assert hot.wait(days=45) == ["timer_resolution_overdue#1"]
    hot.complete("verify_complaint", paths.verification("well_founded"))
    hot.complete("decide_complaint", paths.decision("upheld"))
    assert hot.open_elements() == ["direct_overdue_resolution", "send_decision"]
    hot.complete("send_decision", paths.SEND)
    # The result's end event terminates the case: the director's task is withdrawn and
    # the outcome is the decision, not the escalation.
    assert outcome(hot) == ("completed", "Complaint upheld")
    assert hot.case().open_items == ()
    assert "direct_overdue_resolution" in {e.element_id for e in events_of(onestop, hot, "task_cancelled")}
    assert_verifies(onestop)


#: Resolution limits counted from acceptance on Monday 2 March 2026, in working days.
ARTICLE_28 = {
    ("simple", False): END_OF_13_APRIL,  # 30: 3-31 March (21), 1-13 April (30)
    # 45: 14-17, 20-24, 28-29 April (27 April is the Hùng Kings' substitute day, 30 April
    # and 1 May are holidays), 4-7 May: Thursday 7 May.
    ("complicated", False): datetime(2026, 5, 7, 17, 0, tzinfo=UTC),
    ("simple", True): datetime(2026, 5, 7, 17, 0, tzinfo=UTC),  # remote area: 45
    # Remote area, complicated: 60 = 45 + 8, 11-15, 18-22, 25-28 May: Thursday 28 May.
    ("complicated", True): datetime(2026, 5, 28, 17, 0, tzinfo=UTC),
}


def test_the_resolution_limit_follows_article_28(onestop: OneStop) -> None:
    cases = {}
    for (complexity, remote_area), due in ARTICLE_28.items():
        d = CaseDriver(onestop, T0, reload_each_step=False)
        paths.accepted(d, {"acceptance": "accept", "complexity": complexity, "remote_area": remote_area})
        assert timer_due(onestop, d) == due.isoformat(), (complexity, remote_area)
        cases[d.code] = due
    for due in sorted(set(cases.values())):
        assert onestop.cases.fire_due_timers("system", due - timedelta(minutes=5)) == []
        fired = onestop.cases.fire_due_timers("system", due + timedelta(minutes=5))
        assert sorted(f.dossier_code for f in fired) == sorted(c for c, at in cases.items() if at == due)
        assert all(list(f.refs) == ["timer_resolution_overdue#1"] for f in fired)


def test_a_complicated_case_gets_one_extension_of_its_deadline(hot: CaseDriver, onestop: OneStop) -> None:
    paths.accepted(hot, paths.ACCEPT_COMPLICATED)
    # 10 + 45 = 55 working days from Monday 2 March: 40 end on Tuesday 28 April, then
    # 29 April, 4-8, 11-15, 18-21 May: Thursday 21 May.
    with pytest.raises(PermissionDenied):
        onestop.cases.extend_deadline("nam", hot.code, date(2026, 5, 21), "Vụ việc phức tạp", hot.now)
    onestop.cases.extend_deadline(
        "son", hot.code, date(2026, 5, 21), "Vụ việc phức tạp (Điều 28 Luật Khiếu nại)", hot.now
    )
    case = hot.case()
    assert (case.appointment_date, case.due_date) == (date(2026, 4, 28), date(2026, 5, 21))
    with pytest.raises(InputRejected):
        onestop.cases.extend_deadline("son", hot.code, date(2026, 5, 22), "Again", hot.now)


# -- forms, registry, appointment dates ----------------------------------------------------


INVALID = [
    ("national_id", "12345"),  # not 12 digits
    ("national_id", "999090012345"),  # no province 999
    ("date_known", "2026-02-30"),  # no such day
    ("date_known", "10/02/2026"),  # not ISO
]


def test_invalid_ids_and_dates_are_refused(hot: CaseDriver, onestop: OneStop) -> None:
    hot.start(paths.CODE, unit=paths.UNIT)
    before = hot.case()
    for field, value in INVALID:
        with pytest.raises(FormInvalid) as refused:
            hot.complete("receive_complaint", {**paths.COMPLAINT, field: value})
        assert {e.field for e in refused.value.errors} == {field}, value
    after = hot.case()
    assert (after.version, hot.open_elements()) == (before.version, ["receive_complaint"])
    assert events_of(onestop, hot, "task_completed") == []


def test_the_registry_answer_is_recorded_and_its_fields_are_read_only(
    hot: CaseDriver, onestop: OneStop
) -> None:
    paths.start(hot)
    assert data_of(onestop, hot)["lookup_complainant"]["applicant_name"] == "Nguyễn Văn An"
    task = onestop.tasks.task("nam", hot.item("check_completeness").id, hot.now)
    props = task.form_schema["properties"]
    for name in paths.AN:
        assert props[name]["readOnly"] is True
        assert props[name]["x-source"] == "population_registry"


def test_the_registry_fills_the_completeness_check(hot: CaseDriver, onestop: OneStop) -> None:
    paths.start(hot)
    task = onestop.tasks.task("nam", hot.item("check_completeness").id, hot.now)
    assert task.prefill == paths.AN
    assert "Nguyễn Văn An" in (task.instructions or "")


def test_an_unknown_citizen_id_leaves_the_identity_to_staff(hot: CaseDriver, onestop: OneStop) -> None:
    paths.start(hot, national_id=paths.UNKNOWN_ID)
    assert hot.open_elements() == ["record_complainant"]
    task = onestop.tasks.task("nam", hot.item("record_complainant").id, hot.now)
    assert task.prefill == {}
    assert data_of(onestop, hot)["lookup_complainant"]["found"] is False
    hot.complete("record_complainant", paths.BY_HAND)
    task = onestop.tasks.task("nam", hot.item("check_completeness").id, hot.now)
    assert task.prefill == paths.BY_HAND  # shown, read-only, for the check


def test_the_appointment_date_counts_40_working_days(onestop: OneStop) -> None:
    # Received Monday 2 March 2026 at 09:30, before closing: counting starts that day.
    # 40 working days (10 to accept + 30 to resolve): 3-31 March give 21, 1-24 April give
    # 18 more (39 on Friday 24 April); Monday 27 April is the substitute day for Hùng Kings'
    # day (Sunday 26 April), so the 40th is Tuesday 28 April.
    d = CaseDriver(onestop, T0, reload_each_step=False)
    case = d.start(paths.CODE, unit=paths.UNIT)
    assert case.appointment_date == date(2026, 4, 28)


def test_a_receipt_after_closing_before_the_holidays_counts_from_the_next_working_day(
    onestop: OneStop,
) -> None:
    # Friday 24 April 2026 at 17:30 in Hanoi, after closing (17:00): counting starts on the
    # next working day. Saturday 25 and Sunday 26 are the weekend, Monday 27 the substitute
    # day for Hùng Kings' day: it starts on Tuesday 28 April. Then 40 working days: 29 April
    # (1); 30 April and 1 May are holidays; 4-8 May (6), 11-15 (11), 18-22 (16), 25-29
    # (21), 1-5 June (26), 8-12 (31), 15-19 (36), 22-25 June (40): Thursday 25 June.
    received = datetime(2026, 4, 24, 10, 30, tzinfo=UTC)
    d = CaseDriver(onestop, received, reload_each_step=False)
    case = d.start(paths.CODE, unit=paths.UNIT)
    assert case.appointment_date == date(2026, 6, 25)


# -- every path on one database ------------------------------------------------------------


def test_every_path_covers_every_branch_and_end(onestop: OneStop) -> None:
    codes = [paths.drive(onestop, path) for path in paths.EVERY_PATH]
    assert len(set(codes)) == len(paths.EVERY_PATH)
    report = gateway_coverage(
        (PACKAGE / "process.bpmn").read_bytes(),
        [onestop.queries.events("system", code) for code in codes],
    )
    assert_full_coverage(report, paths.CODE)
    assert_verifies(onestop)
