"""Every path of the Thai special waste pickup (Public Health Act B.E. 2535 ss.18-20), its fee
table (fee.dmn), forms, registry lookup and appointment date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from designer.packages import read_package
from designer.validation import validate_package
from engine import OneStop
from engine.errors import FormInvalid, MessageNotExpected
from tests.conftest import PROCEDURES, T0
from tests.procedures import th_waste_pickup_paths as paths
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.library import published

PACKAGE = PROCEDURES / "th_waste_pickup"
BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units and users, with the waste pickup published."""
    yield from published(database_url, PACKAGE)


@pytest.fixture
def driver(onestop: OneStop) -> CaseDriver:
    """A case reloaded from the database before every step."""
    return CaseDriver(onestop, T0, reload_each_step=True)


def outcome(d: CaseDriver) -> tuple[str, str | None]:
    case = d.case()
    return case.status, case.outcome


def data_of(onestop: OneStop, d: CaseDriver) -> dict[str, Any]:
    return onestop.queries.case_data("somchai", d.code, "test", d.now).data


def reached(onestop: OneStop, d: CaseDriver, kind: str) -> list[str]:
    return [e.element_id or "" for e in onestop.queries.events("system", d.code) if e.kind == kind]


def test_the_package_validates_without_findings() -> None:
    assert validate_package(read_package(PACKAGE)) == []


# -- paths ---------------------------------------------------------------------------------


def test_a_small_household_load_is_free_collected_and_rated(driver: CaseDriver, onestop: OneStop) -> None:
    paths.free_and_rated(driver)
    assert outcome(driver) == ("completed", "Closed and rated")
    data = data_of(onestop, driver)
    assert data["fee"] == {"amount": 0, "currency": "THB", "rule": "household_free"}
    assert "record_payment" not in reached(onestop, driver, "task_ready")  # the free tier skips the cashier
    assert data["service_rated"] == {"rating": 5, "comment": "Quick and clean."}
    assert data["collection_photo"].startswith("sha256:") and data["waste_photo"].startswith("sha256:")
    assert sorted(doc.filename for doc in onestop.queries.documents("somchai", driver.code)) == [
        "collection_photo.png",
        "waste_photo.jpg",
    ]
    assert onestop.verify(driver.code).ok


def test_bulky_waste_is_paid_at_the_cashier_then_collected(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver, paths.BULKY)
    driver.complete("check_completeness", paths.COMPLETE)
    assert driver.open_elements() == ["record_payment"]
    assert driver.item("record_payment").role == "cashier"
    task = onestop.tasks.task("achara", driver.item("record_payment").id, driver.now)
    assert task.prefill["amount_due"] == 400  # bulky, over 2 up to 5 m³
    assert "**400 THB**" in (task.instructions or "")
    driver.complete("record_payment", paths.PAY_BULKY)
    assert driver.item("schedule_pickup").role == "sanitation_officer"
    paths.collect(driver)
    assert "waiting for service_rated" in driver.case().current_step
    paths.rate(driver, 4)
    assert outcome(driver) == ("completed", "Closed and rated")
    assert data_of(onestop, driver)["fee"]["rule"] == "bulky_2-5"
    assert onestop.verify(driver.code).ok


def test_a_supplied_photo_continues_and_no_rating_closes_after_7_days(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.supplied_then_unrated(driver)
    assert outcome(driver) == ("completed", "Closed without a rating")
    data = data_of(onestop, driver)
    assert data["fee"]["amount"] == 100 and "service_rated" not in data
    assert data["waste_photo"].startswith("sha256:")  # supplied at the supplement check
    assert onestop.verify(driver.code).ok


def test_the_rating_window_is_7_days(driver: CaseDriver) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.COMPLETE)
    paths.collect(driver)
    assert driver.wait(days=6, hours=23) == []
    assert driver.case().status == "running"
    assert driver.wait(hours=1, minutes=1) == ["gw_await_rating#1"]
    assert outcome(driver) == ("completed", "Closed without a rating")


def test_an_unanswered_supplement_request_returns_the_request(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver, photo=False)
    driver.complete("check_completeness", paths.INCOMPLETE)
    driver.complete("request_supplement", paths.SUPPLEMENT_REQUEST)
    assert driver.case().paused_since is not None  # the clock stops while the requester is awaited
    assert driver.wait(days=6) == []
    assert driver.wait(days=1, minutes=1) == ["gw_await_supplement#1"]
    assert outcome(driver) == ("completed", "Request returned (no supplement)")
    assert onestop.verify(driver.code).ok


