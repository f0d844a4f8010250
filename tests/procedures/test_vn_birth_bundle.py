"""Vietnam's inter-connected bundle for a newborn (Decree 63/2024/ND-CP): birth registration by
the ward, permanent residence by the police and the health insurance card by social insurance,
in parallel, confirmed by the ward chairwoman; every path, persisted and reloaded between steps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from designer.validation import validate_path
from engine import OneStop
from engine.errors import CaseClosed, FormInvalid, MessageNotExpected
from tests.conftest import PROCEDURES, T0
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.library import published
from tests.procedures.vn_birth_bundle_paths import (
    BIRTH_OK,
    BIRTH_REFUSED,
    BRANCHES,
    CARD_OK,
    CHILD,
    CODE,
    COMPLETE,
    CONFIRM,
    CORRECTED,
    EVERY_PATH,
    HAND_ENTERED,
    INCOMPLETE,
    MISSING,
    RECEIVE,
    REFUSAL_NOTICE,
    REQUEST,
    RESIDENCE_OK,
    RESIDENCE_REFUSED,
    RESULTS,
    RETURN,
    SUPPLIED,
    UNKNOWN_PARENT,
    WARD,
    agencies,
    confirm_and_return,
    drive,
    intake,
)

PACKAGE = PROCEDURES / CODE


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units, users and calendars, with only the bundle published."""
    yield from published(database_url, PACKAGE)


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(onestop: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    d = CaseDriver(onestop, T0, reload_each_step=request.param)
    d.start(CODE, unit=WARD)
    return d


def data_of(onestop: OneStop, d: CaseDriver) -> dict:
    # Read as the ward chairwoman: personal data is masked for roles that do not need it.
    return onestop.queries.case_data("hoa", d.code, "test", d.now).data


def reached(onestop: OneStop, code: str, kind: str) -> list[str]:
    return [e.element_id for e in onestop.queries.events("system", code) if e.kind == kind and e.element_id]


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


def assert_outcome(d: CaseDriver, outcome: str) -> None:
    case = d.case()
    assert (case.status, case.outcome) == ("completed", outcome)
    assert case.open_items == ()


# -- the paths -------------------------------------------------------------------------------


def test_complete_bundle_returns_all_three_results(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("receive_application", RECEIVE)
    driver.complete("check_completeness", COMPLETE)
    # The split: one item per agency, each in its own lane.
    assert driver.open_elements() == BRANCHES
    roles = {item.element_id: item.role for item in driver.case().open_items}
    assert roles == {
        "register_birth": "specialist",
        "register_residence": "police_officer",
        "issue_health_card": "insurance_officer",
    }
    assert {i.element_id for i in onestop.queries.work_for("giang")} == {"register_residence"}
    assert {i.element_id for i in onestop.queries.work_for("hanh")} == {"issue_health_card"}
    agencies(driver)
    assert driver.open_elements() == ["confirm_bundle"]
    confirm_and_return(driver)
    assert_outcome(driver, "Bundle completed (all three results)")
    data = data_of(onestop, driver)
    # The join kept every agency's results and the registry's data about the father.
    assert (data["birth_decision"], data["child_personal_id"]) == ("registered", "001226001234")
    assert (data["residence_decision"], data["residence_household_head"]) == ("registered", "Nguyễn Văn An")
    assert (data["bhyt_decision"], data["bhyt_card_no"]) == ("issued", "TE1010123456789")
    assert data["lookup_parent"]["found"] is True  # the registry's answer, under the service task
    assert data["lookup_parent"]["applicant_name"] == "Nguyễn Văn An"
    assert data["applicant_name"] == "Nguyễn Văn An"  # copied from it by the script task
    # Auditors and the system see the personal data masked, the registry's answer included.
    masked = onestop.queries.case_data("system", driver.code, "test", driver.now).data
    assert "Nguyễn Văn An" not in str(masked) and "001226001234" not in str(masked)
    assert "service_called" in driver.kinds()
    assert driver.case().outcome_timeliness in ("early", "on_time")
    assert_verifies(onestop)


def test_unknown_parent_is_typed_in_and_a_refused_residence_still_registers_the_birth(
    driver: CaseDriver, onestop: OneStop
) -> None:
    driver.complete("receive_application", UNKNOWN_PARENT)
    assert driver.open_elements() == ["enter_parent_data"]
    driver.complete("enter_parent_data", HAND_ENTERED)
    driver.complete("check_completeness", COMPLETE)
    agencies(driver, residence=RESIDENCE_REFUSED)
    confirm_and_return(driver)
    assert_outcome(driver, "Birth registered; residence or card refused")
    data = data_of(onestop, driver)
    assert data["lookup_parent"]["found"] is False and "no person" in data["lookup_parent"]["problem"]
    assert (data["applicant_name"], data["birth_decision"]) == ("Phạm Thị Dung", "registered")
    assert data["residence_decision"] == "refused"
    assert_verifies(onestop)


def test_supplement_pauses_the_clock_and_the_bundle_goes_on(driver: CaseDriver, onestop: OneStop) -> None:
    intake(driver, INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    case = driver.case()
    assert driver.open_elements() == [] and case.paused_since is not None
    assert "waiting for documents_supplied" in case.current_step
    with pytest.raises(MessageNotExpected, match="documents_supplied"):
        onestop.cases.deliver_message("linh", driver.code, "plans_amended", driver.now, {})
    # Received Monday 2 March 09:30, before the 15:00 cut-off: 3 working days -> Thursday 5
    # March. The request went out on Monday, the answer comes on Wednesday 4 March: the pause
    # covers Tuesday and Wednesday, so the date moves 2 working days, to Monday 9 March.
    driver.now += timedelta(days=2)
    driver.deliver("documents_supplied", SUPPLIED)
    case = driver.case()
    assert (case.appointment_date, case.due_date) == (date(2026, 3, 5), date(2026, 3, 9))
    assert case.paused_since is None
    driver.complete("check_supplement", {"supplement_complete": True})
    agencies(driver)
    confirm_and_return(driver)
    assert_outcome(driver, "Bundle completed (all three results)")
    assert data_of(onestop, driver)["documents_supplied"]["items"] == MISSING
    assert_verifies(onestop)


def test_insufficient_supplement_returns_the_dossier(driver: CaseDriver, onestop: OneStop) -> None:
    intake(driver, INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    driver.deliver("documents_supplied", {"received_on": "2026-03-03", "items": MISSING[:1]})
    driver.complete("check_supplement", {"supplement_complete": False})
    assert_outcome(driver, "Dossier returned (supplement insufficient)")
    assert "register_birth" not in reached(onestop, driver.code, "task_ready")
    assert_verifies(onestop)


def test_unanswered_supplement_request_returns_the_dossier_after_5_working_days(
    driver: CaseDriver, onestop: OneStop
) -> None:
    intake(driver, INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    # Requested Monday 2 March ~09:45: 5 working days is Monday 9 March, ending at midnight.
    midnight = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # 00:00 on Tuesday 10 March in Hanoi
    driver.now = midnight - timedelta(minutes=1)
    assert driver.wait(seconds=1) == []
    assert driver.case().status == "running"
    driver.now = midnight
    assert driver.wait(seconds=1) == ["gw_await_supplement#1"]  # the event-based gateway's timer
    assert_outcome(driver, "Dossier returned (no supplement)")
    with pytest.raises(CaseClosed):
        onestop.cases.deliver_message("linh", driver.code, "documents_supplied", driver.now, SUPPLIED)
    assert_verifies(onestop)


def test_missing_birth_certificate_refuses_the_whole_bundle(driver: CaseDriver, onestop: OneStop) -> None:
    intake(driver)
    # Without the birth certificate the officer cannot register the birth.
    with pytest.raises(FormInvalid) as refused:
        driver.complete("register_birth", {**BIRTH_OK, "birth_certificate_present": False})
    assert [e.field for e in refused.value.errors] == ["birth_decision"]
    with pytest.raises(FormInvalid) as no_reason:
        driver.complete("register_birth", {"birth_certificate_present": False, "birth_decision": "refused"})
    assert [e.field for e in no_reason.value.errors] == ["birth_refusal_reason"]
    # The refusal comes first; the police and social insurance finish their part anyway: the
    # join waits for every branch before deciding.
    driver.complete("register_birth", BIRTH_REFUSED)
    assert driver.open_elements() == ["issue_health_card", "register_residence"]
    driver.complete("register_residence", RESIDENCE_OK)
    driver.complete("issue_health_card", CARD_OK)
    assert driver.open_elements() == ["notify_birth_refused"]
    driver.complete("notify_birth_refused", REFUSAL_NOTICE)
    assert_outcome(driver, "Bundle refused (birth not registered)")
    ready = reached(onestop, driver.code, "task_ready")
    assert "confirm_bundle" not in ready and "return_results" not in ready
    assert_verifies(onestop)


def test_chairwoman_returns_the_bundle_for_correction(driver: CaseDriver, onestop: OneStop) -> None:
    intake(driver)
    agencies(driver)
    with pytest.raises(FormInvalid) as no_reason:
        driver.complete("confirm_bundle", {"bundle_decision": "return"})
    assert [e.field for e in no_reason.value.errors] == ["return_reason"]
    driver.complete("confirm_bundle", RETURN)
    assert driver.open_elements() == ["correct_birth_record"]
    driver.complete("correct_birth_record", CORRECTED)
    assert driver.open_elements() == ["confirm_bundle"]
    confirm_and_return(driver)
    assert_outcome(driver, "Bundle completed (all three results)")
    refs = [
        e.payload.get("ref") for e in onestop.queries.events("system", driver.code) if e.kind == "task_ready"
    ]
    assert "confirm_bundle#1" in refs and "confirm_bundle#2" in refs
    assert_verifies(onestop)


def test_apology_notice_when_the_confirmation_passes_the_appointment_date(
    driver: CaseDriver, onestop: OneStop
) -> None:
    intake(driver)
    agencies(driver)
    case = driver.case()
    # Received Monday 2 March 2026 09:30 in Hanoi: 3 working days -> Thursday 5 March; the
    # timer on the confirmation fires when that day ends (midnight, 17:00 UTC).
    assert case.appointment_date == date(2026, 3, 5)
    assert case.due_at == datetime(2026, 3, 5, 17, 0, tzinfo=UTC)
    driver.now = case.due_at - timedelta(minutes=1)
    assert driver.wait(seconds=1) == []
    driver.now = case.due_at
    assert driver.wait(seconds=1) == ["timer_confirmation_overdue#1"]
    [notice] = onestop.outbox.messages(dossier_code=driver.code)
    assert notice.topic == "notice.delay"
    assert "chậm giải quyết" in notice.payload["subject"]  # in Vietnamese, for a Hanoi ward
    assert "xin lỗi" in notice.payload["body"] and "2026-03-05" in notice.payload["body"]
    # The timer does not interrupt: the chairwoman still confirms, late.
    assert driver.open_elements() == ["confirm_bundle"]
    assert driver.case().timeliness_at(driver.now) == "late"
    driver.complete("confirm_bundle", CONFIRM)
    driver.complete("return_results", RESULTS)
    assert_outcome(driver, "Bundle completed (all three results)")
    assert driver.case().outcome_timeliness == "late"
    assert "end_delay_notice_sent" in reached(onestop, driver.code, "event_reached")
    assert_verifies(onestop)


def test_withdrawn_bundle_closes_every_agency_s_work(driver: CaseDriver, onestop: OneStop) -> None:
    intake(driver)
    case = onestop.cases.cancel("linh", driver.code, "The father withdrew the online dossier", driver.now)
    assert case.status == "cancelled" and case.open_items == ()
    assert onestop.queries.work_for("minh") == []
    assert onestop.queries.work_for("giang") == []
    assert onestop.queries.work_for("hanh") == []
    assert_verifies(onestop)


# -- registry prefill --------------------------------------------------------------------------


def _prefill(onestop: OneStop, d: CaseDriver, element_id: str) -> dict:
    return onestop.tasks.task("linh", d.item(element_id).id, d.now).prefill


def test_registry_prefills_the_parent_and_an_unknown_id_is_left_to_staff(onestop: OneStop) -> None:
    known = CaseDriver(onestop, T0)
    known.start(CODE, unit=WARD)
    known.complete("receive_application", RECEIVE)
    assert known.open_elements() == ["check_completeness"]  # nothing to type in
    answer = data_of(onestop, known)["lookup_parent"]
    assert (answer["found"], answer["applicant_name"]) == (True, "Nguyễn Văn An")
    assert answer["address"] == "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội"
    assert answer["state_sourced"] == ["address", "applicant_name", "birth_date", "sex"]
    # The completeness check shows the parent as the registry knows him (read-only fields).
    prefill = _prefill(onestop, known, "check_completeness")
    assert prefill["applicant_name"] == "Nguyễn Văn An"
    assert prefill["applicant_birth_date"] == "1990-03-12"
    assert prefill["applicant_address"] == "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội"
    assert "child_name" not in prefill

    unknown = CaseDriver(onestop, T0)
    unknown.start(CODE, unit=WARD)
    unknown.complete("receive_application", UNKNOWN_PARENT)
    assert unknown.open_elements() == ["enter_parent_data"]
    assert not {"applicant_name", "applicant_address"} & set(_prefill(onestop, unknown, "enter_parent_data"))
    unknown.complete("enter_parent_data", HAND_ENTERED)
    prefill = _prefill(onestop, unknown, "check_completeness")
    assert (prefill["applicant_name"], prefill["applicant_birth_date"]) == ("Phạm Thị Dung", "1994-06-18")


# -- forms -------------------------------------------------------------------------------------


INVALID_RECEIPTS = [
    ({**RECEIVE, "national_id": "999123456789"}, "national_id"),  # no province 999
    ({**RECEIVE, "national_id": "00109001234"}, "national_id"),  # 11 digits
    ({**RECEIVE, "national_id": "1101700230074"}, "national_id"),  # a Thai ID, not a CCCD
    ({**RECEIVE, "phone": "call me"}, "phone"),
]
INVALID_CHECKS = [
    ({**COMPLETE, "mother_id": "097192004567"}, "mother_id"),  # province codes end at 096
    ({**COMPLETE, "child_birth_date": "2026-02-30"}, "child_birth_date"),
    ({**COMPLETE, "child_birth_date": "25/02/2026"}, "child_birth_date"),
    ({**CHILD, "documents_complete": False}, "missing_items"),  # incomplete, but nothing listed
]


def test_invalid_ids_and_dates_are_refused_and_change_nothing(onestop: OneStop) -> None:
    d = CaseDriver(onestop, T0, reload_each_step=False)
    d.start(CODE, unit=WARD)
    for element_id, cases in (
        ("receive_application", INVALID_RECEIPTS),
        ("check_completeness", INVALID_CHECKS),
    ):
        if element_id == "check_completeness":
            d.complete("receive_application", RECEIVE)
        for data, field in cases:
            before = d.case()
            with pytest.raises(FormInvalid) as refused:
                d.complete(element_id, data)
            assert {e.field for e in refused.value.errors} == {field}, data
            after = d.case()
            assert (after.version, d.open_elements()) == (before.version, [element_id])


# -- appointment dates -------------------------------------------------------------------------


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A Hanoi wall-clock time (UTC+7, no daylight saving) as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


#: Receipt instants (Hanoi wall-clock) and the appointment dates worked out by hand.
APPOINTMENTS = [
    # Tuesday 3 March 2026, 14:59: before the cut-off, counting starts that day:
    # Wed 4, Thu 5, Fri 6 -> Friday 6 March.
    (_local(2026, 3, 3, 14, 59), date(2026, 3, 6)),
    # Two minutes later, 15:01: counting starts on Wednesday 4 March:
    # Thu 5, Fri 6, (weekend) Mon 9 -> Monday 9 March.
    (_local(2026, 3, 3, 15, 1), date(2026, 3, 9)),
    # Thursday 12 February 2026, 10:00, two days before Tết (14-22 February off):
    # Fri 13, (Tết) Mon 23, Tue 24 -> Tuesday 24 February.
    (_local(2026, 2, 12, 10, 0), date(2026, 2, 24)),
    # Friday 13 February 2026, 15:30, after the cut-off on the last working day before Tết:
    # counting starts on Monday 23 February, the first working day after the break:
    # Tue 24, Wed 25, Thu 26 -> Thursday 26 February.
    (_local(2026, 2, 13, 15, 30), date(2026, 2, 26)),
]


def test_appointment_date_follows_the_15h_cutoff_and_the_tet_break(onestop: OneStop) -> None:
    for received, appointment in APPOINTMENTS:
        case = CaseDriver(onestop, received, reload_each_step=False).start(CODE, unit=WARD)
        assert case.appointment_date == appointment, received


# -- the package and every path on one database -------------------------------------------------


def test_package_validates_with_no_findings() -> None:
    assert validate_path(PACKAGE) == []


def test_every_path_covers_every_branch_and_end(onestop: OneStop) -> None:
    codes = [drive(onestop, path) for path in EVERY_PATH]
    outcomes = [
        (onestop.queries.case("system", c).status, onestop.queries.case("system", c).outcome) for c in codes
    ]
    assert outcomes == [
        ("completed", "Bundle completed (all three results)"),
        ("completed", "Birth registered; residence or card refused"),
        ("completed", "Birth registered; residence or card refused"),
        ("completed", "Dossier returned (supplement insufficient)"),
        ("completed", "Dossier returned (no supplement)"),
        ("completed", "Bundle refused (birth not registered)"),
        ("completed", "Bundle completed (all three results)"),
        ("completed", "Bundle completed (all three results)"),
        ("cancelled", "Cancelled"),
    ]
    bpmn = (PACKAGE / "process.bpmn").read_bytes()
    report = gateway_coverage(bpmn, [onestop.queries.events("system", code) for code in codes])
    assert_full_coverage(report, CODE)
    assert_verifies(onestop)
