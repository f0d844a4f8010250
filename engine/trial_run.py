"""Trial runs: a draft procedure driven through a chosen path in memory.

A designer starts a trial with sample data, completes its tasks, delivers messages and
moves its clock; every command returns a :class:`~engine.views.TrialView` listing each step
so far. The code that runs real cases (:class:`~engine.case_workflow.CaseWorkflow`, the
sandbox, the connectors) runs the trial too, but no case, event or attachment is read or
written: the trial lives in the view's opaque ``state``, handed back with the next command.

Rules:

- Only admins and designers (and the system) may run trials; every command checks.
- Form data is validated exactly as a real completion is (:class:`FormInvalid`). A trial
  takes no uploads: in a file field a placeholder ``sample:<name>`` (or any well-formed
  ``sha256:`` reference) stands for a file, and the placeholder is what the trial keeps.
- The trial's case uid is fixed and every command takes ``now``: the same package, inputs
  and instants give the same steps. ``now`` may not go back before the trial's clock.
- ``state`` is checked (format, package digest, checksum) before anything is restored from
  it; a damaged one is refused with :class:`InputRejected`, as is a trial of other files.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.attachments import REFERENCE_PREFIX, file_fields
from engine.authorization import load_principal
from engine.calendars import CalendarBook
from engine.case_deadlines import deadline_at_receipt
from engine.case_workflow import CaseWorkflow, EventDraft, OpenTask
from engine.cases import checked_input, validated_submission
from engine.clock import as_utc
from engine.connectors import ConnectorRegistry, ServiceLedger
from engine.deadlines import due_instant
from engine.errors import InputRejected, OneStopError, TaskNotReady
from engine.forms import FormSchema
from engine.persistence.database import Database
from engine.persistence.models import OrgUnit
from engine.persistence.prepared import Tx
from engine.procedures import VERSION_MANAGERS, _require_role
from engine.sandbox import Sandbox
from engine.sla_clock import CaseClock
from engine.specs import DEFAULT_STARTER_ROLE, CompiledProcedure, PackageFiles, SpecCache
from engine.spiff_time import parse_due
from engine.views import TrialStep, TrialTask, TrialTimer, TrialView

__all__ = ["SAMPLE_FILE_PREFIX", "TRIAL_CASE_UID", "TrialRuns", "next_timer_due"]

TRIAL_CASE_UID: Final = "7a1a1000-0000-4000-8000-000000000000"
SAMPLE_FILE_PREFIX: Final = "sample:"
STATE_FORMAT: Final = "onestop-trial-1"

_TIMER_STEP: Final = timedelta(seconds=1)
_Names = dict[str, tuple[str | None, str | None]]  # element id -> (name, lane)


@dataclass
class _Trial:
    """A trial restored for one command."""

    compiled: CompiledProcedure
    files: PackageFiles
    workflow: CaseWorkflow
    steps: tuple[TrialStep, ...]
    calls: list[dict[str, Any]]


class TrialRuns:
    """Run draft procedures in memory, step by step (see the module docstring).

    Args:
        db: read to check the actor's roles, never written.
        sandbox: where the model's scripts run.
        connectors: what service tasks may call (pure in-process functions).
        cache: compiled packages by digest.
    """

    def __init__(
        self,
        db: Database,
        sandbox: Sandbox,
        connectors: ConnectorRegistry,
        cache: SpecCache | None = None,
        calendars: CalendarBook | None = None,
    ) -> None:
        self.db = db
        self.calendars = calendars or CalendarBook(db)
        self.sandbox = sandbox
        self.connectors = connectors
        self.cache = cache or SpecCache(capacity=16)

    def start(self, actor: str, files: PackageFiles, now: datetime, data: dict[str, Any]) -> TrialView:
        """Start a trial of ``files`` with the case data ``data`` at ``now``.

        Raises:
            PermissionDenied: the actor is neither an admin nor a designer.
            ProcedureInvalid: the package does not compile (findings attached).
            InputRejected: ``data`` is not a JSON object or is too large.
            ScriptRejected / ScriptFailed / WorkflowFailed: the model failed to run.
        """
        now = as_utc(now)
        compiled = self._compiled(actor, files)
        data = checked_input(data, "start data")
        workflow = CaseWorkflow.begin(compiled, TRIAL_CASE_UID, self.sandbox, ServiceLedger(self.connectors))
        workflow.clock = self._clock(actor, compiled, now)
        trial = _Trial(compiled, files, workflow, (), [])
        command = EventDraft("case_started", None, {"procedure": files.code, "data": data})
        return self._view(trial, now, [command, *workflow.start(now, data)])

    def complete(
        self, actor: str, files: PackageFiles, trial: TrialView, ref: str, now: datetime, data: dict[str, Any]
    ) -> TrialView:
        """Complete the open task ``ref`` with form data, validated as in a real case.

        Raises:
            PermissionDenied, ProcedureInvalid: as :meth:`start`.
            InputRejected: the trial's state is damaged, belongs to other files, or ``now``
                is before the trial's clock.
            TaskNotReady: no open task has that ref.
            FormInvalid: the data fails the task's form (the trial is unchanged).
            ScriptRejected / ScriptFailed / WorkflowFailed: the model failed to run.
        """
        now = as_utc(now)
        run = self._restore(actor, files, trial, now)
        data = checked_input(data, "form data")
        task = next((t for t in run.workflow.open_tasks() if t.ref == ref), None)
        if task is None:
            open_refs = ", ".join(t.ref for t in run.workflow.open_tasks()) or "none"
            raise TaskNotReady(f"task '{ref}' is not open in this trial (open: {open_refs})", ref=ref)
        accepted = _trial_submission(run.compiled.form_for(task.element_id), task.name, data)
        command = EventDraft("task_completed", task.element_id, {"ref": ref, "data": accepted})
        return self._view(run, now, [command, *run.workflow.complete(ref, now, accepted)])

    def fire_timers(self, actor: str, files: PackageFiles, trial: TrialView, now: datetime) -> TrialView:
        """Move the trial's clock to ``now`` and fire every timer due by then.

        Raises:
            PermissionDenied, ProcedureInvalid, InputRejected: as :meth:`complete`.
            ScriptRejected / ScriptFailed / WorkflowFailed: the model failed to run.
        """
        now = as_utc(now)
        run = self._restore(actor, files, trial, now)
        # The engine fires a timer once the clock is past its due time, not at it.
        due = sorted(t.ref for t in run.workflow.pending_timers() if parse_due(t.due_at) < now)
        command = [EventDraft("timers_due", None, {"refs": due})] if due else []
        return self._view(run, now, [*command, *run.workflow.fire_timers(now)])

    def deliver(
        self,
        actor: str,
        files: PackageFiles,
        trial: TrialView,
        message: str,
        now: datetime,
        payload: dict[str, Any],
    ) -> TrialView:
        """Deliver ``message`` with ``payload`` from outside (the applicant, another office).

        Raises:
            PermissionDenied, ProcedureInvalid, InputRejected: as :meth:`complete`.
            MessageNotExpected: nothing in the trial waits for ``message``.
            ScriptRejected / ScriptFailed / WorkflowFailed: the model failed to run.
        """
        now = as_utc(now)
        run = self._restore(actor, files, trial, now)
        payload = checked_input(payload, "message payload")
        command = EventDraft("message_received", None, {"name": message, "payload": payload})
        return self._view(run, now, [command, *run.workflow.deliver(message, now, payload)])

    # -- internals ------------------------------------------------------------------------

    def _compiled(self, actor: str, files: PackageFiles) -> CompiledProcedure:
        with self.db.read() as session:
            _require_role(session, actor, VERSION_MANAGERS, f"try out procedure '{files.code}'")
        return self.cache.compile(files)

    def _restore(self, actor: str, files: PackageFiles, trial: TrialView, now: datetime) -> _Trial:
        compiled = self._compiled(actor, files)
        if trial.sha256 != files.sha256:
            raise InputRejected(
                f"this trial ran package {trial.sha256[:12]}, the files given are {files.sha256[:12]}: "
                "the draft changed, so start a new trial",
                field="state",
            )
        body, clock = _read_state(trial.state, files.sha256)
        if now < clock:
            raise InputRejected(
                f"the trial's clock is at {clock.isoformat()}; a step cannot happen before it", field="now"
            )
        try:
            workflow = CaseWorkflow.restore(
                compiled, body["workflow"], self.sandbox, ServiceLedger(self.connectors)
            )
        except Exception as exc:  # SpiffWorkflow's deserializer fails in many ways on bad input
            raise _damaged("its workflow cannot be restored") from exc
        workflow.clock = self._clock(actor, compiled, trial.steps[0].at if trial.steps else clock)
        return _Trial(compiled, files, workflow, trial.steps, body["service_calls"])

    def _clock(self, actor: str, compiled: CompiledProcedure, received: datetime) -> CaseClock:
        """The legal clock of a trial: the calendar of the actor's first unit, and the
        deadline a case received when the trial started would have."""
        with self.db.read() as session:
            tx = Tx.of(session.connection())
            principal = load_principal(tx, actor)
            paths = sorted(path for _, path in principal.grants)
            place = session.execute(
                select(OrgUnit.country, OrgUnit.timezone)
                .where(OrgUnit.path.in_(paths))
                .order_by(OrgUnit.path)
            ).first()
            country, zone = place if place is not None else ("TH", "Asia/Bangkok")
            revision, calendar = self.calendars.current(tx, country, zone)
        rules = compiled.time_rules
        day = deadline_at_receipt(calendar, rules, received)
        due = due_instant(day, calendar.timezone) if day is not None else None
        return CaseClock(calendar, revision, due, rules.allowances, rules.day_type)

    def _view(self, run: _Trial, now: datetime, drafts: list[EventDraft]) -> TrialView:
        names = _element_names(run.compiled)
        steps = (*run.steps, *_steps(drafts, len(run.steps) + 1, now, names))
        calls = [*run.calls, *(asdict(call) for call in run.workflow.service_calls)]
        workflow, compiled = run.workflow, run.compiled
        return TrialView(
            procedure_code=run.files.code,
            sha256=compiled.sha256,
            steps=steps,
            open_tasks=tuple(_open_task(compiled, task) for task in workflow.open_tasks()),
            pending_timers=_timers(workflow, names),
            waiting_messages=tuple(sorted(workflow.waiting_messages())),
            data=_current_data(workflow),
            completed=workflow.is_completed,
            end_events=_end_events(compiled, steps),
            clock=now,
            state=_write_state(compiled.sha256, now, workflow, calls),
        )


def next_timer_due(trial: TrialView) -> datetime | None:
    """The first instant at which the trial's next timer fires, or None when none waits:
    one second after it is due, since timers fire once the clock is past their due time.
    Pass it to :meth:`TrialRuns.fire_timers` to "move the clock to the next timer"."""
    due = min((timer.due_at for timer in trial.pending_timers), default=None)
    return None if due is None else due + _TIMER_STEP


def _trial_submission(form: FormSchema | None, step: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data as a real completion would accept it, file placeholders standing for uploads."""
    fields = file_fields(form.definition) if form is not None else {}
    stand_ins = {name: _stand_in(value) if name in fields else value for name, value in data.items()}
    accepted = validated_submission(form, step, stand_ins, [])
    for name in fields:
        if name in data:
            accepted[name] = copy.deepcopy(data[name])
    return accepted