def test_an_insufficient_supplement_returns_the_request(driver: CaseDriver) -> None:
    paths.returned_insufficient(driver)
    assert outcome(driver) == ("completed", "Request returned (supplement insufficient)")
    assert driver.case().open_items == ()


def test_an_unpaid_fee_cancels_the_request_after_7_days(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver, paths.BULKY)
    driver.complete("check_completeness", paths.COMPLETE)
    assert driver.wait(days=6) == []
    assert driver.open_elements() == ["record_payment"]
    assert driver.wait(days=1, minutes=1) == ["timer_payment_deadline#1"]
    assert outcome(driver) == ("completed", "Request cancelled (fee unpaid)")
    assert driver.open_elements() == [] and "task_cancelled" in driver.kinds()
    assert onestop.verify(driver.code).ok


def test_a_poor_rating_reopens_the_job_once(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.COMPLETE)
    with pytest.raises(MessageNotExpected, match="service_rated"):  # nothing collected yet
        onestop.cases.deliver_message("somchai", driver.code, "service_rated", driver.now, {"rating": 5})
    paths.collect(driver)
    paths.rate(driver, 1, "Half of the branches were left behind.")
    assert driver.open_elements() == ["schedule_pickup"]  # back to the sanitation officer
    task = onestop.tasks.task("boon", driver.item("schedule_pickup").id, driver.now)
    assert task.prefill["reopen_reason"] == "Half of the branches were left behind."
    assert "second and last visit" in (task.instructions or "")
    paths.collect(driver)
    paths.rate(driver, 2, "Better, still not swept.")  # a second poor rating does not reopen
    assert outcome(driver) == ("completed", "Closed and rated")
    ready = reached(onestop, driver, "task_ready")
    assert ready.count("schedule_pickup") == 2 and ready.count("record_collection") == 2
    assert reached(onestop, driver, "step_completed").count("reopen_job") == 1
    assert onestop.verify(driver.code).ok


def test_a_withdrawn_request_keeps_its_code_and_closes_its_work(driver: CaseDriver, onestop: OneStop) -> None:
    paths.withdrawn(driver)
    case = driver.case()
    assert case.status == "cancelled" and case.open_items == ()
    assert onestop.queries.work_for("somchai") == []


def test_every_path_covers_every_branch_and_end_event(onestop: OneStop) -> None:
    codes = [paths.drive(onestop, path) for path in paths.EVERY_PATH]
    assert len(set(codes)) == len(paths.EVERY_PATH)
    report = gateway_coverage(
        (PACKAGE / "process.bpmn").read_bytes(),
        [onestop.queries.events("system", code) for code in codes],
    )
    assert_full_coverage(report, "th_waste_pickup")
    verified = onestop.verify()
    assert verified.ok, verified.problems


# -- the fee table ---------------------------------------------------------------------------

# (waste type, m³) -> (THB, table row), by hand from the ordinance table in the manual:
FEES = [
    (("general", 0.5), (0, "household_free")),  # the free tier includes 0.5 m³
    (("garden", 0.2), (0, "household_free")),
    (("general", 0.6), (100, "household_0.5-2")),
    (("garden", 5.0), (250, "household_2-5")),
    (("general", 8.0), (480, "household_over5")),  # 8 × 60
    (("bulky", 2.0), (200, "bulky_up_to2")),
    (("bulky", 2.5), (400, "bulky_2-5")),
    (("bulky", 6.5), (650, "bulky_over5")),  # 6.5 × 100
    (("construction", 1.0), (300, "construction_up_to2")),
    (("construction", 4.0), (600, "construction_2-5")),
    (("construction", 10.0), (1500, "construction_over5")),  # 10 × 150
]


def test_the_fee_table_gives_the_ordinance_fees(onestop: OneStop) -> None:
    files = read_package(PACKAGE)
    for (waste_type, volume), (amount, row) in FEES:
        view = onestop.trials.start("admin", files, T0, {})
        request = {**paths.REQUEST, "waste_type": waste_type, "estimated_volume": volume}
        for element_id, data in (("receive_request", request), ("check_completeness", paths.COMPLETE)):
            (ref,) = [t.ref for t in view.open_tasks if t.element_id == element_id]
            view = onestop.trials.complete("admin", files, view, ref, view.clock + timedelta(minutes=5), data)
        assert (view.data["fee_amount"], view.data["fee_rule"]) == (amount, row), (waste_type, volume)
        assert view.data["fee"] == {"amount": amount, "currency": "THB", "rule": row}
        expected = ["record_payment"] if amount else ["schedule_pickup"]
        assert [t.element_id for t in view.open_tasks] == expected, (waste_type, volume)


