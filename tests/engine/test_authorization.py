"""Only the lane's role in the case's unit (or a unit above it) may act on a work item."""

from __future__ import annotations

import pytest

from engine import OneStop
from engine.errors import CaseNotFound, PermissionDenied, TaskNotReady
from engine.views import CaseView
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE, PLAN_OK


@pytest.fixture
def case(onestop: OneStop) -> CaseView:
    return onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)


def test_officer_of_another_commune_can_neither_see_nor_do_the_work(onestop: OneStop, case: CaseView) -> None:
    item = case.open_items[0]
    assert onestop.queries.work_for("malee") == []
    with pytest.raises(PermissionDenied, match="intake_officer"):
        onestop.cases.claim("malee", item.id, T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.complete("malee", item.id, T0, COMPLETE)
    with pytest.raises(CaseNotFound):
        onestop.queries.case("malee", case.dossier_code)
    assert onestop.queries.case("somchai", case.dossier_code).version == case.version


def test_user_without_the_lane_role_cannot_claim_or_complete(onestop: OneStop, case: CaseView) -> None:
    item = case.open_items[0]
    with pytest.raises(PermissionDenied):
        onestop.cases.claim("niran", item.id, T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.complete("prasert", item.id, T0, COMPLETE)


def test_auditor_reads_everything_and_changes_nothing(onestop: OneStop, case: CaseView) -> None:
    assert onestop.queries.case("lan", case.dossier_code).dossier_code == case.dossier_code
    with pytest.raises(PermissionDenied):
        onestop.cases.complete("lan", case.open_items[0].id, T0, COMPLETE)
    with pytest.raises(PermissionDenied):
        onestop.cases.start_case("lan", "building_permit", "TH.50.01", T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.cancel("lan", case.dossier_code, "no reason", T0)


def test_province_grant_covers_its_communes(onestop: OneStop, case: CaseView) -> None:
    after = onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
    review = next(i for i in after.open_items if i.element_id == "plan_review")
    assert {i.case_code for i in onestop.queries.work_for("kanya")} == {case.dossier_code}
    onestop.cases.complete("kanya", review.id, T0, PLAN_OK)


def test_item_claimed_by_a_colleague_is_refused_with_their_name(onestop: OneStop, case: CaseView) -> None:
    after = onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
    review = next(i for i in after.open_items if i.element_id == "plan_review")
    claimed = onestop.cases.claim("niran", review.id, T0)
    assert (claimed.state, claimed.assignee) == ("claimed", "niran")
    with pytest.raises(TaskNotReady, match="held by niran"):
        onestop.cases.complete("kanya", review.id, T0, PLAN_OK)
    onestop.cases.release("niran", review.id, T0)
    onestop.cases.complete("kanya", review.id, T0, PLAN_OK)


def test_starting_a_case_needs_the_starter_role_in_that_unit(onestop: OneStop) -> None:
    with pytest.raises(PermissionDenied):
        onestop.cases.start_case("somchai", "building_permit", "TH.50.02", T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.start_case("niran", "building_permit", "TH.50.01", T0)


def test_only_the_system_worker_fires_timers(onestop: OneStop) -> None:
    with pytest.raises(PermissionDenied):
        onestop.cases.fire_due_timers("somchai", T0)


def test_recent_cases_show_only_the_units_a_user_works_in(onestop: OneStop, case: CaseView) -> None:
    assert [c.dossier_code for c in onestop.queries.recent_cases("somchai")] == [case.dossier_code]
    assert onestop.queries.recent_cases("malee") == []
    assert [c.dossier_code for c in onestop.queries.recent_cases("lan")] == [case.dossier_code]


def test_reading_case_data_is_logged_with_its_purpose(onestop: OneStop, case: CaseView) -> None:
    onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
    audit = onestop.queries.case_data("lan", case.dossier_code, "annual audit", T0)
    assert audit.data["national_id"] != COMPLETE["national_id"]  # the auditor's work needs no identities
    assert "national_id" in audit.masked_fields
    intake = onestop.queries.case_data("somchai", case.dossier_code, "applicant at the counter", T0)
    assert intake.data["national_id"] == COMPLETE["national_id"] and intake.masked_fields == ()
    with pytest.raises(PermissionDenied):
        onestop.queries.case_data("lan", case.dossier_code, "  ", T0)
    with onestop.db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT actor, purpose, fields FROM access_log ORDER BY id").all()
    assert [(r[0], r[1]) for r in rows] == [("lan", "annual audit"), ("somchai", "applicant at the counter")]
    assert "national_id" not in str(rows[0][2]) and "national_id" in str(rows[1][2])
