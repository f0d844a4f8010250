"""Trial runs: a draft driven through chosen paths in memory, touching no case."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from designer.packages import read_package
from engine import SYSTEM_ACTOR, OneStop, PackageFiles
from engine.errors import (
    FormInvalid,
    InputRejected,
    MessageNotExpected,
    PermissionDenied,
    ProcedureInvalid,
    TaskNotReady,
)
from engine.persistence.models import Base
from engine.trial_run import next_timer_due
from engine.views import TrialView
from tests.conftest import PROCEDURES, T0
from tests.procedures.test_building_permit import (
    APPROVE,
    COMPLETE,
    INCOMPLETE,
    ISSUE,
    PAY,
    PLAN_OK,
    REQUEST,
    SITE,
)

REFUSE = {"decision": "refuse", "reasons": "The plot lies in a green zone."}
NOTICE = {"notice_ref": "CM-MUN-2569-0007", "notified_on": "2026-03-20"}


@pytest.fixture
def files() -> PackageFiles:
    return read_package(PROCEDURES / "building_permit")


@pytest.fixture
def designer(onestop: OneStop) -> str:
    onestop.directory.ensure_user(username="dara", display_name="Dara", grants=[("designer", "TH.50")])
    return "dara"


def row_counts(onestop: OneStop) -> dict[str, int]:
    with onestop.db.read() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def ref_of(trial: TrialView, element_id: str) -> str:
    refs = [task.ref for task in trial.open_tasks if task.element_id == element_id]
    assert refs, f"{element_id} is not open; open: {open_elements(trial)}"
    return refs[0]


def open_elements(trial: TrialView) -> list[str]:
    return sorted(task.element_id for task in trial.open_tasks)


class Trial:
    """Drives one trial, a day between steps."""

    def __init__(self, onestop: OneStop, files: PackageFiles, actor: str) -> None:
        self.onestop, self.files, self.actor = onestop, files, actor
        self.view = onestop.trials.start(actor, files, T0, {"channel": "counter"})

    def complete(self, element_id: str, data: dict[str, Any]) -> TrialView:
        at = self.view.clock + timedelta(days=1)
        ref = ref_of(self.view, element_id)
        self.view = self.onestop.trials.complete(self.actor, self.files, self.view, ref, at, data)
        return self.view

    def kinds(self, since: int = 0) -> list[tuple[str, str | None]]:
        return [(step.kind, step.element_id) for step in self.view.steps[since:]]


def review_and_approve(trial: Trial, decision: dict[str, Any]) -> None:
    trial.complete("check_completeness", COMPLETE)
    assert open_elements(trial.view) == ["plan_review", "site_visit"]
    trial.complete("site_visit", SITE)
    trial.complete("plan_review", PLAN_OK)
    trial.complete("approval", decision)


def test_a_designer_drives_the_happy_path_to_the_permit_issued_end(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    before = row_counts(onestop)
    trial = Trial(onestop, files, designer)
    assert trial.kinds() == [
        ("case_started", None),
        ("event_reached", "start_application_received"),
        ("task_ready", "check_completeness"),
    ]
    first = trial.view.open_tasks[0]
    assert (first.ref, first.role, first.form) == (
        "check_completeness#1",
        "intake_officer",
        "check_completeness.json",
    )
    assert first.form_schema is not None and "national_id" in first.form_schema["properties"]

    review_and_approve(trial, APPROVE)
    seen = len(trial.view.steps)
    assert open_elements(trial.view) == ["record_payment"]
    fee = [s for s in trial.view.steps if s.element_id == "calculate_fee"]
    assert [s.kind for s in fee] == ["step_completed"]  # the decision table of fees
    assert trial.view.data["fee"]["amount"] == pytest.approx(110.0)
    assert [t.element_id for t in trial.view.pending_timers] == ["timer_payment_deadline"]
    trial.complete("record_payment", PAY)
    view = trial.complete("issue_permit", ISSUE)

    assert view.completed and view.end_events == ("end_permit_issued",)
    assert view.open_tasks == () and view.pending_timers == () and view.waiting_messages == ()
    assert trial.kinds(seen) == [
        ("task_completed", "record_payment"),
        ("task_cancelled", "timer_payment_deadline"),
        ("task_ready", "issue_permit"),
        ("task_completed", "issue_permit"),
        ("event_reached", "end_permit_issued"),
        ("case_completed", "end_permit_issued"),
    ]
    assert [s.seq for s in view.steps] == list(range(1, len(view.steps) + 1))
    decision = next(s for s in view.steps if s.kind == "gateway_taken" and s.element_id == "gw_decision")
    assert decision.detail == {"targets": ["calculate_fee"], "target_names": ["Calculate fee"]}
    assert decision.lane == "approver" and decision.name == "Decision?"
    assert view.clock == T0 + timedelta(days=6) and view.procedure_code == "building_permit"
    assert row_counts(onestop) == before


def test_a_refusal_ends_at_permit_refused(onestop: OneStop, files: PackageFiles) -> None:
    trial = Trial(onestop, files, "admin")
    review_and_approve(trial, REFUSE)
    assert open_elements(trial.view) == ["notify_refusal"]
    assert trial.view.data["reasons"] == REFUSE["reasons"]
    view = trial.complete("notify_refusal", NOTICE)
    assert view.completed and view.end_events == ("end_permit_refused",)
    # The registry was consulted; the delay notice and fee were not.
    assert [s.element_id for s in view.steps if s.kind == "service_called"] == ["lookup_applicant"]


def test_the_supplement_times_out_once_the_clock_moves_past_the_timer(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    before = row_counts(onestop)
    trial = Trial(onestop, files, designer)
    trial.complete("check_completeness", INCOMPLETE)
    view = trial.complete("request_supplement", REQUEST)
    assert view.waiting_messages == ("documents_supplied",)
    due = view.pending_timers[0].due_at
    assert due == view.clock + timedelta(days=15)
    assert next_timer_due(view) == due + timedelta(seconds=1)

    early = onestop.trials.fire_timers(designer, files, view, due)
    assert not early.completed and early.steps == view.steps and early.clock == due
    moment = next_timer_due(view)
    assert moment is not None
    late = onestop.trials.fire_timers(designer, files, early, moment)

    assert late.completed and late.end_events == ("end_returned_no_supplement",)
    assert [(s.kind, s.element_id) for s in late.steps[len(view.steps) :]] == [
        ("timers_due", None),
        ("gateway_taken", "gw_await_supplement"),
        ("event_reached", "timer_supplement_deadline"),
        ("event_reached", "end_returned_no_supplement"),
        ("case_completed", "end_returned_no_supplement"),
    ]
    assert next_timer_due(late) is None
    assert row_counts(onestop) == before


def test_a_delivered_message_leads_to_the_supplement_check(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    trial = Trial(onestop, files, designer)
    trial.complete("check_completeness", INCOMPLETE)
    view = trial.complete("request_supplement", REQUEST)
    with pytest.raises(MessageNotExpected, match="amended_plans"):
        onestop.trials.deliver(designer, files, view, "amended_plans", view.clock, {})

    payload = {"documents": ["Copy of the land title deed (all pages)"]}
    trial.view = onestop.trials.deliver(designer, files, view, "documents_supplied", view.clock, payload)

    assert trial.view.steps[len(view.steps)].kind == "message_received"
    assert trial.view.steps[len(view.steps)].name == "documents_supplied"
    assert open_elements(trial.view) == ["check_supplement"]
    assert trial.view.pending_timers == () and trial.view.waiting_messages == ()
    assert trial.view.data["supplement"] == payload
    trial.complete("check_supplement", {"supplement_complete": True})
    assert open_elements(trial.view) == ["plan_review", "site_visit"]


def test_only_admins_designers_and_the_system_may_run_trials(onestop: OneStop, files: PackageFiles) -> None:
    for actor in ("niran", "lan", "nobody"):
        with pytest.raises(PermissionDenied, match=f"{actor} may not try out procedure 'building_permit'"):
            onestop.trials.start(actor, files, T0, {})
    view = onestop.trials.start(SYSTEM_ACTOR, files, T0, {})
    with pytest.raises(PermissionDenied):
        onestop.trials.complete("somchai", files, view, "check_completeness#1", T0, COMPLETE)


def test_invalid_form_data_is_refused_as_in_a_case_and_leaves_the_trial_unchanged(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    view = onestop.trials.start(designer, files, T0, {})
    copy = view.model_copy(deep=True)
    bad = {**COMPLETE, "national_id": "1101700230075", "storeys": 0}

    with pytest.raises(FormInvalid) as refused:
        onestop.trials.complete(designer, files, view, "check_completeness#1", T0, bad)

    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    item = case.open_items[0]
    with pytest.raises(FormInvalid) as in_case:
        onestop.cases.complete("somchai", item.id, T0, bad)
    assert refused.value.errors == in_case.value.errors
    assert [e.field for e in refused.value.errors] == ["national_id", "storeys"]
    assert view == copy
    after = onestop.trials.complete(designer, files, view, "check_completeness#1", T0, COMPLETE)
    assert open_elements(after) == ["plan_review", "site_visit"]
    with pytest.raises(TaskNotReady, match="check_completeness#1"):
        onestop.trials.complete(designer, files, after, "check_completeness#1", T0, COMPLETE)


def test_file_fields_take_sample_placeholders_instead_of_uploads(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    view = onestop.trials.start(designer, files, T0, {})
    with_files = {**COMPLETE, "id_card_copy": "sample:id-card.pdf", "building_plans": ["sample:plans.pdf"]}
    after = onestop.trials.complete(designer, files, view, "check_completeness#1", T0, with_files)
    assert after.steps[len(view.steps)].detail["data"]["building_plans"] == ["sample:plans.pdf"]
    assert after.data["id_card_copy"] == "sample:id-card.pdf"
    with pytest.raises(FormInvalid, match="upload the file here"):
        onestop.trials.complete(
            designer, files, view, "check_completeness#1", T0, {**COMPLETE, "id_card_copy": "id.pdf"}
        )


def test_the_same_inputs_give_the_same_trial(onestop: OneStop, files: PackageFiles, designer: str) -> None:
    runs = []
    for _ in range(2):
        trial = Trial(onestop, files, designer)
        review_and_approve(trial, APPROVE)
        runs.append(trial.view)
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    "state",
    [
        "not json",
        "[]",
        '{"format": "onestop-trial-0"}',
        "{" * 100_000,
    ],
)
def test_a_garbage_state_is_refused_clearly(
    onestop: OneStop, files: PackageFiles, designer: str, state: str
) -> None:
    view = onestop.trials.start(designer, files, T0, {})
    with pytest.raises(InputRejected, match="the trial's state is damaged") as refused:
        onestop.trials.complete(
            designer, files, view.model_copy(update={"state": state}), "check_completeness#1", T0, COMPLETE
        )
    assert refused.value.details["field"] == "state"


def test_a_tampered_state_or_other_files_or_an_earlier_clock_are_refused(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    view = onestop.trials.start(designer, files, T0, {})
    tampered = view.model_copy(update={"state": view.state.replace("check_completeness", "check_supplement")})
    with pytest.raises(InputRejected, match="checksum does not match"):
        onestop.trials.fire_timers(designer, files, tampered, T0)
    changed = replace(files, manual={**files.manual, "starter_role": "engineer"})
    with pytest.raises(InputRejected, match="start a new trial"):
        onestop.trials.fire_timers(designer, changed, view, T0)
    with pytest.raises(InputRejected, match="cannot happen before it"):
        onestop.trials.fire_timers(designer, files, view, T0 - timedelta(minutes=1))


def test_a_broken_package_gives_procedure_invalid_with_findings(
    onestop: OneStop, files: PackageFiles, designer: str
) -> None:
    without_forms = replace(files, forms={})
    with pytest.raises(ProcedureInvalid) as refused:
        onestop.trials.start(designer, without_forms, T0, {})
    assert {f.code for f in refused.value.findings} == {"form-missing"}
    garbled = replace(files, bpmn={"process.bpmn": b"<bpmn:definitions"})
    with pytest.raises(ProcedureInvalid) as refused:
        onestop.trials.start(designer, garbled, T0, {})
    assert refused.value.findings and refused.value.findings[0].file == "process.bpmn"
