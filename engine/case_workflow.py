"""A case's running workflow, and the events each step of it produces.

This is the code that runs *inside* a case, kept apart from persistence: it takes the
command's inputs and ``now`` as arguments, touches no database and reads no clock, so the
live command path and recovery from events run exactly the same code.

Tasks are named by BPMN element id and occurrence (``plan_review#2``), never by
SpiffWorkflow's task uuid; the bookkeeping for that travels inside the snapshot.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.connectors import ServiceCall, ServiceLedger
from engine.determinism import TaskIdSource, deterministic
from engine.errors import (
    MessageNotExpected,
    OneStopError,
    TaskNotReady,
    WorkflowFailed,
)
from engine.sandbox import Sandbox
from engine.script_engine import SCRIPT_CHANGES, SandboxedScriptEngine, find_script_error, script_changes
from engine.sla_clock import CalendarSource, CaseClock, running_under
from engine.snapshots import dump_workflow, load_workflow
from engine.specs import CompiledProcedure

_GATEWAYS = (ExclusiveGateway, InclusiveGateway, ParallelGateway, EventBasedGateway)
_PREDICTED = TaskState.MAYBE | TaskState.LIKELY


@dataclass(frozen=True)
class EventDraft:
    """An event before it is numbered and chained."""

    kind: str
    element_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class OpenTask:
    ref: str
    element_id: str
    name: str
    lane: str | None
    form: str | None


@dataclass(frozen=True)
class PendingTimer:
    ref: str
    element_id: str
    due_at: str


def _definitions(spec: Any) -> list[Any]:
    """The event definitions a task waits on (a multiple definition is flattened)."""
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _is_timer(spec: Any) -> bool:
    return any(isinstance(d, TimerEventDefinition) for d in _definitions(spec))


def _due_of(task: Task) -> str | None:
    """When a waiting timer fires next: a date or duration timer keeps an ISO instant, a
    cycle timer a record of its cycles and next instant."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        upcoming = value.get("next") if value.get("cycles") != 0 else None
        return str(upcoming) if upcoming else None
    return str(value) if value else None