def _stand_in(value: Any) -> Any:
    if isinstance(value, list):
        return [_stand_in(item) for item in value]
    if isinstance(value, str) and value.startswith(SAMPLE_FILE_PREFIX) and value != SAMPLE_FILE_PREFIX:
        return REFERENCE_PREFIX + hashlib.sha256(value.encode()).hexdigest()
    return value


def _element_names(compiled: CompiledProcedure) -> _Names:
    specs = [compiled.spec, *compiled.subprocess_specs.values()]
    return {
        spec.bpmn_id: (spec.bpmn_name or spec.bpmn_id, getattr(spec, "lane", None))
        for process in specs
        for spec in process.task_specs.values()
        if getattr(spec, "bpmn_id", None)
    }


def _steps(drafts: list[EventDraft], first: int, now: datetime, names: _Names) -> list[TrialStep]:
    steps = []
    for seq, draft in enumerate(drafts, start=first):
        name, lane = names.get(draft.element_id or "", (None, None))
        detail = _json_safe({k: v for k, v in draft.payload.items() if k not in ("name", "lane")})
        if draft.kind == "message_received":
            name = str(draft.payload.get("name"))
        if draft.kind == "gateway_taken":
            detail["target_names"] = [names.get(t, (t, None))[0] for t in detail.get("targets", [])]
        element = draft.element_id
        steps.append(
            TrialStep(
                seq=seq, at=now, kind=draft.kind, element_id=element, name=name, lane=lane, detail=detail
            )
        )
    return steps


