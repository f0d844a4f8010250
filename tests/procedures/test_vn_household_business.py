"""Every path of Vietnam's household business registration (đăng ký hộ kinh doanh) at the
ward one-stop desk of Ba Dinh (VN.01.001): intake with one supplement request, the owner's
lookup in the population database, the eligibility decision table, the licence referral of
conditional lines, the review deadline with its apology, signature and certificate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from lxml import etree

from designer.packages import read_package
from designer.validation import validate_path
from engine import OneStop
from engine.errors import CaseClosed, FormInvalid
from tests.conftest import PROCEDURES, T0
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver

CODE = "vn_household_business"
PACKAGE = PROCEDURES / CODE
UNIT = "VN.01.001"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"

APP: dict[str, Any] = {
    "national_id": "001090012345",  # Nguyễn Văn An in the demo population database
    "phone": "+84 912 345 678",
    "business_name": "Hộ kinh doanh Phở An",
    "business_address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
    "business_lines": "4711 Bán lẻ lương thực, thực phẩm trong cửa hàng tổng hợp",
    "capital_vnd": 150_000_000,
    "employees": 3,
    "registered_by": "individual",
}
UNKNOWN_ID = "001210004321"  # plausible (Hanoi, born 2010) but not in the registry
COMPLETE = {"documents_complete": True}
INCOMPLETE = {
    "documents_complete": False,
    "missing_items": ["Biên bản họp thành viên hộ gia đình", "Giấy đề nghị có chữ ký của chủ hộ"],
}
BY_HAND = {
    "applicant_name": "Đỗ Minh Khang",
    "birth_date": "2010-05-01",
    "address": "Số 8 phố Giảng Võ, phường Ba Đình, Hà Nội",
    "documents_complete": True,
}
REQUEST = {"request_ref": "TB-BD-2026-0017", "notes": "Một lần, nêu đủ nội dung."}
REVIEW = {"name_checked": True, "registration_no": "01A8-026-000123", "review_notes": "Tên không trùng."}
APPROVE = {"decision": "approve", "signed_on": "2026-03-03"}
ISSUE = {"issued_on": "2026-03-04", "returned_via": "counter"}
REFUSAL = {"notice_ref": "TB-TC-2026-0009", "notified_on": "2026-03-04"}
REFERRAL = {"licence_authority": "Ủy ban nhân dân phường Ba Đình", "referral_ref": "HD-2026-0031"}


def assess(category: str, conditional: bool, other: str = "none") -> dict[str, Any]:
    return {
        "business_line_category": category,
        "conditional_line": conditional,
        "owner_other_business": other,
    }


#: The input of assess_eligibility that reaches each row of the decision table.
ROW_INPUTS = {
    "R2_second_household_business": assess("trade_retail", False, "household_business"),
    "R3_private_enterprise_owner": assess("trade_retail", False, "private_enterprise"),
    "R4_prohibited_line": assess("prohibited", False),
    "R5_exempt_small": assess("small_farming_vending", False),
    "R6_food_service": assess("food_service", True),
    "R7_alcohol_retail": assess("alcohol_retail", True),
    "R8_other_conditional": assess("other", True),
    "R9_ordinary": assess("trade_retail", False),
}

# -- the decision table's outputs, as the case file records them ----------------------------

DECISIONS: dict[str, dict[str, Any]] = {}


def assess_and_decide(d: CaseDriver, inputs: dict[str, Any]) -> dict[str, Any]:
    """Assess the business line; the table's outputs as recorded in the case data."""
    d.complete("assess_eligibility", {**inputs, "assessment_notes": "Đã tra cứu CSDL đăng ký kinh doanh."})
    DECISIONS[d.code] = data_of(d)["eligibility"]
    return DECISIONS[d.code]


# -- the paths ----------------------------------------------------------------------------

Path_ = Callable[[CaseDriver], None]


def start(d: CaseDriver, national_id: str = APP["national_id"]) -> None:
    d.start(CODE, unit=UNIT)
    d.complete("receive_application", {**APP, "national_id": national_id})


def review_sign_issue(d: CaseDriver) -> None:
    d.complete("specialist_review", REVIEW)
    d.complete("approve_registration", APPROVE)
    d.complete("issue_certificate", ISSUE)


