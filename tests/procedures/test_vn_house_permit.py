"""Every path of the Vietnamese construction permit for an individual house (ward VN.01.001),
its registry lookup, its forms, its deadlines and its coverage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from designer.validation import validate_path
from engine import OneStop
from engine.errors import CaseClosed, FormInvalid, InputRejected, MessageNotExpected, PermissionDenied
from runtime.cli import main as cli_main
from tests.conftest import PROCEDURES, T0
from tests.procedures import vn_house_permit_paths as paths
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.library import published

PACKAGE = PROCEDURES / paths.CODE


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units, users and calendars with this procedure published (SQLite and PostgreSQL)."""
    yield from published(database_url, PACKAGE)


@pytest.fixture
def driver(onestop: OneStop) -> CaseDriver:
    return CaseDriver(onestop, T0, reload_each_step=True)


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


def data_of(onestop: OneStop, d: CaseDriver) -> dict:
    return onestop.queries.case_data("hoa", d.code, "test", d.now).data


def closed_as(d: CaseDriver, outcome: str) -> None:
    case = d.case()
    assert (case.status, case.outcome) == ("completed", outcome)
    assert case.open_items == ()


# -- paths ---------------------------------------------------------------------------------


def test_known_applicant_is_inspected_appraised_granted_paid_and_returned(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.start(driver)
    assert driver.open_elements() == ["check_completeness"]  # the registry knew the applicant
    driver.complete("check_completeness", paths.COMPLETE)
    assert driver.open_elements() == ["site_inspection"]
    paths.inspect_and_appraise(driver)
    assert [i.role for i in driver.case().open_items] == ["approver"]
    driver.complete("decide_permit", paths.APPROVE)
    assert driver.open_elements() == ["record_payment"]
    paths.pay_and_return(driver)
    closed_as(driver, "Permit issued")
    data = data_of(onestop, driver)
    answer = data["lookup_applicant"]
    assert (answer["found"], answer["applicant_name"]) == (True, "Nguyễn Văn An")
    assert answer["state_sourced"] == ["address", "applicant_name", "birth_date", "sex"]
    assert (data["amount_paid"], data["permit_no"]) == (75000, "15/GPXD-UBND")
    assert "service_called" in driver.kinds()
    assert driver.case().outcome_timeliness in ("early", "on_time")
    assert_verifies(onestop)


def test_unknown_applicant_is_entered_by_hand_then_refused_with_reasons(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.start(driver, national_id=paths.UNKNOWN_ID)
    assert driver.open_elements() == ["enter_applicant_data"]
    driver.complete("enter_applicant_data", paths.BY_HAND)
    driver.complete("check_completeness", paths.COMPLETE)
    paths.inspect_and_appraise(driver, paths.REVIEW_BAD)
    with pytest.raises(FormInvalid) as refused:
        driver.complete("decide_permit", {"decision": "refuse"})
    assert [e.field for e in refused.value.errors] == ["reasons"]
    driver.complete("decide_permit", paths.REFUSE)
    assert driver.open_elements() == ["notify_refusal"]
    driver.complete("notify_refusal", paths.REFUSAL)
    closed_as(driver, "Permit refused")
    data = data_of(onestop, driver)
    assert data["applicant_name"] == "Phạm Thị Dung"
    assert data["lookup_applicant"]["found"] is False and "amount_paid" not in data
    assert_verifies(onestop)


def test_supplied_documents_restart_the_clock_and_continue(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.INCOMPLETE)
    driver.complete("request_supplement", paths.NOTICE)
    case = driver.case()
    assert case.open_items == () and case.paused_since is not None
    assert "waiting for documents_supplied" in case.current_step
    with pytest.raises(MessageNotExpected, match="documents_supplied"):
        onestop.cases.deliver_message("linh", driver.code, "plans_amended", driver.now, {})
    # Received Monday 2 March: due Monday 23 March. Supplied a week later (Monday 9 March,
    # 5 working days paused: 3-6 and 9 March): due 5 working days later, Monday 30 March.
    assert case.due_date == date(2026, 3, 23)
    driver.now = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    driver.deliver("documents_supplied", paths.SUPPLIED)
    case = driver.case()
    assert case.paused_since is None and case.due_date == date(2026, 3, 30)
    assert case.appointment_date == date(2026, 3, 23)  # the promise at receipt is kept
    driver.complete("check_supplement", {"supplement_complete": True, "notes": "Đủ."})
    paths.inspect_and_appraise(driver)
    driver.complete("decide_permit", paths.APPROVE)
    paths.pay_and_return(driver)
    closed_as(driver, "Permit issued")
    assert data_of(onestop, driver)["documents_supplied"]["items"] == paths.MISSING
    assert_verifies(onestop)


def test_insufficient_supplement_returns_the_dossier(driver: CaseDriver, onestop: OneStop) -> None:
    paths.supplement_insufficient(driver)
    closed_as(driver, "Dossier returned (supplement insufficient)")
    assert_verifies(onestop)


def test_unanswered_request_returns_the_dossier_after_20_working_days(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.INCOMPLETE)
    driver.complete("request_supplement", paths.NOTICE)
    # Requested Monday 2 March 09:45 Hanoi: the 20th working day after it is Monday 30 March;
    # the wait ends at midnight, 17:00 UTC.
    driver.now = datetime(2026, 3, 30, 16, 55, tzinfo=UTC)
    assert driver.wait() == []
    assert driver.case().status == "running"
    assert driver.wait(minutes=10) == ["gw_await_supplement#1"]  # the event-based wait ends
    closed_as(driver, "Dossier returned (no supplement)")
    with pytest.raises(CaseClosed):
        onestop.cases.deliver_message("linh", driver.code, "documents_supplied", driver.now, {})
    assert_verifies(onestop)


def test_overdue_appraisal_goes_to_the_chairwoman_and_back(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.COMPLETE)
    driver.complete("site_inspection", paths.SITE)
    # The appraisal became ready Monday 2 March 09:50 Hanoi; its 7 working days end with
    # Wednesday 11 March (midnight Hanoi = 17:00 UTC).
    driver.now = datetime(2026, 3, 11, 16, 55, tzinfo=UTC)
    assert driver.wait() == []
    assert driver.open_elements() == ["review_dossier"]
    assert driver.wait(minutes=10) == ["timer_review_overdue#1"]
    assert driver.open_elements() == ["expedite_review"]
    assert driver.item("expedite_review").role == "approver"
    assert "timer_review_overdue" in {
        e.element_id for e in onestop.queries.events("system", driver.code) if e.kind == "timer_fired"
    }
    driver.complete("expedite_review", {"direction": "Hoàn thành trong 2 ngày.", "extension_needed": False})
    assert driver.open_elements() == ["review_dossier"]
    driver.complete("review_dossier", paths.REVIEW_OK)
    driver.complete("decide_permit", paths.APPROVE)
    paths.pay_and_return(driver)
    closed_as(driver, "Permit issued")
    refs = [
        e.payload.get("ref") for e in onestop.queries.events("system", driver.code) if e.kind == "task_ready"
    ]
    assert "review_dossier#1" in refs and "review_dossier#2" in refs
    assert_verifies(onestop)


def test_the_deadline_may_be_extended_once_with_an_apology(driver: CaseDriver, onestop: OneStop) -> None:
    paths.in_appraisal(driver)
    assert driver.case().due_date == date(2026, 3, 23)
    with pytest.raises(PermissionDenied):  # the specialist may not extend: approvers do
        onestop.cases.extend_deadline("minh", driver.code, date(2026, 4, 2), "Cần xin ý kiến.", driver.now)
    # At most 10 days after the limit: Thursday 2 April is the 8th working day after 23 March.
    case = onestop.cases.extend_deadline(
        "hoa",
        driver.code,
        date(2026, 4, 2),
        "Cần lấy ý kiến cơ quan quản lý quy hoạch.",
        driver.now,
        apology_ref="BD-XL-2026-0003",
    )
    assert (case.appointment_date, case.due_date) == (date(2026, 3, 23), date(2026, 4, 2))
    [notice] = onestop.outbox.messages(dossier_code=driver.code)
    assert notice.topic == "notice.extension"
    assert "BD-XL-2026-0003" in notice.payload["body"] and "Xin lỗi" in notice.payload["body"]
    with pytest.raises(InputRejected, match="1 extension"):
        onestop.cases.extend_deadline("hoa", driver.code, date(2026, 4, 3), "Lần hai.", driver.now)
    assert_verifies(onestop)


def test_the_fee_is_the_fixed_amount(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.COMPLETE)
    paths.inspect_and_appraise(driver)
    driver.complete("decide_permit", paths.APPROVE)
    with pytest.raises(FormInvalid) as refused:
        driver.complete("record_payment", {**paths.PAY, "amount_paid": 50000})
    assert [e.field for e in refused.value.errors] == ["amount_paid"]
    assert driver.open_elements() == ["record_payment"]


def test_the_specialist_sees_the_plot_not_the_person(driver: CaseDriver, onestop: OneStop) -> None:
    paths.in_appraisal(driver)
    seen = onestop.queries.case_data("minh", driver.code, "appraisal", driver.now)
    assert {"lookup_applicant", "national_id", "phone"} <= set(seen.masked_fields)
    assert seen.data["plot_address"] == paths.APPLICATION["plot_address"]
    assert seen.data["lookup_applicant"] != data_of(onestop, driver)["lookup_applicant"]
    chairwoman = onestop.queries.case_data("hoa", driver.code, "decision", driver.now)
    assert chairwoman.masked_fields == ()


def test_withdrawn_case_keeps_its_code_and_closes_its_work(driver: CaseDriver, onestop: OneStop) -> None:
    paths.withdrawn(driver)
    case = driver.case()
    assert case.status == "cancelled" and case.open_items == ()
    assert onestop.queries.work_for("minh") == []
    assert_verifies(onestop)


# -- registry prefill, forms, appointment dates -------------------------------------------


def test_the_registry_fills_the_completeness_check(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver)
    item = driver.item("check_completeness")
    task = onestop.tasks.task("linh", item.id, driver.now)
    assert task.prefill == {
        "applicant_name": "Nguyễn Văn An",
        "birth_date": "1990-03-12",
        "applicant_address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
    }
    props = task.form_schema["properties"]
    assert props["applicant_name"]["readOnly"] is True
    assert props["applicant_name"]["x-source"] == "population_registry"


def test_an_unknown_citizen_id_leaves_the_fields_to_staff(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver, national_id=paths.UNKNOWN_ID)
    item = driver.item("enter_applicant_data")
    task = onestop.tasks.task("linh", item.id, driver.now)
    assert task.prefill == {}
    answer = data_of(onestop, driver)["lookup_applicant"]
    assert answer == {
        "found": False,
        "id_number": paths.UNKNOWN_ID,
        "problem": "the registry has no person with this number",
    }
    driver.complete("enter_applicant_data", paths.BY_HAND)
    task = onestop.tasks.task("linh", driver.item("check_completeness").id, driver.now)
    assert task.prefill == paths.BY_HAND  # what staff entered is shown, read-only, for the check


@pytest.mark.parametrize(
    ("element", "bad", "field"),
    [
        ("receive_application", {"national_id": "1101700230074"}, "national_id"),  # a Thai ID
        ("receive_application", {"national_id": "999090012345"}, "national_id"),  # no province 999
        ("receive_application", {"national_id": "00109001234"}, "national_id"),  # 11 digits
        ("site_inspection", {"inspected_on": "2026-02-30"}, "inspected_on"),
        ("record_payment", {"paid_on": "20/03/2026"}, "paid_on"),
    ],
)
def test_invalid_ids_and_dates_are_refused_and_change_nothing(
    onestop: OneStop, element: str, bad: dict, field: str
) -> None:
    d = CaseDriver(onestop, T0, reload_each_step=False)
    valid = {
        "receive_application": paths.APPLICATION,
        "site_inspection": paths.SITE,
        "record_payment": paths.PAY,
    }
    d.start(paths.CODE, unit=paths.WARD)
    if element != "receive_application":
        d.complete("receive_application", paths.APPLICATION)
        d.complete("check_completeness", paths.COMPLETE)
    if element == "record_payment":
        paths.inspect_and_appraise(d)
        d.complete("decide_permit", paths.APPROVE)
    before = d.case()
    item = d.item(element)
    with pytest.raises(FormInvalid) as refused:
        onestop.cases.complete(_actor(item.role), item.id, d.now, {**valid[element], **bad})
    assert {e.field for e in refused.value.errors} == {field}
    after = d.case()
    assert (after.version, after.open_items) == (before.version, before.open_items)


def _actor(role: str) -> str:
    return {"intake_officer": "linh", "specialist": "minh", "approver": "hoa"}[role]


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Monday 2 March 2026 09:30 Hanoi: counting starts that day; 15 working days later
        # (3-6, 9-13, 16-20, 23 March) is Monday 23 March.
        (T0, date(2026, 3, 23)),
        # Friday 13 February 2026 17:30 Hanoi, after closing on the last working day before
        # Tết (14-22 February off): counting starts Monday 23 February; 15 working days
        # (24-27 Feb: 4, 2-6 Mar: 9, 9-13 Mar: 14, 16 Mar: 15) end Monday 16 March.
        (datetime(2026, 2, 13, 10, 30, tzinfo=UTC), date(2026, 3, 16)),
        # Monday 20 April 2026 10:00 Hanoi: 21-24 April (4), Monday 27 April off for the Hùng
        # Kings, 28-29 April (6), 30 April and 1 May off, 4-8 May (11), 11-14 May (15):
        # Thursday 14 May.
        (datetime(2026, 4, 20, 3, 0, tzinfo=UTC), date(2026, 5, 14)),
    ],
    ids=["ordinary-monday", "friday-evening-before-tet", "hung-kings-and-30-april"],
)
def test_appointment_date_counts_vietnamese_working_days(
    onestop: OneStop, received: datetime, due: date
) -> None:
    d = CaseDriver(onestop, received, reload_each_step=False)
    case = d.start(paths.CODE, unit=paths.WARD)
    assert (case.appointment_date, case.due_date) == (due, due)


# -- the package and every path together --------------------------------------------------


def test_the_package_validates_with_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_path(PACKAGE) == []
    cli_main(["procedures", "validate", str(PACKAGE)])
    assert "0 error(s), 0 warning(s), 0 note(s)" in capsys.readouterr().out


def test_every_path_covers_every_branch_and_end(onestop: OneStop) -> None:
    codes = [paths.drive(onestop, path) for path in paths.EVERY_PATH]
    report = gateway_coverage(
        (PACKAGE / "process.bpmn").read_bytes(), [onestop.queries.events("system", code) for code in codes]
    )
    assert_full_coverage(report, paths.CODE)
    assert_verifies(onestop)