def _timers(workflow: CaseWorkflow, names: _Names) -> tuple[TrialTimer, ...]:
    timers = [
        TrialTimer(
            ref=t.ref,
            element_id=t.element_id,
            name=names.get(t.element_id, (None,))[0],
            due_at=parse_due(t.due_at),
        )
        for t in workflow.pending_timers()
    ]
    return tuple(sorted(timers, key=lambda timer: (timer.due_at, timer.ref)))


def _open_task(compiled: CompiledProcedure, task: OpenTask) -> TrialTask:
    form = compiled.form_for(task.element_id)
    return TrialTask(
        ref=task.ref,
        element_id=task.element_id,
        name=task.name,
        lane=task.lane,
        role=task.lane or DEFAULT_STARTER_ROLE,
        form=task.form,
        form_schema=form.json_schema if form is not None else None,
    )


def _current_data(workflow: CaseWorkflow) -> dict[str, Any]:
    """The data the next step would see: of the open and waiting tasks, else of the last
    task that ran."""
    waiting = workflow.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    last = workflow.workflow.last_task
    sources = [task.data for task in waiting] or ([last.data] if last is not None else [])
    merged: dict[str, Any] = {}
    for data in sources:
        merged.update(data)
    return _json_safe(merged)


def _end_events(compiled: CompiledProcedure, steps: tuple[TrialStep, ...]) -> tuple[str, ...]:
    ends = {spec.bpmn_id for spec in compiled.spec.task_specs.values() if isinstance(spec, EndEvent)}
    reached = [s.element_id for s in steps if s.element_id in ends and s.kind != "case_completed"]
    return tuple(dict.fromkeys(e for e in reached if e is not None))


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return safe


