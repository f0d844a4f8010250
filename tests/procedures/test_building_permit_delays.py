"""Thai delay notices (Licensing Facilitation Act B.E. 2558 s.10): while the decision on a
building permit is overdue, a notice goes to the applicant every 7 days, copied to the
oversight office, until the decision is made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine import OneStop
from tests.conftest import T0
from tests.procedures.driver import CaseDriver
from tests.procedures.test_building_permit import COMPLETE, PLAN_OK, SITE, assert_verifies


@pytest.fixture(params=[True, False], ids=["reload-each-step", "hot-cache"])
def driver(onestop: OneStop, request: pytest.FixtureRequest) -> CaseDriver:
    return CaseDriver(onestop, T0, reload_each_step=request.param)


def _notices(onestop: OneStop, code: str) -> list[str]:
    return [m.topic for m in onestop.outbox.messages(dossier_code=code)]


def test_a_delay_notice_every_seven_days_while_the_decision_is_overdue(
    driver: CaseDriver, onestop: OneStop
) -> None:
    driver.start("building_permit", data={"applicant_name": "Somsri", "email": "somsri@example.org"})
    driver.complete("check_completeness", COMPLETE)
    case = driver.case()
    # Received Monday 2 March 2026: 45 calendar days is Thursday 16 April (a working day).
    assert case.due_date == date(2026, 4, 16)
    deadline = datetime(2026, 4, 16, 17, 0, tzinfo=UTC)  # midnight ending 16 April in Bangkok
    driver.now = deadline - timedelta(hours=1)
    assert driver.wait() == []
    driver.now = deadline
    assert driver.wait(seconds=1) == ["timer_decision_overdue#1"]
    assert _notices(onestop, driver.code) == ["notice.delay"]
    [notice] = onestop.outbox.messages(dossier_code=driver.code)
    assert notice.payload["copy_oversight"] is True
    assert notice.payload["recipients"][0]["address"] == "somsri@example.org"
    assert driver.code in notice.payload["subject"] and "2026-04-16" in notice.payload["body"]
    assert "มาตรา 10" in notice.payload["body"]  # in Thai, for a Thai municipality
    assert driver.wait(days=3) == []  # 20 April: the next notice is due on the 23rd
    driver.now = deadline + timedelta(days=7)
    assert driver.wait(seconds=1) == ["timer_decision_overdue#1"]
    assert _notices(onestop, driver.code) == ["notice.delay", "notice.delay"]
    assert driver.case().timeliness_at(driver.now) == "late"

    driver.complete("plan_review", PLAN_OK)
    driver.complete("site_visit", SITE)
    driver.complete("approval", {"decision": "approve", "conditions": []})
    cancelled = [e for e in onestop.queries.events("system", driver.code) if e.kind == "task_cancelled"]
    assert "timer_decision_overdue" in {e.element_id for e in cancelled}
    assert driver.wait(days=8) == []  # decided: the notices stop
    assert _notices(onestop, driver.code) == ["notice.delay", "notice.delay"]
    assert_verifies(onestop)


def test_no_notice_when_the_decision_comes_in_time(driver: CaseDriver, onestop: OneStop) -> None:
    driver.start("building_permit")
    driver.complete("check_completeness", COMPLETE)
    driver.complete("plan_review", PLAN_OK)
    driver.complete("site_visit", SITE)
    driver.complete("approval", {"decision": "approve", "conditions": []})
    driver.now = datetime(2026, 5, 1, tzinfo=UTC)
    driver.wait()
    assert _notices(onestop, driver.code) == []
