"""Lint rules on the work a process asks for: who does each user task (lanes and roles),
with which form, which connector a service task calls, which message an event waits for,
which process or decision table is called, and whether the manual's steps match.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Final

from designer.bpmn_model import BPMN, LintContext, Located, Severity, text_of
from designer.lint_rules import Rule
from designer.manual import manual_roles
from engine.directory import RESERVED_ROLES
from engine.errors import ProcedureInvalid
from engine.forms import load_form_schema
from engine.views import Finding

__all__ = ["TASK_RULES"]

FORM_PROPERTY: Final = "formJsonSchemaFilename"
HUMAN_TASKS: Final = ("userTask", "manualTask")


def lanes_and_roles(ctx: LintContext) -> Iterator[Finding]:
    """Each user task sits in a lane, and each lane is named after a known role."""
    known = ctx.known_roles | manual_roles(ctx.manual)
    for task in ctx.model.elements(*HUMAN_TASKS):
        if ctx.model.lane_of(task) is None:
            yield task.finding(
                "error",
                "user-task-no-lane",
                f"{task.kind} {task.label} is in no lane, so no role is responsible for it",
                "put the task in a lane named after the role that does it (e.g. intake_officer)",
            )
    for lane in ctx.model.elements("lane"):
        if lane.element.find(f"{BPMN}childLaneSet") is not None:
            continue  # its tasks are in the inner lanes, whose names are the roles
        role = (lane.element.get("name") or "").strip()
        if not role:
            yield lane.finding(
                "error",
                "lane-no-name",
                f"lane '{lane.id}' has no name; the lane's name is the role that does its tasks",
                "name the lane after a role, e.g. intake_officer",
            )
        elif role in RESERVED_ROLES:
            yield lane.finding(
                "error",
                "lane-reserved-role",
                f"lane '{role}' names a reserved role: its tasks would never reach a worklist",
                "name the lane after the role that does the work (e.g. approver)",
            )
        elif role not in known:
            yield lane.finding(
                "warning",
                "lane-unknown-role",
                f"lane '{role}' is not a role this procedure or the directory knows",
                _did_you_mean(role, known)
                or "name the role in manual.yaml (a step's role or 'roles:') and grant it to staff",
            )


def user_task_forms(ctx: LintContext) -> Iterator[Finding]:
    """Each user task names a form, and the form file exists."""
    used: set[str] = set()
    for task in ctx.model.elements("userTask"):
        properties = [
            p for p in ctx.model.extension(task.element, "property") if p.get("name") == FORM_PROPERTY
        ]
        form = (properties[0].get("value") or "").strip() if properties else ""
        if not form:
            yield task.finding(
                "warning",
                "user-task-no-form",
                f"user task {task.label} has no form, so nothing is recorded when it is done",
                f"add a JSON Schema under forms/ and name it in the task's {FORM_PROPERTY} property",
            )
            continue
        used.add(form)
        if form not in ctx.forms:
            yield task.finding(
                "error",
                "form-missing",
                f"user task {task.label} names form '{form}', which is not in forms/",
                _did_you_mean(form, set(ctx.forms)) or f"add forms/{form} or fix {FORM_PROPERTY}",
                at=properties[0],
            )
    for name in sorted(set(ctx.forms) - used):
        yield Finding(
            severity="info",
            code="form-unused",
            message=f"forms/{name} is not used by any user task",
            file=f"forms/{name}",
            hint=f"name it in a user task's {FORM_PROPERTY} property, or delete it",
        )


def form_schemas(ctx: LintContext) -> Iterator[Finding]:
    """Each form file is a JSON Schema the engine accepts."""
    for name, data in sorted(ctx.forms.items()):
        try:
            load_form_schema(data, file=name)
        except ProcedureInvalid as exc:
            yield Finding(
                severity="error",
                code="form-invalid",
                message=exc.message,
                file=f"forms/{name}",
                line=exc.details.get("line"),
                hint=exc.details.get("pointer") and f"at {exc.details['pointer']} in the schema",
            )


def service_tasks(ctx: LintContext) -> Iterator[Finding]:
    """Service tasks name a registered connector through ``spiffworkflow:serviceTaskOperator``."""
    for task in ctx.model.elements("serviceTask"):
        operators = list(ctx.model.extension(task.element, "serviceTaskOperator"))
        if not operators:
            yield task.finding(
                "error",
                "service-task-no-operator",
                f"service task {task.label} names no connector",
                "add spiffworkflow:serviceTaskOperator with the connector's id (SpiffArena's modeler "
                "does; other modelers leave implementation details out, and the engine cannot guess)",
            )
            continue
        operation = (operators[0].get("id") or "").strip()
        if operation not in ctx.connectors:
            known = ", ".join(sorted(ctx.connectors)) or "none"
            yield task.finding(
                "error",
                "service-task-unknown-connector",
                f"service task {task.label} calls connector '{operation}', which is not registered "
                f"(known: {known})",
                _did_you_mean(operation, set(ctx.connectors))
                or "use a registered connector; new connectors are added in Python by a developer",
                at=operators[0],
            )


def messages(ctx: LintContext) -> Iterator[Finding]:
    """Message events and tasks refer to a ``<bpmn:message>`` that has a name."""
    defined = ctx.model.message_ids
    for event in ctx.model.elements(*_MESSAGE_HOLDERS):
        for definition in event.element.iterchildren(f"{BPMN}messageEventDefinition"):
            yield from _check_message_ref(event, definition.get("messageRef"), defined)
    for task in ctx.model.elements("receiveTask", "sendTask"):
        ref = task.element.get("messageRef")
        if ref is None and task.kind == "sendTask":
            yield task.finding(
                "warning",
                "message-undefined",
                f"send task {task.label} names no message, so it sends nothing",
                "select the message to send, or use a service task with a notification connector",
            )
        else:
            yield from _check_message_ref(task, ref, defined)
    for file, tree in sorted(ctx.model.trees.items()):
        for element in tree.getroot().iter(f"{BPMN}message"):
            if not (element.get("name") or "").strip():
                yield Located(file, element).finding(
                    "warning",
                    "message-no-name",
                    f"message '{element.get('id')}' has no name; messages are delivered by name",
                    "give the message a name, e.g. documents_supplied",
                )


_MESSAGE_HOLDERS: Final = (
    "startEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "endEvent",
)


def _check_message_ref(holder: Located, ref: str | None, defined: set[str]) -> Iterator[Finding]:
    if ref and ref in defined:
        return
    message = (
        f"{holder.kind} {holder.label} refers to message '{ref}', which is not defined"
        if ref
        else f"{holder.kind} {holder.label} waits for or sends a message without saying which"
    )
    yield holder.finding(
        "error",
        "message-undefined",
        message,
        "define the message (<bpmn:message id=... name=...>) and select it on the event",
    )


def called_elements(ctx: LintContext) -> Iterator[Finding]:
    """Call activities name a process of the package; business rule tasks a DMN decision."""
    process_ids = {p.id for p in ctx.model.processes}
    for call in ctx.model.elements("callActivity"):
        called = call.element.get("calledElement")
        if called not in process_ids:
            yield call.finding(
                "error",
                "call-activity-unknown-process",
                f"call activity {call.label} calls process '{called}', which is not in the package",
                _did_you_mean(called or "", {p for p in process_ids if p})
                or "add the called process's .bpmn file to the package or fix calledElement",
            )
    decisions = {
        d.get("id") for tree in ctx.dmn.values() for d in tree.getroot().iter("{*}decision") if d.get("id")
    }
    for task in ctx.model.elements("businessRuleTask"):
        refs = [text_of(r) for r in ctx.model.extension(task.element, "calledDecisionId")]
        ref = refs[0] if refs else ""
        if ref not in decisions:
            yield task.finding(
                "error",
                "decision-unknown",
                f"business rule task {task.label} calls decision '{ref}', which no .dmn file defines",
                _did_you_mean(ref, {d for d in decisions if d})
                or "add the .dmn file to the package or fix spiffworkflow:calledDecisionId",
            )


def manual_steps(ctx: LintContext) -> Iterator[Finding]:
    """The manual's steps are the process's user tasks, in their lanes."""
    steps = ctx.manual.get("steps")
    if not isinstance(steps, list):
        return
    tasks = {t.id: t for t in ctx.model.elements(*HUMAN_TASKS) if t.id}
    listed: set[str] = set()
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        listed.add(step["id"])
        task = tasks.get(step["id"])
        if task is None:
            yield _manual_finding(
                "warning",
                "manual-step-unknown",
                f"manual step '{step['id']}' is not a user task of the process",
                _did_you_mean(step["id"], set(tasks)) or "use the id of the user task the step stands for",
            )
            continue
        lane = ctx.model.lane_of(task)
        role = (lane.element.get("name") or "").strip() if lane else None
        if step.get("role") and role and step["role"] != role:
            yield _manual_finding(
                "warning",
                "manual-step-role-mismatch",
                f"manual step '{step['id']}' says role '{step['role']}', but the task is in lane '{role}'",
                "make the step's role and the task's lane agree",
            )
    for ident in sorted(set(tasks) - listed):
        yield tasks[ident].finding(
            "info",
            "manual-step-missing",
            f"user task {tasks[ident].label} is not among the manual's steps",
            "list it under steps in manual.yaml with its role and allowance_days",
        )


def _manual_finding(severity: Severity, code: str, message: str, hint: str) -> Finding:
    return Finding(severity=severity, code=code, message=message, file="manual.yaml", hint=hint)


def _did_you_mean(value: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(value, sorted(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


TASK_RULES: Final[tuple[Rule, ...]] = (
    lanes_and_roles,
    user_task_forms,
    form_schemas,
    service_tasks,
    messages,
    called_elements,
    manual_steps,
)