def _write_state(sha256: str, now: datetime, workflow: CaseWorkflow, calls: list[dict[str, Any]]) -> str:
    # Not key-sorted: the order of the workflow's task dictionary is the order of its steps.
    body = json.dumps({"clock": now.isoformat(), "workflow": workflow.dump(), "service_calls": calls})
    return json.dumps({"format": STATE_FORMAT, "sha256": sha256, "checksum": _checksum(body), "body": body})


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_state(state: str, sha256: str) -> tuple[dict[str, Any], datetime]:
    """The state's body and clock, once its format, package and checksum are right."""
    try:
        outer = json.loads(state)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _damaged("it is not JSON") from exc
    if not isinstance(outer, dict) or outer.get("format") != STATE_FORMAT:
        raise _damaged(f"it is not in the {STATE_FORMAT} format")
    if outer.get("sha256") != sha256:
        raise InputRejected("the trial's state belongs to other files; start a new trial", field="state")
    body_text = outer.get("body")
    if not isinstance(body_text, str) or _checksum(body_text) != outer.get("checksum"):
        raise _damaged("its checksum does not match")
    try:
        body = json.loads(body_text)
    except (ValueError, RecursionError) as exc:
        raise _damaged("its body is not JSON") from exc
    shapes = {"clock": str, "workflow": dict, "service_calls": list}
    if not isinstance(body, dict) or any(not isinstance(body.get(k), t) for k, t in shapes.items()):
        raise _damaged("it lacks the clock, workflow or service calls")
    if body["workflow"].get("case_uid") != TRIAL_CASE_UID:
        raise _damaged("it is not a trial's workflow")
    try:
        return body, as_utc(datetime.fromisoformat(body["clock"]))
    except (ValueError, OneStopError) as exc:
        raise _damaged("its clock is not an instant") from exc


def _damaged(why: str) -> InputRejected:
    return InputRejected(f"the trial's state is damaged ({why}); start a new trial", field="state")
