"""Replaying a case: diagram and data as they stood after each event, personal values masked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine import OneStop
from engine.errors import CaseNotFound, PermissionDenied
from engine.views import CaseView
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE


@pytest.fixture
def case(onestop: OneStop) -> CaseView:
    """A permit case whose intake step is done: plan review and site visit are open."""
    started = onestop.cases.start_case(
        "somchai", "building_permit", "TH.50.01", T0, {"applicant_name": "Somchai Jaidee"}
    )
    onestop.cases.complete("somchai", started.open_items[0].id, T0 + timedelta(minutes=5), COMPLETE)
    return started


def _access_log(onestop: OneStop) -> list[tuple[str, str]]:
    with onestop.db.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text("SELECT actor, purpose FROM access_log")).all()]


def test_every_event_is_a_frame_with_the_diagram_as_it_stood(onestop: OneStop, case: CaseView) -> None:
    replay = onestop.replays.replay("lan", case.dossier_code, T0)

    events = onestop.queries.events("system", case.dossier_code)
    assert [f.seq for f in replay.frames] == [e.seq for e in events]
    assert (replay.file, replay.case.procedure_code) == ("process.bpmn", "building_permit")
    assert 'id="check_completeness"' in replay.bpmn
    ready = next(f for f in replay.frames if f.kind == "task_ready")
    assert ready.states["check_completeness"] == "active" and "plan_review" not in ready.states
    done = next(f for f in replay.frames if f.kind == "task_completed")
    assert done.states["check_completeness"] == "completed" and done.step == "Check completeness"
    assert replay.frames[-1].states == onestop.queries.diagram("lan", case.dossier_code).states


def test_frames_carry_the_data_of_their_moment_and_what_changed(onestop: OneStop, case: CaseView) -> None:
    frames = onestop.replays.replay("niran", case.dossier_code, T0).frames

    first, done = frames[0], next(f for f in frames if f.kind == "task_completed")
    assert "floor_area" not in first.data and done.data["floor_area"] == 180.0
    changes = {c.field: c for c in done.changes}
    assert (changes["floor_area"].before, changes["floor_area"].after) == (None, 180.0)
    # The registry then vouches for the applicant's name and address (state-sourced).
    registry = next(f for f in frames if f.element_id == "record_registry_data")
    assert {c.field for c in registry.changes} == {"applicant_found", "applicant_name", "applicant_address"}
    later = frames[-1]
    assert later.changes == ()
    assert later.data == {
        **done.data,
        **{c.field: c.after for c in registry.changes},
        "lookup_applicant": later.data["lookup_applicant"],  # the registry's answer, masked
    }
    assert later.data["lookup_applicant"]["applicant_name"] == "น•••"


def test_personal_values_stay_masked_without_a_purpose_or_a_role_that_needs_them(
    onestop: OneStop, case: CaseView
) -> None:
    plain = onestop.replays.replay("somchai", case.dossier_code, T0)
    auditor = onestop.replays.replay("lan", case.dossier_code, T0, purpose="annual audit")

    for replay in (plain, auditor):
        assert replay.frames[-1].data["national_id"] == "•••0074"
        assert replay.frames[0].data["applicant_name"] == "S•••"
        assert "national_id" in replay.masked_fields
    assert _access_log(onestop) == []  # nothing was revealed, so nothing to log


def test_a_reveal_with_a_purpose_is_logged(onestop: OneStop, case: CaseView) -> None:
    replay = onestop.replays.replay("somchai", case.dossier_code, T0, purpose="applicant asked")

    assert replay.frames[-1].data["national_id"] == COMPLETE["national_id"]
    assert replay.masked_fields == ()
    assert _access_log(onestop) == [("somchai", "applicant asked")]
    entry = onestop.access_log.entries("lan").items[0]
    assert entry.dossier_code == case.dossier_code and "national_id" in entry.fields


def test_replay_changes_nothing(onestop: OneStop, case: CaseView) -> None:
    before = onestop.queries.case("system", case.dossier_code)
    events = len(onestop.queries.events("system", case.dossier_code))
    onestop.replays.replay("somchai", case.dossier_code, T0, purpose="check")

    assert onestop.queries.case("system", case.dossier_code) == before
    assert len(onestop.queries.events("system", case.dossier_code)) == events


def test_staff_of_another_unit_cannot_replay_the_case(onestop: OneStop, case: CaseView) -> None:
    with pytest.raises(CaseNotFound):
        onestop.replays.replay("malee", case.dossier_code, T0)
    assert onestop.replays.replay("system", case.dossier_code, T0).frames


def test_auditors_are_refused_every_command(onestop: OneStop, case: CaseView) -> None:
    review = next(i for i in onestop.queries.case("system", case.dossier_code).open_items)
    with pytest.raises(PermissionDenied):
        onestop.cases.start_case("lan", "building_permit", "TH.50.01", T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.claim("lan", review.id, T0)
    with pytest.raises(PermissionDenied):
        onestop.cases.complete("lan", review.id, T0, {})
    with pytest.raises(PermissionDenied):
        onestop.cases.cancel("lan", case.dossier_code, "audit", T0)
    assert onestop.queries.case("system", case.dossier_code).open_items[0].assignee is None
