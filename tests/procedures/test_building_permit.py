"""Every path of the Thai building permit, persisted and reloaded between steps."""

from __future__ import annotations

from typing import Any

import pytest

from engine import OneStop
from engine.errors import CaseClosed, FormInvalid, MessageNotExpected
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

APP: dict[str, Any] = {
    "applicant_name": "Somchai Jaidee",
    "national_id": "1101700230074",
    "phone": "+66 81 234 5678",
    "plot_address": "99 Moo 3, Tambon Suthep, Mueang Chiang Mai, Chiang Mai 50200",
    "plot_title_deed_no": "12345",
    "floor_area": 180.0,
    "storeys": 2,
    "building_use": "residential",
}
COMPLETE = {**APP, "documents_complete": True}
INCOMPLETE = {
    **APP,
    "documents_complete": False,
    "missing_items": ["Copy of the land title deed (all pages)", "Copy of the engineer's licence"],
}
REQUEST = {"request_ref": "CM-MUN-2568-0042/1", "deadline_days": 15, "notes": "Signed by both parties."}
PLAN_OK = {
    "setbacks_ok": True,
    "height_ok": True,
    "fire_safety_ok": True,
    "zoning_ok": True,
    "review_notes": "ok",
}
PLAN_BAD = {**PLAN_OK, "setbacks_ok": False, "review_notes": "Rear setback 1.0 m; 2.0 m required."}
SITE = {"visit_date": "2026-03-12", "site_matches_plans": True, "findings": "Site matches the plans."}
APPROVE = {"decision": "approve", "conditions": ["Keep the construction site fenced"]}
PAY = {"receipt_no": "RC-2569-0815", "amount_paid": 110.0, "paid_on": "2026-04-01"}
ISSUE = {"permit_no": "Or.1-2569-0123", "issued_on": "2026-04-02"}


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(onestop: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    d = CaseDriver(onestop, T0, reload_each_step=request.param)
    d.start("building_permit")
    return d


def review_and_approve(d: CaseDriver) -> None:
    assert d.open_elements() == ["plan_review", "site_visit"]
    d.complete("site_visit", SITE)
    d.complete("plan_review", PLAN_OK)
    d.complete("approval", APPROVE)


def pay_and_issue(d: CaseDriver) -> None:
    d.complete("record_payment", PAY)
    case = d.complete("issue_permit", ISSUE)
    assert case.status == "completed"
    assert case.outcome == "Permit issued"


def assert_verifies(onestop: OneStop) -> None:
    report = onestop.verify()
    assert report.ok, report.problems


def test_complete_dossier_is_reviewed_approved_paid_and_issued(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", COMPLETE)
    review_and_approve(driver)
    pay_and_issue(driver)
    # The fee comes from the fee table fee.dmn (more amounts: test_building_permit_fees.py).
    data = onestop.queries.case_data("system", driver.code, "test", driver.now).data
    assert data["fee"]["amount"] == pytest.approx(110.0) and data["amount_due"] == pytest.approx(110.0)
    events = onestop.queries.events("system", driver.code)
    fee_step = [e for e in events if e.kind == "step_completed" and e.element_id == "calculate_fee"]
    assert [e.payload["type"] for e in fee_step] == ["BusinessRuleTask"]
    assert_verifies(onestop)


def test_supplied_documents_continue_to_review(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    assert driver.open_elements() == []
    assert "waiting for documents_supplied" in driver.case().current_step
    with pytest.raises(MessageNotExpected, match="documents_supplied"):
        onestop.cases.deliver_message("somchai", driver.code, "plans_amended", driver.now, {})
    driver.deliver("documents_supplied", {"received_on": "2026-03-10", "items": INCOMPLETE["missing_items"]})
    driver.complete("check_supplement", {"supplement_complete": True, "notes": "All items supplied."})
    review_and_approve(driver)
    pay_and_issue(driver)
    assert_verifies(onestop)


def test_unanswered_supplement_request_returns_the_dossier_after_15_days(
    driver: CaseDriver, onestop: OneStop
) -> None:
    driver.complete("check_completeness", INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    assert driver.wait(days=14) == []
    assert driver.case().status == "running"
    assert driver.wait(days=1, minutes=1) != []
    case = driver.case()
    assert (case.status, case.outcome) == ("completed", "Dossier returned (no supplement)")
    with pytest.raises(CaseClosed):
        onestop.cases.deliver_message("somchai", driver.code, "documents_supplied", driver.now, {})
    assert_verifies(onestop)


def test_insufficient_supplement_returns_the_dossier(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", INCOMPLETE)
    driver.complete("request_supplement", REQUEST)
    driver.deliver(
        "documents_supplied", {"received_on": "2026-03-10", "items": ["Copy of the engineer's licence"]}
    )
    case = driver.complete(
        "check_supplement", {"supplement_complete": False, "notes": "Title deed still missing."}
    )
    assert (case.status, case.outcome) == ("completed", "Dossier returned (supplement insufficient)")
    assert driver.case().open_items == ()
    assert_verifies(onestop)


def test_failed_review_loops_through_amendment_once(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", COMPLETE)
    driver.complete("plan_review", PLAN_BAD)
    driver.complete("site_visit", SITE)
    driver.complete("request_amendment", {"amendments": ["Move the rear wall"], "notes": "Resubmit 5 sets."})
    driver.complete(
        "receive_amended_plans", {"amended_plans_received": True, "received_note": "5 sets received."}
    )
    review_and_approve(driver)
    pay_and_issue(driver)
    refs = [
        e.payload.get("ref") for e in onestop.queries.events("system", driver.code) if e.kind == "task_ready"
    ]
    assert "plan_review#1" in refs and "plan_review#2" in refs
    assert_verifies(onestop)


def test_refusal_is_notified_with_reasons(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", COMPLETE)
    driver.complete("plan_review", PLAN_OK)
    driver.complete("site_visit", SITE)
    with pytest.raises(FormInvalid) as refused:
        driver.complete("approval", {"decision": "refuse"})
    assert [e.field for e in refused.value.errors] == ["reasons"]
    driver.complete("approval", {"decision": "refuse", "reasons": "The plot lies in a green zone."})
    case = driver.complete("notify_refusal", {"notice_ref": "CM-2569-0042/R", "notified_on": "2026-04-01"})
    assert (case.status, case.outcome) == ("completed", "Permit refused")
    assert_verifies(onestop)


def test_permit_lapses_when_not_collected_within_30_days(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", COMPLETE)
    review_and_approve(driver)
    assert driver.wait(days=29) == []
    assert driver.open_elements() == ["record_payment"]
    assert driver.wait(days=2) != []
    case = driver.case()
    assert (case.status, case.outcome) == ("completed", "Permit lapsed (not collected)")
    assert driver.open_elements() == []
    assert "task_cancelled" in driver.kinds()
    assert_verifies(onestop)


def test_withdrawn_case_keeps_its_code_and_closes_its_work(driver: CaseDriver, onestop: OneStop) -> None:
    driver.complete("check_completeness", COMPLETE)
    case = onestop.cases.cancel("somchai", driver.code, "Applicant withdrew", driver.now)
    assert case.status == "cancelled"
    assert case.open_items == ()
    assert onestop.queries.work_for("niran") == []
    assert_verifies(onestop)


def test_the_registry_vouches_for_the_name_and_address_on_the_permit(
    driver: CaseDriver, onestop: OneStop
) -> None:
    driver.complete("check_completeness", COMPLETE)
    review_and_approve(driver)
    driver.complete("record_payment", PAY)
    task = onestop.tasks.task("somchai", driver.item("issue_permit").id, driver.now)
    # ID 1101700230074 is in the demo registry: its name replaces the one typed at the counter.
    assert task.prefill["applicant_name"] == "นางสาวสมศรี ใจดี"
    assert task.prefill["applicant_address"].endswith("จังหวัดเชียงใหม่ 50200")
    assert task.form_schema is not None
    assert task.form_schema["properties"]["applicant_name"]["x-source"] == "population_registry"
