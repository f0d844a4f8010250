"""The paths of the building permit, driven as staff and the worker would: shared by the
verification and export tests, which need one case down each way through the process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine import OneStop
from tests.conftest import T0
from tests.procedures.driver import CaseDriver
from tests.procedures.test_building_permit import (
    COMPLETE,
    INCOMPLETE,
    PLAN_BAD,
    PLAN_OK,
    REQUEST,
    SITE,
    pay_and_issue,
    review_and_approve,
)

Path = Callable[[CaseDriver], None]


def drive(onestop: OneStop, path: Path, start: datetime = T0) -> str:
    """One case down ``path``, started at ``start``; its dossier code."""
    driver = CaseDriver(onestop, start, reload_each_step=False)
    driver.start("building_permit")
    path(driver)
    return driver.code


def issued(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)
    review_and_approve(d)
    pay_and_issue(d)


def supplied_then_issued(d: CaseDriver) -> None:
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-10", "items": INCOMPLETE["missing_items"]})
    d.complete("check_supplement", {"supplement_complete": True, "notes": "All items supplied."})
    review_and_approve(d)
    pay_and_issue(d)


def amended_then_refused(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)
    d.complete("plan_review", PLAN_BAD)
    d.complete("site_visit", SITE)
    d.complete("request_amendment", {"amendments": ["Move the rear wall"], "notes": "Resubmit."})
    d.complete("receive_amended_plans", {"amended_plans_received": True, "received_note": "5 sets."})
    d.complete("site_visit", SITE)
    d.complete("plan_review", PLAN_OK)
    d.complete("approval", {"decision": "refuse", "reasons": "Zoning plan changed."})
    d.complete("notify_refusal", {"notice_ref": "CM-2569-0042/R", "notified_on": "2026-04-01"})


def returned_without_supplement(d: CaseDriver) -> None:
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    assert d.wait(days=15, minutes=1)


def returned_insufficient(d: CaseDriver) -> None:
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-10", "items": INCOMPLETE["missing_items"][:1]})
    d.complete(
        "check_supplement", {"supplement_complete": False, "notes": "Engineer's licence still missing."}
    )


def delayed_then_issued(d: CaseDriver) -> None:
    """The decision comes after the 45-day limit: one delay notice, then the permit."""
    d.complete("check_completeness", COMPLETE)
    assert d.wait(days=46) == ["timer_decision_overdue#1"]
    review_and_approve(d)
    pay_and_issue(d)


def lapsed_unpaid(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)
    review_and_approve(d)
    assert d.wait(days=30, minutes=1)


def withdrawn(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)
    d.onestop.cases.cancel("somchai", d.code, "Applicant withdrew", d.now)


def in_review(d: CaseDriver) -> None:
    d.complete("check_completeness", COMPLETE)
    d.complete("site_visit", SITE)


#: Every way through the permit: issued, supplemented, returned, refused after amendment,
#: lapsed, withdrawn, still in review, returned after an insufficient supplement, and
#: issued late after a delay notice.
EVERY_PATH: tuple[Path, ...] = (
    issued,
    supplied_then_issued,
    returned_without_supplement,
    amended_then_refused,
    lapsed_unpaid,
    withdrawn,
    in_review,
    returned_insufficient,
    delayed_then_issued,
)
