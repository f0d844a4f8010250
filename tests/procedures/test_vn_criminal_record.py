"""Every path of the Vietnamese judicial-record certificate (phiếu lý lịch tư pháp), received
by the city public-service centre (VN.01), verified by the police, drafted by a specialist and
signed or refused by the director of the Department of Justice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from designer.validation import validate_path
from engine import OneStop
from engine.errors import FormInvalid
from tests.conftest import PROCEDURES
from tests.procedures import vn_criminal_record_paths as paths
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.library import published
from tests.procedures.vn_criminal_record_paths import (
    AN,
    ASSESS,
    CODE,
    DRAFT_CONVICTIONS,
    DRAFT_NONE,
    FOLLOW_UP,
    KNOWN_ID,
    POLICE_FOUND,
    POLICE_NONE,
    POLICE_PENDING,
    REFUSE,
    REQUEST,
    SUPPLEMENT_REQUEST,
    UNIT,
    UNKNOWN_ID,
    WIDER,
    WIDER_REQUEST,
    check,
    prefill,
    receive,
    sign_and_return,
    supplement,
)

PACKAGE = PROCEDURES / CODE
#: The conviction findings: sensitive, for the police officer, specialist and director only.
CONVICTION_FIELDS = (
    "police_result",
    "convictions",
    "police_notes",
    "conviction_assessment",
    "all_convictions_expunged",
    "certificate_entry",
    "certificate_details",
)


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units, users and calendars with this procedure published (on SQLite and, when
    configured, PostgreSQL)."""
    yield from published(database_url, PACKAGE)


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(onestop: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    return paths.new_driver(onestop, reload_each_step=request.param)


@pytest.fixture
def hot(onestop: OneStop) -> CaseDriver:
    return paths.new_driver(onestop)


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


def reached(onestop: OneStop, code: str) -> set[str]:
    return {
        e.element_id
        for e in onestop.queries.events("system", code)
        if e.element_id and e.kind in ("event_reached", "task_ready", "timer_fired", "step_completed")
    }


def timers_set(onestop: OneStop, code: str) -> list[str]:
    return [
        e.payload["due_at"]
        for e in onestop.queries.events("system", code)
        if e.kind == "timer_set" and e.element_id == "timer_verification_overdue"
    ]


def test_package_validates_with_zero_findings() -> None:
    findings = validate_path(PACKAGE)
    assert findings == [], [f"{f.severity} {f.code}: {f.message}" for f in findings]


def test_request_without_record_is_verified_drafted_signed_and_returned(
    driver: CaseDriver, onestop: OneStop
) -> None:
    # Received Monday 2 March 2026, 09:30 in Hanoi: 10 working days from that day (no
    # holiday in March) is Monday 16 March.
    assert driver.case().appointment_date == date(2026, 3, 16)
    receive(driver)
    assert driver.open_elements() == ["police_verification"]
    # The police's share on the 10-day path is the manual's allowance, 6 working days from
    # Monday 2 March: 3, 4, 5, 6, 9, 10 March, i.e. until midnight ending Tuesday 10 March.
    assert timers_set(onestop, driver.code) == ["2026-03-10T17:00:00+00:00"]
    driver.complete("police_verification", POLICE_NONE)
    assert driver.open_elements() == ["draft_certificate"]
    driver.complete("draft_certificate", DRAFT_NONE)
    case = sign_and_return(driver)
    assert (case.status, case.outcome) == ("completed", "Certificate issued")
    assert "end_certificate_issued" in reached(onestop, driver.code)
    assert "assess_convictions" not in reached(onestop, driver.code)
    assert "request_wider_verification" not in reached(onestop, driver.code)
    data = onestop.queries.case_data("son", driver.code, "sign the certificate", driver.now).data
    assert data["certificate_entry"] == "record_none"
    assert data["applicant_name"] == "Nguyễn Văn An"
    assert case.outcome_timeliness == "early"
    assert_verifies(onestop)


def test_supplement_then_verification_elsewhere_takes_15_days_and_prints_convictions(
    hot: CaseDriver, onestop: OneStop
) -> None:
    receive(hot, WIDER_REQUEST, complete=False)
    hot.complete("request_supplement", SUPPLEMENT_REQUEST)
    assert "waiting for documents_supplied" in hot.case().current_step
    assert hot.case().paused_since is not None  # the clock stops while the applicant is asked
    hot.deliver("documents_supplied", {"received_on": "2026-03-02", "items": paths.MISSING})
    hot.complete("check_supplement", {"supplement_complete": True, "notes": "Đã đủ."})
    # Lived in several provinces or abroad since 14: the 15-day path.
    assert hot.open_elements() == ["request_wider_verification"]
    hot.complete("request_wider_verification", WIDER)
    # 9 working days for the police from Monday 2 March: until the end of Friday 13 March.
    assert timers_set(onestop, hot.code) == ["2026-03-13T17:00:00+00:00"]
    # Art. 48(1): 15 days. The supplement was answered the same day, so the deadline is still
    # 16 March; the director moves it on 5 working days, to Monday 23 March.
    case = paths.extend_to_fifteen_days(hot)
    assert (case.appointment_date, case.due_date) == (date(2026, 3, 16), date(2026, 3, 23))
    assert [m.topic for m in onestop.outbox.messages(dossier_code=hot.code)] == ["notice.extension"]
    hot.complete("police_verification", POLICE_FOUND)
    assert hot.open_elements() == ["assess_convictions"]
    assert prefill(hot, "assess_convictions")["convictions"] == paths.CONVICTIONS
    hot.complete("assess_convictions", ASSESS)
    with pytest.raises(FormInvalid) as refused:
        hot.complete("draft_certificate", {**DRAFT_CONVICTIONS, "certificate_details": ""})
    assert [e.field for e in refused.value.errors] == ["certificate_details"]
    hot.complete("draft_certificate", DRAFT_CONVICTIONS)
    case = sign_and_return(hot)
    assert (case.status, case.outcome) == ("completed", "Certificate issued")
    assert {"clock_paused", "clock_resumed", "deadline_extended"} <= set(hot.kinds())
    assert_verifies(onestop)


def test_unanswered_supplement_request_returns_the_dossier_after_15_days(
    hot: CaseDriver, onestop: OneStop
) -> None:
    receive(hot, complete=False)
    hot.complete("request_supplement", SUPPLEMENT_REQUEST)
    assert hot.wait(days=14) == []
    assert hot.case().status == "running"
    assert hot.wait(days=1, minutes=1) == ["gw_await_supplement#1"]
    case = hot.case()
    assert (case.status, case.outcome) == ("completed", "Dossier returned (no supplement)")
    assert "police_verification" not in reached(onestop, hot.code)
    assert_verifies(onestop)


def test_insufficient_supplement_returns_the_dossier(hot: CaseDriver, onestop: OneStop) -> None:
    receive(hot, complete=False)
    supplement(hot)
    case = hot.complete("check_supplement", {"supplement_complete": False, "notes": "Thiếu ủy quyền."})
    assert (case.status, case.outcome) == ("completed", "Dossier returned (supplement insufficient)")
    assert case.open_items == ()
    assert_verifies(onestop)


def test_director_refuses_when_the_identity_does_not_match(hot: CaseDriver, onestop: OneStop) -> None:
    hot.complete("receive_request", {**REQUEST, "citizen_id": UNKNOWN_ID})
    check(
        hot,
        complete=True,
        card={"applicant_name": "Phạm Văn Dũng", "birth_date": "1995-07-01", "address": "Quận 1, TP. HCM"},
    )
    hot.complete("police_verification", POLICE_NONE)
    hot.complete("draft_certificate", DRAFT_NONE)
    with pytest.raises(FormInvalid) as refused:
        hot.complete("sign_certificate", {"decision": "refuse", "signed_on": "2026-03-11"})
    assert sorted(e.field for e in refused.value.errors) == ["reasons", "refusal_ground"]
    hot.complete("sign_certificate", REFUSE)
    assert hot.open_elements() == ["notify_refusal"]
    case = hot.complete("notify_refusal", paths.NOTIFY)
    assert (case.status, case.outcome) == ("completed", "Certificate refused")
    data = onestop.queries.case_data("son", hot.code, "complaint review", hot.now).data
    assert data["refusal_ground"] == "identity_mismatch"
    assert_verifies(onestop)


def test_overdue_police_verification_escalates_to_the_director(driver: CaseDriver, onestop: OneStop) -> None:
    receive(driver)
    due = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # midnight ending Tuesday 10 March in Hanoi
    driver.now = due - timedelta(minutes=1)
    assert driver.wait(seconds=1) == []
    assert driver.open_elements() == ["police_verification"]
    driver.now = due
    assert driver.wait(seconds=1) == ["timer_verification_overdue#1"]
    assert driver.open_elements() == ["follow_up_verification"]
    assert driver.item("follow_up_verification").role == "approver"
    assert "task_cancelled" in driver.kinds()
    driver.complete("follow_up_verification", FOLLOW_UP)
    # The police answer again, with a fresh allowance of 6 working days from Wednesday
    # 11 March: 12, 13, 16, 17, 18, 19 March.
    assert driver.open_elements() == ["police_verification"]
    assert timers_set(onestop, driver.code)[-1] == "2026-03-19T17:00:00+00:00"
    driver.complete("police_verification", POLICE_NONE)
    driver.complete("draft_certificate", DRAFT_NONE)
    case = sign_and_return(driver)
    assert (case.status, case.outcome) == ("completed", "Certificate issued")
    assert_verifies(onestop)


def test_police_asking_for_more_time_goes_to_the_director(hot: CaseDriver, onestop: OneStop) -> None:
    receive(hot)
    with pytest.raises(FormInvalid) as refused:
        hot.complete("police_verification", {**POLICE_PENDING, "police_notes": ""})
    assert [e.field for e in refused.value.errors] == ["police_notes"]
    with pytest.raises(FormInvalid) as refused:
        hot.complete("police_verification", {"police_result": "records_found", "police_reply_ref": "X-1"})
    assert [e.field for e in refused.value.errors] == ["convictions"]
    hot.complete("police_verification", POLICE_PENDING)
    assert hot.open_elements() == ["follow_up_verification"]
    assert prefill(hot, "follow_up_verification")["police_notes"] == POLICE_PENDING["police_notes"]
    hot.complete("follow_up_verification", FOLLOW_UP)
    hot.complete("police_verification", POLICE_FOUND)
    hot.complete("assess_convictions", ASSESS)
    hot.complete("draft_certificate", DRAFT_CONVICTIONS)
    case = sign_and_return(hot)
    assert (case.status, case.outcome) == ("completed", "Certificate issued")
    assert_verifies(onestop)


def test_withdrawn_request_keeps_its_code_and_closes_its_work(hot: CaseDriver, onestop: OneStop) -> None:
    receive(hot)
    case = onestop.cases.cancel("nam", hot.code, "Người yêu cầu rút hồ sơ", hot.now)
    assert case.status == "cancelled"
    assert case.open_items == ()
    assert onestop.queries.work_for("giang") == []
    assert hot.wait(days=30) == []  # the police timer went with the case
    assert_verifies(onestop)


def test_intake_officer_sees_conviction_fields_masked_and_the_director_sees_them(
    hot: CaseDriver, onestop: OneStop
) -> None:
    receive(hot)
    hot.complete("police_verification", POLICE_FOUND)
    hot.complete("assess_convictions", ASSESS)
    hot.complete("draft_certificate", DRAFT_CONVICTIONS)

    intake = onestop.queries.case_data("nam", hot.code, "answer the applicant's call", hot.now)
    assert set(CONVICTION_FIELDS) <= set(intake.masked_fields)
    assert {"applicant_name", "citizen_id", "lookup_applicant"} <= set(intake.masked_fields)
    assert "Ba Đình" not in str(intake.data["convictions"])
    assert intake.data["all_convictions_expunged"] == "•••"
    assert intake.data["police_result"] == "r•••"  # every answer masks alike: no hint
    assert intake.data["certificate_entry"] == "r•••"
    assert intake.data["citizen_id"] == "•••2345"
    assert intake.data["certificate_type"] == "1"  # not personal: shown

    for reader in ("son", "giang", "quang"):  # director, police officer, specialist
        view = onestop.queries.case_data(reader, hot.code, "verify and sign the certificate", hot.now)
        assert view.masked_fields == ()
        assert view.data["convictions"] == paths.CONVICTIONS
        assert view.data["police_result"] == "records_found"
        assert view.data["certificate_entry"] == "record_convictions"
    assert_verifies(onestop)


def test_forms_refuse_invalid_citizen_ids_phones_and_dates(hot: CaseDriver, onestop: OneStop) -> None:
    before = len(onestop.queries.events("system", hot.code))
    for bad in ("00109001234", "999090012345", "00109001234X"):
        with pytest.raises(FormInvalid) as refused:
            hot.complete("receive_request", {**REQUEST, "citizen_id": bad})
        assert [e.field for e in refused.value.errors] == ["citizen_id"]
    with pytest.raises(FormInvalid) as refused:
        hot.complete("receive_request", {**REQUEST, "phone": "912-345-678"})
    assert [e.field for e in refused.value.errors] == ["phone"]
    with pytest.raises(FormInvalid) as refused:
        hot.complete("receive_request", {**REQUEST, "citizen_id": "1101700230074"})  # a Thai ID
    assert [e.field for e in refused.value.errors] == ["citizen_id"]
    assert len(onestop.queries.events("system", hot.code)) == before
    assert hot.open_elements() == ["receive_request"]

    hot.complete("receive_request", REQUEST)
    with pytest.raises(FormInvalid) as refused:
        check_data = {**AN, **paths.RESIDENCE, "documents_complete": True, "birth_date": "1990-02-30"}
        hot.complete("check_completeness", check_data)
    assert [e.field for e in refused.value.errors] == ["birth_date"]
    with pytest.raises(FormInvalid) as refused:
        hot.complete("check_completeness", {**AN, **paths.RESIDENCE, "documents_complete": False})
    assert [e.field for e in refused.value.errors] == ["missing_items"]
    check(hot, complete=True)
    hot.complete("police_verification", POLICE_NONE)
    with pytest.raises(FormInvalid) as refused:
        hot.complete("draft_certificate", {**DRAFT_NONE, "drafted_on": "10/03/2026"})
    assert [e.field for e in refused.value.errors] == ["drafted_on"]
    assert hot.open_elements() == ["draft_certificate"]


def test_registry_answers_the_lookup_for_a_known_citizen_id(hot: CaseDriver, onestop: OneStop) -> None:
    hot.complete("receive_request", REQUEST)
    answer = onestop.queries.case_data("son", hot.code, "check identity", hot.now).data["lookup_applicant"]
    assert answer["found"] is True and answer["id_number"] == KNOWN_ID
    assert answer["applicant_name"] == AN["applicant_name"]
    assert answer["address"] == AN["address"]
    assert "service_called" in hot.kinds()


def test_completeness_form_is_prefilled_from_the_registry(hot: CaseDriver, onestop: OneStop) -> None:
    hot.complete("receive_request", REQUEST)
    shown = prefill(hot, "check_completeness")
    assert {name: shown[name] for name in AN} == AN  # name, birth date, sex, address
    assert "residence_history" not in shown  # what the registry cannot know, staff ask for
    item = hot.item("check_completeness")
    instructions = onestop.tasks.task("nam", item.id, hot.now).instructions or ""
    assert "returned **Nguyễn Văn An**, born 1990-03-12" in instructions
    check(hot, complete=True, card={})
    assert prefill(hot, "police_verification")["applicant_name"] == AN["applicant_name"]


def test_unknown_citizen_id_leaves_the_identity_for_staff_to_fill(hot: CaseDriver, onestop: OneStop) -> None:
    hot.complete("receive_request", {**REQUEST, "citizen_id": UNKNOWN_ID})
    answer = onestop.queries.case_data("son", hot.code, "check identity", hot.now).data["lookup_applicant"]
    assert answer["found"] is False and "no person" in answer["problem"]
    shown = prefill(hot, "check_completeness")
    assert not {"applicant_name", "birth_date", "address"} & set(shown)
    item = hot.item("check_completeness")
    assert "**no record**" in (onestop.tasks.task("nam", item.id, hot.now).instructions or "")
    with pytest.raises(FormInvalid) as refused:
        hot.complete("check_completeness", {**paths.RESIDENCE, "documents_complete": True})
    assert sorted(e.field for e in refused.value.errors) == ["address", "applicant_name", "birth_date"]
    card = {"applicant_name": "Phạm Văn Dũng", "birth_date": "1995-07-01", "address": "Quận 1, TP. HCM"}
    check(hot, complete=True, card=card)
    assert prefill(hot, "police_verification")["applicant_name"] == "Phạm Văn Dũng"


def test_appointment_date_after_closing_time_before_the_april_holidays(onestop: OneStop) -> None:
    # Received Thursday 23 April 2026 at 17:30 in Hanoi, after closing (17:00): counting
    # starts Friday 24 April. Monday 27 April is the substitute day for the Hùng Kings'
    # Commemoration (Sunday 26 April), 30 April and 1 May are holidays. Working days: Tue 28
    # (1), Wed 29 (2), Mon 4 May (3), 5 (4), 6 (5), 7 (6), Fri 8 (7), Mon 11 (8), 12 (9),
    # Wed 13 May (10).
    received = datetime(2026, 4, 23, 10, 30, tzinfo=UTC)
    d = CaseDriver(onestop, received, reload_each_step=False)
    case = d.start(CODE, unit=UNIT)
    assert case.appointment_date == date(2026, 5, 13)
    assert case.dossier_code.startswith("VN.01-260423-")


def test_every_path_covers_every_branch_and_end_event(onestop: OneStop) -> None:
    codes = [paths.drive(onestop, path) for path in paths.EVERY_PATH]
    assert len(set(codes)) == len(codes)
    report = gateway_coverage(
        (PACKAGE / "process.bpmn").read_bytes(), [onestop.queries.events("system", code) for code in codes]
    )
    assert_full_coverage(report, CODE)
    outcomes = [onestop.queries.case("system", code).outcome for code in codes]
    assert outcomes == [
        "Certificate issued",
        "Certificate issued",
        "Dossier returned (no supplement)",
        "Dossier returned (supplement insufficient)",
        "Certificate refused",
        "Certificate issued",
        "Certificate issued",
        "Cancelled",
    ]
    assert_verifies(onestop)