# -- forms, registry, appointment date -----------------------------------------------------

INVALID = [
    ("receive_request", "national_id", "1101700230075"),  # wrong check digit
    ("receive_request", "national_id", "12345"),  # not 13 digits
    ("receive_request", "preferred_date", "2026-02-30"),  # no such day
    ("receive_request", "estimated_volume", 0),  # nothing to collect
]


def test_invalid_ids_dates_and_volumes_are_refused(driver: CaseDriver, onestop: OneStop) -> None:
    driver.start(paths.CODE, unit=paths.UNIT)
    before = driver.case()
    for element_id, field, value in INVALID:
        with pytest.raises(FormInvalid) as refused:
            driver.complete(element_id, {**paths.REQUEST, field: value})
        assert {e.field for e in refused.value.errors} == {field}, value
    assert (driver.case().version, driver.open_elements()) == (before.version, ["receive_request"])
    driver.complete("receive_request", paths.REQUEST)
    driver.complete("check_completeness", paths.COMPLETE)
    for data, field in (
        ({"pickup_date": "05/03/2026"}, "pickup_date"),  # not ISO
        ({"pickup_date": "2026-03-05", "crew": "x" * 201}, "crew"),  # too long
    ):
        with pytest.raises(FormInvalid) as refused:
            driver.complete("schedule_pickup", data)
        assert [e.field for e in refused.value.errors] == [field]


def test_the_collection_needs_its_photo(driver: CaseDriver) -> None:
    paths.start(driver)
    driver.complete("check_completeness", paths.COMPLETE)
    driver.complete("schedule_pickup", paths.SCHEDULE)
    with pytest.raises(FormInvalid) as refused:
        driver.complete("record_collection", paths.COLLECTED)
    assert [e.field for e in refused.value.errors] == ["collection_photo"]


def test_the_registry_fills_the_requester_in_the_completeness_check(
    driver: CaseDriver, onestop: OneStop
) -> None:
    paths.start(driver)
    assert data_of(onestop, driver)["lookup_requester"]["found"] is True
    task = onestop.tasks.task("somchai", driver.item("check_completeness").id, driver.now)
    assert task.prefill["requester_name"] == "นางสาวสมศรี ใจดี"  # the registry's, not the name given
    assert task.prefill["requester_address"].endswith("50200")
    assert "นางสาวสมศรี ใจดี" in (task.instructions or "")
    properties = (task.form_schema or {})["properties"]
    for name in ("requester_name", "requester_address"):
        assert properties[name]["readOnly"] is True
        assert properties[name]["x-source"] == "population_registry"


def test_an_unknown_id_keeps_the_name_given_and_no_address(driver: CaseDriver, onestop: OneStop) -> None:
    paths.start(driver, {**paths.REQUEST, "national_id": paths.UNKNOWN_ID})
    assert data_of(onestop, driver)["lookup_requester"]["found"] is False
    task = onestop.tasks.task("somchai", driver.item("check_completeness").id, driver.now)
    assert (task.prefill["requester_name"], task.prefill["requester_address"]) == ("Somsri Jaidee", "")


def bkk(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BANGKOK)


def test_the_appointment_date_counts_5_working_days_over_chakri_day_and_songkran(onestop: OneStop) -> None:
    # Friday 3 April 2026, 15:30 in Bangkok: after the 15:00 cut-off, so the request counts as
    # received on the next working day: Monday 6 April is Chakri Memorial Day, so Tuesday
    # 7 April. Five working days after it: Wed 8, Thu 9, Fri 10, then (weekend, Songkran
    # Mon 13 - Wed 15 April) Thu 16, Fri 17 April.
    late = onestop.cases.start_case("somchai", paths.CODE, paths.UNIT, bkk(4, 3, 15, 30))
    assert late.appointment_date == late.due_date == date(2026, 4, 17)
    # Received at 14:30, before the cut-off, Friday is the day of receipt: five working days
    # after it are Tue 7, Wed 8, Thu 9, Fri 10 and Thu 16 April.
    early = onestop.cases.start_case("somchai", paths.CODE, paths.UNIT, bkk(4, 3, 14, 30))
    assert early.appointment_date == date(2026, 4, 16)
