"""Lint rules on the shape of a process: what runs, how flows split and join, what is
reachable, and which BPMN constructs the engine does not execute.

Each rule takes a :class:`~designer.bpmn_model.LintContext` and yields findings; codes are
stable (kebab-case) so that tools and tests can rely on them. Rules on tasks, roles, forms,
connectors and messages are in :mod:`designer.lint_tasks`, rules on scripts and timers in
:mod:`designer.lint_scripts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from designer.bpmn_model import ACTIVITIES, BPMN, LintContext, Located, Scope, local, text_of
from engine.views import Finding

__all__ = ["STRUCTURE_RULES"]

Rule = Callable[[LintContext], Iterable[Finding]]

_OMG_NAMESPACE: Final = "{http://www.omg.org/spec/"

#: Constructs SpiffWorkflow parses but does not run, or refuses, with what to do instead.
_UNSUPPORTED: Final[dict[str, tuple[str, str, str]]] = {
    "linkEventDefinition": (
        "link-event-unsupported",
        "link events are accepted by the engine but never followed: a case reaching one gets stuck",
        "connect the two parts with a sequence flow instead of a pair of link events",
    ),
    "compensateEventDefinition": (
        "compensation-unsupported",
        "compensation events are not executed by the engine",
        "model the undo step as an ordinary task on an explicit path",
    ),
}


def executable_process(ctx: LintContext) -> Iterator[Finding]:
    """Exactly one process must be executable (or named by ``process_id`` in the manual)."""
    model = ctx.model
    wanted = ctx.manual.get("process_id")
    if wanted and wanted not in {p.id for p in model.processes}:
        yield Finding(
            severity="error",
            code="manual-process-unknown",
            message=f"manual.yaml names process_id '{wanted}', which no BPMN file defines",
            file="manual.yaml",
            hint="use the id of the <bpmn:process> to run: " + ", ".join(str(p.id) for p in model.processes),
        )
    if not model.processes:
        yield Finding(
            severity="error",
            code="no-executable-process",
            message="the package has no <bpmn:process>: there is nothing to run",
            file=next(iter(sorted(model.trees)), None),
            hint="a collaboration needs at least one pool with its process modelled",
        )
    elif not model.executable:
        first = model.processes[0]
        yield first.finding(
            "error",
            "no-executable-process",
            "no process is marked executable, so the engine has nothing to run",
            f'set isExecutable="true" on the process to run (here {first.label})',
        )
    elif len(model.executable) > 1 and not wanted:
        for process in model.executable[1:]:
            yield process.finding(
                "error",
                "several-executable-processes",
                f"{len(model.executable)} processes are executable; the engine needs to know which to run",
                "name the one to run as process_id in manual.yaml, or mark the others not executable",
            )


def duplicate_ids(ctx: LintContext) -> Iterator[Finding]:
    """Ids must be unique in a file, and process ids across the package."""
    for file, tree in sorted(ctx.model.trees.items()):
        seen: set[str] = set()
        for element in tree.getroot().iter():
            # Only BPMN's own ids must be unique; vendor extensions have ids of their own kind.
            ident = element.get("id") if str(element.tag).startswith(_OMG_NAMESPACE) else None
            if not ident:
                continue
            if ident in seen:
                yield Located(file, element).finding(
                    "error",
                    "duplicate-id",
                    f"id '{ident}' is used by more than one element in {file}",
                    "give every element its own id (modelers do this on copy and paste; rename one)",
                )
            seen.add(ident)
    counts = Counter(p.id for p in ctx.model.processes if p.id)
    files_seen: dict[str, str] = {}
    for process in ctx.model.processes:
        if (
            process.id
            and counts[process.id] > 1
            and files_seen.setdefault(process.id, process.file) != process.file
        ):
            yield process.finding(
                "error",
                "duplicate-id",
                f"process id '{process.id}' is defined in {files_seen[process.id]} "
                f"and again in {process.file}",
                "give each process its own id",
            )


def start_and_end_events(ctx: LintContext) -> Iterator[Finding]:
    """Every process and subprocess starts with a start event and ends with an end event."""
    for scope in ctx.model.scopes:
        if scope.owner.kind == "adHocSubProcess":
            continue
        what = "process" if scope.owner.kind == "process" else "subprocess"
        if not any(scope.of_kind("startEvent")):
            yield scope.owner.finding(
                "error",
                "no-start-event",
                f"{what} {scope.owner.label} has no start event",
                "add a start event where the work begins",
            )
        if not any(scope.of_kind("endEvent")):
            yield scope.owner.finding(
                "error",
                "no-end-event",
                f"{what} {scope.owner.label} has no end event, so it is never clear when a case is done",
                "end every path with an end event named after its outcome (e.g. 'Permit issued')",
            )


def flow_references(ctx: LintContext) -> Iterator[Finding]:
    """Sequence flows connect two elements of the same process or subprocess."""
    for scope in ctx.model.scopes:
        for flow in scope.flows:
            for end in ("sourceRef", "targetRef"):
                ref = flow.element.get(end)
                if ref not in scope.nodes:
                    yield flow.finding(
                        "error",
                        "flow-broken-reference",
                        f"sequence flow {flow.label} has {end}='{ref}', which is not an element of "
                        f"{scope.owner.label}",
                        "reconnect both ends of the flow in the modeler (flows cannot cross "
                        "subprocess borders; use message events between pools)",
                    )


def gateway_conditions(ctx: LintContext) -> Iterator[Finding]:
    """Exclusive and inclusive gateways: every outgoing flow has a condition or is the default."""
    for scope in ctx.model.scopes:
        for gateway in scope.of_kind("exclusiveGateway", "inclusiveGateway"):
            yield from _check_gateway(scope, gateway)
        for gateway in scope.of_kind("parallelGateway"):
            for flow in scope.outgoing(gateway.id or ""):
                if _has_condition(flow):
                    yield flow.finding(
                        "warning",
                        "parallel-gateway-condition",
                        f"flow {flow.label} leaves parallel gateway {gateway.label} with a condition, "
                        "which is ignored: every branch of a parallel gateway is taken",
                        "use an inclusive or exclusive gateway to choose branches",
                    )


def _check_gateway(scope: Scope, gateway: Located) -> Iterator[Finding]:
    outgoing = scope.outgoing(gateway.id or "")
    default = gateway.element.get("default")
    if default and default not in {f.id for f in outgoing}:
        yield gateway.finding(
            "error",
            "gateway-default-invalid",
            f"gateway {gateway.label} names default flow '{default}', which does not leave it",
            "pick the default among the gateway's outgoing flows",
        )
    if len(outgoing) < 2:
        return
    bare = [f for f in outgoing if f.id != default and not _has_condition(f)]
    for flow in bare:
        yield flow.finding(
            "error",
            "gateway-no-condition",
            f"flow {flow.label} leaves gateway {gateway.label} without a condition and is not its default",
            'give the flow a condition such as  decision == "approve"  or make it the gateway\'s default',
        )
    if not default and not bare and gateway.kind == "exclusiveGateway":
        yield gateway.finding(
            "warning",
            "gateway-no-default",
            f"gateway {gateway.label} has no default flow: "
            "a case stops with an error when no condition holds",
            "make one outgoing flow the default (the 'otherwise' branch)",
        )


def _has_condition(flow: Located) -> bool:
    return any(text_of(c) for c in flow.element.iterchildren(f"{BPMN}conditionExpression"))


def implicit_splits(ctx: LintContext) -> Iterator[Finding]:
    """A task with several outgoing flows (an implicit split) is refused by the engine."""
    for scope in ctx.model.scopes:
        for node in scope.nodes.values():
            outgoing = scope.outgoing(node.id or "")
            if node.kind in ACTIVITIES and len(outgoing) > 1:
                yield node.finding(
                    "error",
                    "task-implicit-split",
                    f"{node.kind} {node.label} has {len(outgoing)} outgoing flows; the engine does not "
                    "split after a task",
                    "add a gateway after the task: parallel to do both, exclusive to choose one",
                )


def reachability(ctx: LintContext) -> Iterator[Finding]:
    """Every element can be reached from a start event of its process or subprocess."""
    for scope in ctx.model.scopes:
        if scope.owner.kind == "adHocSubProcess" or not any(scope.of_kind("startEvent")):
            continue
        reached = _reached(scope)
        for node in scope.nodes.values():
            if node.id in reached or node.kind == "boundaryEvent":
                continue  # a boundary event is reached with its host, which is reported
            yield node.finding(
                "warning",
                "unreachable-element",
                f"{node.kind} {node.label} cannot be reached from a start event",
                "connect it with a sequence flow, or delete it",
            )


def _reached(scope: Scope) -> set[str]:
    boundaries: dict[str, list[str]] = {}
    for event in scope.of_kind("boundaryEvent"):
        boundaries.setdefault(event.element.get("attachedToRef") or "", []).append(event.id or "")
    pending = [n.id or "" for n in scope.nodes.values() if _is_root(n)]
    reached: set[str] = set()
    while pending:
        current = pending.pop()
        if current in reached:
            continue
        reached.add(current)
        pending.extend(f.element.get("targetRef") or "" for f in scope.outgoing(current))
        pending.extend(boundaries.get(current, []))
    return reached


def _is_root(node: Located) -> bool:
    element = node.element
    return (
        node.kind == "startEvent"
        or element.get("triggeredByEvent") == "true"
        or element.get("isForCompensation") == "true"
        or (node.kind == "intermediateCatchEvent" and element.find(f"{BPMN}linkEventDefinition") is not None)
    )


def unsupported_constructs(ctx: LintContext) -> Iterator[Finding]:
    """Constructs the engine refuses, or accepts and then does not execute."""
    for scope in ctx.model.scopes:
        for node in scope.nodes.values():
            yield from _unsupported(node)
    for file, tree in sorted(ctx.model.trees.items()):
        for store in tree.getroot().iter(f"{BPMN}dataStore"):
            located = Located(file, store)
            yield located.finding(
                "error",
                "data-store-unsupported",
                f"data store {located.label} has no implementation in the engine",
                "keep data in the case (form fields, script variables) and reach other systems "
                "through a service task and its connector",
            )


def _unsupported(node: Located) -> Iterator[Finding]:
    if node.kind == "complexGateway":
        yield node.finding(
            "error",
            "complex-gateway-unsupported",
            f"complex gateway {node.label} is not supported by the engine",
            "use exclusive, inclusive or parallel gateways",
        )
    elif node.kind == "adHocSubProcess":
        yield node.finding(
            "error",
            "ad-hoc-subprocess-unsupported",
            f"ad-hoc subprocess {node.label} is not executed by the engine",
            "model the tasks with a parallel or inclusive gateway, or as separate steps",
        )
    if node.element.get("isForCompensation") == "true":
        code, message, hint = _UNSUPPORTED["compensateEventDefinition"]
        yield node.finding("error", code, f"{node.label} is a compensation handler: {message}", hint)
    for definition, (code, message, hint) in _UNSUPPORTED.items():
        for found in node.element.iterchildren(f"{BPMN}{definition}"):
            yield node.finding("error", code, f"{node.kind} {node.label}: {message}", hint, at=found)
    for owner in node.element.iterchildren(
        f"{BPMN}potentialOwner", f"{BPMN}humanPerformer", f"{BPMN}performer"
    ):
        yield node.finding(
            "warning",
            "potential-owner-ignored",
            f"{node.label} names a {local(owner)}, which the engine ignores",
            "put the task in a lane named after the role that does it",
            at=owner,
        )


STRUCTURE_RULES: Final[tuple[Rule, ...]] = (
    executable_process,
    duplicate_ids,
    start_and_end_events,
    flow_references,
    gateway_conditions,
    implicit_splits,
    reachability,
    unsupported_constructs,
)