def issued(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    assess_and_decide(d, ROW_INPUTS["R9_ordinary"])
    review_sign_issue(d)


def supplied_then_referred_food(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-05", "items": INCOMPLETE["missing_items"]})
    d.complete("check_supplement", {"supplement_complete": True})
    decision = assess_and_decide(d, ROW_INPUTS["R6_food_service"])
    d.complete("record_licence_referral", {**REFERRAL, "licence_procedure": decision["licence_procedure"]})
    review_sign_issue(d)


def returned_without_supplement(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    assert d.wait(days=30, minutes=1) != []


def returned_insufficient(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-05", "items": []})
    d.complete("check_supplement", {"supplement_complete": False, "notes": "Vẫn thiếu biên bản họp."})


def minor_refused(d: CaseDriver) -> None:
    start(d, UNKNOWN_ID)
    d.complete("check_completeness_by_hand", BY_HAND)
    decision = assess_and_decide(d, ROW_INPUTS["R9_ordinary"])
    d.complete("notify_refusal", {**REFUSAL, "reason": decision["reason"]})


def refused_by_table(row: str) -> Path_:
    def path(d: CaseDriver) -> None:
        start(d)
        d.complete("check_completeness", COMPLETE)
        decision = assess_and_decide(d, ROW_INPUTS[row])
        d.complete("notify_refusal", {**REFUSAL, "reason": decision["reason"]})

    path.__name__ = f"refused_{row}"
    return path


def not_required(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    assess_and_decide(d, ROW_INPUTS["R5_exempt_small"])
    d.complete("notify_not_required", {"notice_ref": "TB-KDK-2026-0004", "notified_on": "2026-03-03"})


def overdue_alcohol_referred(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    decision = assess_and_decide(d, ROW_INPUTS["R7_alcohol_retail"])
    d.complete("record_licence_referral", {**REFERRAL, "licence_procedure": decision["licence_procedure"]})
    # The review began on Monday 2 March (09:55 in Hanoi) with an allowance of 1 working day:
    # it turns late at the end of Tuesday 3 March.
    assert d.wait(days=1) == []
    assert d.wait(days=1) == ["timer_review_overdue#1"]
    assert d.open_elements() == ["issue_apology", "specialist_review"]
    d.complete(
        "issue_apology",
        {
            "apology_ref": "PXL-2026-0002",
            "new_appointment_date": "2026-03-06",
            "delay_reason": "Cán bộ đi công tác.",
        },
    )
    review_sign_issue(d)


def other_conditional_refused_by_chair(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    decision = assess_and_decide(d, ROW_INPUTS["R8_other_conditional"])
    d.complete("record_licence_referral", {**REFERRAL, "licence_procedure": decision["licence_procedure"]})
    d.complete("specialist_review", REVIEW)
    d.complete(
        "approve_registration", {"decision": "refuse", "reason": "Địa điểm kinh doanh đang có tranh chấp."}
    )
    d.complete("notify_refusal", {**REFUSAL, "reason": "Địa điểm kinh doanh đang có tranh chấp."})


def withdrawn(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    d.onestop.cases.cancel("linh", d.code, "Người đăng ký rút hồ sơ", d.now)


EVERY_PATH: tuple[Path_, ...] = (
    issued,
    supplied_then_referred_food,
    returned_without_supplement,
    returned_insufficient,
    minor_refused,
    refused_by_table("R2_second_household_business"),
    refused_by_table("R3_private_enterprise_owner"),
    refused_by_table("R4_prohibited_line"),
    not_required,
    overdue_alcohol_referred,
    other_conditional_refused_by_chair,
    withdrawn,
)

# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def hkd(onestop: OneStop) -> Iterator[OneStop]:
    onestop.procedures.import_package("admin", read_package(PACKAGE), T0, publish=True)
    DECISIONS.clear()
    yield onestop


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(hkd: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    return CaseDriver(hkd, T0, reload_each_step=request.param)


def outcome(d: CaseDriver) -> tuple[str, str | None]:
    case = d.case()
    return case.status, case.outcome


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


def data_of(d: CaseDriver, actor: str = "linh") -> dict[str, Any]:
    """The case data as the ward's intake officer sees it (personal fields shown)."""
    return d.onestop.queries.case_data(actor, d.code, "test", d.now).data


# -- one test per path ----------------------------------------------------------------------


def test_ordinary_line_is_registered_and_the_certificate_returned(driver: CaseDriver, hkd: OneStop) -> None:
    issued(driver)
    assert outcome(driver) == ("completed", "Certificate issued")
    assert DECISIONS[driver.code] == {
        "rule": "R9_ordinary",
        "eligible": True,
        "registration_required": True,
        "needs_licence": False,
        "licence_procedure": "",
        "reason": "Eligible: an ordinary business line",
        "owner_age": 35,  # born 12 March 1990; the table ran on 2 March 2026
    }
    data = data_of(driver)
    assert data["registration_no"] == "01A8-026-000123"
    assert data["lookup_owner"]["applicant_name"] == "Nguyễn Văn An"
    assert data_of(driver, "system")["lookup_owner"] != data["lookup_owner"]  # masked
    assert "service_called" in driver.kinds()
    assert_verifies(hkd)


def test_supplement_then_food_service_is_registered_and_referred(driver: CaseDriver, hkd: OneStop) -> None:
    supplied_then_referred_food(driver)
    assert outcome(driver) == ("completed", "Certificate issued, referred to licence procedure")
    decision = DECISIONS[driver.code]
    assert decision["rule"] == "R6_food_service"
    assert decision["needs_licence"] is True and "food-safety" in decision["licence_procedure"]
    assert "Decree 15/2018/ND-CP" in data_of(driver)["licence_procedure"]
    assert_verifies(hkd)


def test_unanswered_supplement_request_returns_the_dossier_after_30_days(
    driver: CaseDriver, hkd: OneStop
) -> None:
    start(driver)
    driver.complete("check_completeness", INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    assert driver.case().paused_since is not None  # the 3-working-day clock stops
    assert driver.wait(days=29) == []
    assert driver.wait(days=1, minutes=1) != []
    assert outcome(driver) == ("completed", "Dossier returned (no supplement)")
    with pytest.raises(CaseClosed):
        hkd.cases.deliver_message("linh", driver.code, "documents_supplied", driver.now, {})
    assert_verifies(hkd)


def test_insufficient_supplement_returns_the_dossier(driver: CaseDriver, hkd: OneStop) -> None:
    returned_insufficient(driver)
    assert outcome(driver) == ("completed", "Dossier returned (supplement insufficient)")
    assert_verifies(hkd)


def test_a_minor_is_refused(driver: CaseDriver, hkd: OneStop) -> None:
    minor_refused(driver)
    assert outcome(driver) == ("completed", "Registration refused")
    decision = DECISIONS[driver.code]
    assert (decision["rule"], decision["eligible"], decision["owner_age"]) == (
        "R1_minor",
        False,
        15,
    )
    assert "art. 80(1)" in data_of(driver)["reason"]
    assert_verifies(hkd)


@pytest.mark.parametrize(
    ("row", "cited"),
    [
        ("R2_second_household_business", "art. 80(2)"),
        ("R3_private_enterprise_owner", "art. 188(3)"),
        ("R4_prohibited_line", "art. 6"),
    ],
)
def test_the_table_refuses_ineligible_owners_and_lines(hkd: OneStop, row: str, cited: str) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    refused_by_table(row)(d)
    assert outcome(d) == ("completed", "Registration refused")
    decision = DECISIONS[d.code]
    assert (decision["rule"], decision["eligible"], decision["needs_licence"]) == (
        row,
        False,
        False,
    )
    assert cited in data_of(d)["reason"]


def test_small_farming_or_street_vending_needs_no_registration(driver: CaseDriver, hkd: OneStop) -> None:
    not_required(driver)
    assert outcome(driver) == ("completed", "No registration required")
    decision = DECISIONS[driver.code]
    assert decision["rule"] == "R5_exempt_small"
    assert (decision["eligible"], decision["registration_required"]) == (False, False)
    assert_verifies(hkd)


def test_overdue_review_brings_an_apology_and_the_case_goes_on(driver: CaseDriver, hkd: OneStop) -> None:
    overdue_alcohol_referred(driver)
    assert outcome(driver) == ("completed", "Certificate issued, referred to licence procedure")
    decision = DECISIONS[driver.code]
    assert decision["rule"] == "R7_alcohol_retail"
    assert "alcohol" in decision["licence_procedure"]
    assert data_of(driver)["apology_ref"] == "PXL-2026-0002"
    assert_verifies(hkd)


def test_chair_may_refuse_an_eligible_conditional_line(driver: CaseDriver, hkd: OneStop) -> None:
    other_conditional_refused_by_chair(driver)
    assert outcome(driver) == ("completed", "Registration refused")
    assert DECISIONS[driver.code]["rule"] == "R8_other_conditional"
    assert_verifies(hkd)


def test_chair_must_give_reasons_for_a_refusal(hkd: OneStop) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    start(d)
    d.complete("check_completeness", COMPLETE)
    assess_and_decide(d, ROW_INPUTS["R9_ordinary"])
    d.complete("specialist_review", REVIEW)
    with pytest.raises(FormInvalid) as refused:
        d.complete("approve_registration", {"decision": "refuse"})
    assert [e.field for e in refused.value.errors] == ["reason"]


def test_withdrawn_case_closes_its_work(driver: CaseDriver, hkd: OneStop) -> None:
    withdrawn(driver)
    case = driver.case()
    assert (case.status, case.open_items) == ("cancelled", ())
    assert hkd.queries.work_for("minh") == []
    assert_verifies(hkd)


# -- the decision table, coverage, validation -----------------------------------------------


def dmn_rule_ids() -> set[str]:
    tree = etree.parse(str(PACKAGE / "eligibility.dmn"))
    return {str(rule.get("id")) for rule in tree.iter(f"{DMN}rule")}


def test_every_path_covers_every_branch_and_every_table_row(hkd: OneStop) -> None:
    codes = []
    for path in EVERY_PATH:
        d = CaseDriver(hkd, T0, reload_each_step=False)
        path(d)
        codes.append(d.code)
    histories = [hkd.queries.events("system", code) for code in codes]
    bpmn = (PACKAGE / "process.bpmn").read_bytes()
    assert_full_coverage(gateway_coverage(bpmn, histories), CODE)
    hit = {decision["rule"] for decision in DECISIONS.values()}
    assert hit == dmn_rule_ids(), f"rows never hit: {dmn_rule_ids() - hit}"
    assert all(decision["eligible"] == (decision["rule"] >= "R6") for decision in DECISIONS.values())
    assert_verifies(hkd)


def test_package_validates_without_findings() -> None:
    assert validate_path(PACKAGE) == []


# -- forms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["00109001234", "999090012345", "00109001234X"])
def test_invalid_citizen_id_is_refused(hkd: OneStop, bad_id: str) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    d.start(CODE, unit=UNIT)
    before = d.case().version
    with pytest.raises(FormInvalid) as refused:
        d.complete("receive_application", {**APP, "national_id": bad_id})
    assert "national_id" in [e.field for e in refused.value.errors]
    assert d.case().version == before and d.open_elements() == ["receive_application"]


def test_invalid_dates_are_refused(hkd: OneStop) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    start(d, UNKNOWN_ID)
    before = d.case().version
    with pytest.raises(FormInvalid) as refused:
        d.complete("check_completeness_by_hand", {**BY_HAND, "birth_date": "2010-02-30"})
    assert [e.field for e in refused.value.errors] == ["birth_date"]
    assert d.case().version == before and d.open_elements() == ["check_completeness_by_hand"]


# -- the population registry ------------------------------------------------------------------


def _open_task(d: CaseDriver, element: str, actor: str = "linh") -> Any:
    return d.onestop.tasks.task(actor, d.item(element).id, d.now)


def test_known_owner_is_looked_up_and_shown_read_only(hkd: OneStop) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    start(d)
    assert d.open_elements() == ["check_completeness"]
    answer = data_of(d)["lookup_owner"]
    assert answer["found"] is True and answer["address"] == "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội"
    copied = data_of(d)  # what the copy_registry script took from the answer
    assert (copied["applicant_name"], copied["birth_date"]) == ("Nguyễn Văn An", "1990-03-12")
    fields = _open_task(d, "check_completeness").form_schema["properties"]
    for name in ("applicant_name", "birth_date", "address"):
        assert fields[name]["readOnly"] is True and fields[name]["x-source"] == "population_registry"


def test_known_owner_prefills_the_completeness_check(hkd: OneStop) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    start(d)
    prefill = _open_task(d, "check_completeness").prefill
    assert prefill == {
        "applicant_name": "Nguyễn Văn An",
        "birth_date": "1990-03-12",
        "address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
    }


def test_unknown_owner_leaves_the_fields_to_staff(hkd: OneStop) -> None:
    d = CaseDriver(hkd, T0, reload_each_step=False)
    start(d, UNKNOWN_ID)
    assert d.open_elements() == ["check_completeness_by_hand"]
    assert data_of(d)["lookup_owner"]["found"] is False
    task = _open_task(d, "check_completeness_by_hand")
    assert not {"applicant_name", "birth_date", "address"} & set(task.prefill)
    fields = task.form_schema["properties"]
    assert not any(fields[name].get("readOnly") for name in ("applicant_name", "birth_date", "address"))
    assert {"applicant_name", "birth_date", "address"} <= set(task.form_schema["required"])


# -- the appointment date ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Thursday 12 February 2026, 15:30 in Hanoi (before the 17:00 close): counting starts
        # that day; the 3 working days are Friday 13 February, then (Tết Bính Ngọ, 14-22
        # February, is off) Monday 23 and Tuesday 24 February.
        (datetime(2026, 2, 12, 8, 30, tzinfo=UTC), date(2026, 2, 24)),
        # Friday 13 February, 17:30 in Hanoi (after the close): counting starts on the next
        # working day, Monday 23 February; the 3 working days end on Thursday 26 February.
        (datetime(2026, 2, 13, 10, 30, tzinfo=UTC), date(2026, 2, 26)),
    ],
)
def test_appointment_date_skips_tet(hkd: OneStop, received: datetime, due: date) -> None:
    d = CaseDriver(hkd, received, reload_each_step=False)
    d.start(CODE, unit=UNIT)
    case = d.case()
    assert case.due_date == due
    assert case.appointment_date == due