class CaseWorkflow:
    """One case's BpmnWorkflow plus deterministic task naming and service recording."""

    def __init__(
        self,
        compiled: CompiledProcedure,
        workflow: BpmnWorkflow,
        sandbox: Sandbox,
        ledger: ServiceLedger,
        ids: TaskIdSource,
        refs: dict[str, str] | None = None,
        occurrences: dict[str, int] | None = None,
    ) -> None:
        self.compiled = compiled
        self.workflow = workflow
        self.ids = ids
        self.refs: dict[str, str] = refs or {}  # task uuid -> ref, for tasks we have named
        self.occurrences: dict[str, int] = occurrences or {}
        self._ledger = ledger
        # Timers (ref, due) last written to the timers table; None until known (after a restore).
        self.synced_timers: frozenset[tuple[str, str]] | None = None
        # The legal clock of the running command, and where recorded calendar revisions are
        # looked up again (see engine.sla_clock).
        self.clock: CaseClock | None = None
        self.calendars: CalendarSource | None = None
        self.workflow.script_engine = SandboxedScriptEngine(sandbox, services=self)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def begin(
        cls, compiled: CompiledProcedure, case_uid: str, sandbox: Sandbox, ledger: ServiceLedger
    ) -> CaseWorkflow:
        """A new, not yet started workflow for a case."""
        ids = TaskIdSource(uuid.UUID(case_uid))
        with deterministic(datetime.fromtimestamp(0).astimezone(), ids):
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs)
        return cls(compiled, workflow, sandbox, ledger, ids)

    @classmethod
    def restore(
        cls, compiled: CompiledProcedure, state: dict[str, Any], sandbox: Sandbox, ledger: ServiceLedger
    ) -> CaseWorkflow:
        """Rebuild from :meth:`dump` output."""
        workflow = load_workflow(state["workflow"], compiled.spec, compiled.subprocess_specs)
        ids = TaskIdSource(uuid.UUID(state["case_uid"]), state["ids_issued"])
        return cls(compiled, workflow, sandbox, ledger, ids, dict(state["refs"]), dict(state["occurrences"]))

    def dump(self) -> dict[str, Any]:
        """Snapshot: SpiffWorkflow state (spec by reference) plus our naming bookkeeping.

        Serialise it without sorting keys: the order of SpiffWorkflow's task dictionary
        is the order in which a step's consequences are reported, and a restored case
        must report them exactly as the live one did.
        """
        return {
            "case_uid": str(self.ids.case_uid),
            "ids_issued": self.ids.issued,
            "refs": dict(self.refs),
            "occurrences": dict(self.occurrences),
            "workflow": dump_workflow(self.workflow),
        }

    # -- ServiceGateway -------------------------------------------------------------------

    def call(self, element_id: str, operation: str, params: dict[str, Any]) -> Any:
        return self._ledger.call(element_id, operation, params)

    def use_ledger(self, ledger: ServiceLedger) -> None:
        self._ledger = ledger

    @property
    def service_calls(self) -> list[ServiceCall]:
        return self._ledger.calls

    # -- commands -------------------------------------------------------------------------

    def start(self, now: datetime, data: dict[str, Any]) -> list[EventDraft]:
        """Run from the start event to the first wait state."""

        def action() -> None:
            self.workflow.data.update(copy.deepcopy(data))
            start = self.workflow.task_tree
            start.data.update(copy.deepcopy(data))

        return self._step(now, action)

    def complete(self, ref: str, now: datetime, data: dict[str, Any]) -> list[EventDraft]:
        """Complete the READY user task ``ref`` with (already validated) form data.

        Raises:
            TaskNotReady: no READY task has that ref.
        """
        task = self._ready_task(ref)

        def action() -> None:
            task.set_data(**copy.deepcopy(data))
            task.run()

        return self._step(now, action)

    def deliver(self, message: str, now: datetime, payload: dict[str, Any]) -> list[EventDraft]:
        """Deliver a message from outside (e.g. the applicant supplied documents).

        Raises:
            MessageNotExpected: nothing in the case waits for ``message``.
        """
        waiting = self.waiting_messages()
        if message not in waiting:
            expected = ", ".join(sorted(waiting)) or "no message"
            raise MessageNotExpected(f"the case is not waiting for '{message}' (it waits for: {expected})")

        def action() -> None:
            self.workflow.send_event(
                BpmnEvent(MessageEventDefinition(message), payload=copy.deepcopy(payload))
            )

        return self._step(now, action)

    def fire_timers(self, now: datetime) -> list[EventDraft]:
        """Fire every timer due at ``now``."""
        return self._step(now, self.workflow.refresh_timers)

    def cancel(self, now: datetime) -> list[EventDraft]:
        """Cancel every open task; the workflow ends."""
        return self._step(now, self.workflow.cancel, run_engine=False)

    # -- state ----------------------------------------------------------------------------

    def open_tasks(self) -> list[OpenTask]:
        tasks = []
        for task in self._all_tasks():
            if task.state != TaskState.READY or not task.task_spec.manual:
                continue
            ref = self.refs.get(str(task.id))
            if ref is None:
                continue
            info = self.compiled.user_tasks.get(task.task_spec.bpmn_id)
            tasks.append(
                OpenTask(
                    ref=ref,
                    element_id=task.task_spec.bpmn_id,
                    name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                    lane=task.task_spec.lane,
                    form=info.form if info else None,
                )
            )
        return tasks

    def pending_timers(self) -> list[PendingTimer]:
        timers = []
        for task in self._waiting_tasks():
            if not _is_timer(task.task_spec):
                continue
            due = _due_of(task)
            ref = self.refs.get(str(task.id))
            if due and ref:
                timers.append(PendingTimer(ref=ref, element_id=task.task_spec.bpmn_id, due_at=due))
        return timers

    def waiting_messages(self, *, boundary: bool = True) -> set[str]:
        """Messages the case waits for. With ``boundary=False`` only those it stands still
        for: caught by an intermediate event or an event-based gateway, not by a boundary
        event (which may arrive while work goes on, like a withdrawal)."""
        names = set()
        for task in self._waiting_tasks():
            if not boundary and isinstance(task.task_spec, BoundaryEvent):
                continue
            for definition in _definitions(task.task_spec):
                if type(definition).__name__ == "MessageEventDefinition":
                    names.add(definition.name)
        return names

    def waiting_lane(self, message: str) -> str | None:
        for task in self._waiting_tasks():
            if any(getattr(d, "name", None) == message for d in _definitions(task.task_spec)):
                return getattr(task.task_spec, "lane", None)
        return None

    @property
    def is_completed(self) -> bool:
        """No task of the top-level process is left unfinished (SpiffWorkflow's own test,
        as a flat pass over the task dictionary instead of a tree walk)."""
        if self.workflow.completed:
            return True
        unfinished = TaskState.NOT_FINISHED_MASK
        return not any(task.state & unfinished for task in self.workflow.tasks.values())

    # -- internals ------------------------------------------------------------------------

    def _all_tasks(self) -> Iterator[Task]:
        """Every task of the case, top workflow and subprocesses, in creation order.

        A plain pass over SpiffWorkflow's task dictionaries: several times cheaper than
        its tree iterator, and just as deterministic.
        """
        yield from self.workflow.tasks.values()
        for subprocess in self.workflow.subprocesses.values():
            yield from subprocess.tasks.values()

    def _waits_on_timer(self) -> bool:
        return any(_is_timer(task.task_spec) for task in self._waiting_tasks())

    def _waiting_tasks(self) -> Iterator[Task]:
        for task in list(self.workflow.event_manager.tasks.values()):
            if task.state == TaskState.WAITING:
                yield task

    def _ready_task(self, ref: str) -> Task:
        for task_id, known in self.refs.items():
            if known == ref:
                task = self.workflow.get_task_from_id(uuid.UUID(task_id))
                if task is not None and task.state == TaskState.READY:
                    return task
                break
        raise TaskNotReady(f"work item '{ref}' is not open")

    def _step(self, now: datetime, action: Callable[[], Any], run_engine: bool = True) -> list[EventDraft]:
        before = {task.id: task.state for task in self._all_tasks()}
        try:
            with deterministic(now, self.ids), running_under(self.clock):
                action()
                if run_engine:
                    self.workflow.do_engine_steps()
                    if self._waits_on_timer():
                        # A timer already due needs a refresh and another pass to fire.
                        self.workflow.refresh_timers()
                        self.workflow.do_engine_steps()
        except OneStopError:
            raise
        except Exception as exc:  # SpiffWorkflow wraps script and service errors in its own
            found = find_script_error(exc)
            if found is not None:
                raise found from exc
            raise WorkflowFailed(f"the engine could not run the next step: {exc}") from exc
        return self._consequences(before, cancelling=not run_engine)

    def _consequences(self, before: dict[uuid.UUID, TaskState], cancelling: bool) -> list[EventDraft]:
        drafts: list[EventDraft] = []
        present: set[uuid.UUID] = set()
        end_reached: Task | None = None
        for task in self._all_tasks():
            present.add(task.id)
            was = before.get(task.id)
            if task.state == was:
                continue
            draft = self._describe(task, was)
            if draft is not None:
                drafts.append(draft)
                if isinstance(task.task_spec, EndEvent) and task.workflow is self.workflow:
                    end_reached = task
        # Open tasks that SpiffWorkflow dropped from the tree were cancelled too.
        for task_id, state in before.items():
            if task_id in present or state not in (TaskState.READY, TaskState.WAITING):
                continue
            ref = self.refs.get(str(task_id))
            if ref is not None:
                drafts.append(EventDraft("task_cancelled", ref.split("#")[0], {"ref": ref}))
        if self.is_completed and not cancelling:
            spec = end_reached.task_spec if end_reached is not None else None
            drafts.append(
                EventDraft(
                    "case_completed",
                    spec.bpmn_id if spec is not None else None,
                    {"outcome": spec.bpmn_name if spec is not None else None},
                )
            )
        return drafts

    def _describe(self, task: Task, was: TaskState | None) -> EventDraft | None:
        spec = task.task_spec
        element = getattr(spec, "bpmn_id", None)
        if element is None:
            return None
        state = task.state
        ref = self.refs.get(str(task.id))
        if state == TaskState.READY and spec.manual:
            ref = self._name(task)
            info = self.compiled.user_tasks.get(element)
            return EventDraft(
                "task_ready",
                element,
                {
                    "ref": ref,
                    "name": spec.bpmn_name or element,
                    "lane": spec.lane,
                    "form": info.form if info else None,
                },
            )
        if state == TaskState.WAITING and _is_timer(spec):
            ref = self._name(task)
            return EventDraft("timer_set", element, {"ref": ref, "due_at": _due_of(task)})
        if state == TaskState.CANCELLED:
            if ref is not None and was in (TaskState.READY, TaskState.WAITING):
                return EventDraft("task_cancelled", element, {"ref": ref})
            return None
        if state != TaskState.COMPLETED or spec.manual:
            return None  # a completed user task is recorded by the command's own event
        if isinstance(spec, _GATEWAYS):
            taken = sorted(
                child.task_spec.bpmn_id
                for child in task.children
                if child.task_spec.bpmn_id and not (child.state & (_PREDICTED | TaskState.CANCELLED))
            )
            return EventDraft("gateway_taken", element, {"targets": taken})
        if isinstance(spec, ServiceTask):
            call = next((c for c in self.service_calls if c.element_id == element), None)
            return EventDraft(
                "service_called",
                element,
                {
                    "operation": call.operation if call else None,
                    "params": call.params if call else None,
                    "result": call.result if call else None,
                },
            )
        if isinstance(spec, CatchingEvent | ThrowingEvent):
            if ref is not None and _is_timer(spec):
                return EventDraft("timer_fired", element, {"ref": ref, "name": spec.bpmn_name})
            return EventDraft("event_reached", element, {"name": spec.bpmn_name})
        payload: dict[str, Any] = {"name": spec.bpmn_name, "type": type(spec).__name__}
        changes = task.internal_data.pop(SCRIPT_CHANGES, None)
        if isinstance(spec, BusinessRuleTaskMixin) and task.parent is not None:
            changes = script_changes(task.parent.data, task.data)  # the decision table's outputs
        if changes and (changes["set"] or changes["removed"]):
            payload["data"], payload["removed"] = changes["set"], changes["removed"]
        return EventDraft("step_completed", element, payload)

    def _name(self, task: Task) -> str:
        key = str(task.id)
        known = self.refs.get(key)
        if known is not None:
            return known
        element = task.task_spec.bpmn_id
        count = self.occurrences.get(element, 0) + 1
        self.occurrences[element] = count
        ref = f"{element}#{count}"
        self.refs[key] = ref
        return ref
