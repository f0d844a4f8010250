"""Rebuild a case's workflow: last snapshot + its recorded commands, re-applied.

Each recorded workflow command is applied again with its recorded instant, inputs and
service answers; what the engine produces must equal the events recorded after it, event
by event, or the case does not verify (:class:`IntegrityError` naming the seq).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.case_workflow import CaseWorkflow, EventDraft
from engine.clock import stored_instant
from engine.connectors import ConnectorRegistry, ServiceCall, ServiceLedger
from engine.errors import IntegrityError, OneStopError
from engine.event_chain import canonical_json
from engine.event_store import COMMAND_KINDS, WORKFLOW_COMMANDS, StoredEvent, payload_of
from engine.sandbox import Sandbox
from engine.sla_clock import CaseClock
from engine.specs import CompiledProcedure


@dataclass(frozen=True)
class RecordedCommand:
    """A command event and the consequence events recorded after it."""

    command: StoredEvent
    consequences: tuple[StoredEvent, ...]


def group_commands(events: Sequence[StoredEvent]) -> list[RecordedCommand]:
    """Split an ordered event list into commands.

    Raises:
        IntegrityError: the list starts with a consequence (its command is missing).
    """
    groups: list[RecordedCommand] = []
    current: StoredEvent | None = None
    tail: list[StoredEvent] = []
    for event in events:
        if event.kind in COMMAND_KINDS:
            if current is not None:
                groups.append(RecordedCommand(current, tuple(tail)))
            current, tail = event, []
        elif current is None:
            raise IntegrityError(
                f"event seq {event.seq} ({event.kind}) follows no command",
                seq=event.seq,
                element_id=event.element_id,
            )
        else:
            tail.append(event)
    if current is not None:
        groups.append(RecordedCommand(current, tuple(tail)))
    return groups


def restore_from_snapshot(
    compiled: CompiledProcedure, case_uid: str, snapshot: str, sandbox: Sandbox, registry: ConnectorRegistry
) -> CaseWorkflow:
    """The workflow as of the snapshot; a case without one starts from its first event."""
    if not snapshot:
        return CaseWorkflow.begin(compiled, case_uid, sandbox, ServiceLedger(registry))
    return CaseWorkflow.restore(compiled, json.loads(snapshot), sandbox, ServiceLedger(registry))


def replay(workflow: CaseWorkflow, commands: Sequence[RecordedCommand], registry: ConnectorRegistry) -> None:
    """Re-apply recorded commands to ``workflow`` and check they produce what was recorded.

    Raises:
        IntegrityError: the first divergence, with its seq and element.
    """
    for recorded in commands:
        replay_command(workflow, recorded, registry)
    workflow.use_ledger(ServiceLedger(registry))


def replay_command(workflow: CaseWorkflow, recorded: RecordedCommand, registry: ConnectorRegistry) -> None:
    """Re-apply one recorded command (a no-op for commands that leave the workflow alone).

    The workflow is left holding a ledger that answers from the recorded service calls;
    callers that go on to run live commands give it a fresh one.

    Raises:
        IntegrityError: the command fails now, or produces other events than recorded.
    """
    if recorded.command.kind not in WORKFLOW_COMMANDS:
        return
    calls = [
        ServiceCall(
            str(event.element_id),
            str(payload_of(event).get("operation")),
            dict(payload_of(event).get("params") or {}),
            payload_of(event).get("result"),
        )
        for event in recorded.consequences
        if event.kind == "service_called"
    ]
    workflow.use_ledger(ServiceLedger(registry, replaying=calls))
    try:
        produced = apply_recorded(workflow, recorded.command)
    except IntegrityError:
        raise
    except OneStopError as exc:
        raise IntegrityError(
            f"replay of seq {recorded.command.seq} ({recorded.command.kind}) failed: {exc.message}",
            seq=recorded.command.seq,
            element_id=recorded.command.element_id,
            expected=f"{recorded.command.kind} applies",
            found=exc.message,
        ) from exc
    compare(produced, recorded.consequences, first_seq=recorded.command.seq + 1)


def apply_recorded(workflow: CaseWorkflow, command: StoredEvent) -> list[EventDraft]:
    """Apply one recorded workflow command; return the consequences it produces now."""
    payload = payload_of(command)
    at = stored_instant(command.at)
    recorded_clock = payload.get("clock")
    rules = workflow.compiled.time_rules
    workflow.clock = (
        CaseClock.recorded(recorded_clock, workflow.calendars, rules.allowances, rules.day_type)
        if isinstance(recorded_clock, dict)
        else None
    )
    if command.kind == "case_started":
        return workflow.start(at, dict(payload.get("data") or {}))
    if command.kind == "task_completed":
        return workflow.complete(str(payload["ref"]), at, dict(payload.get("data") or {}))
    if command.kind == "message_received":
        return workflow.deliver(str(payload["name"]), at, dict(payload.get("payload") or {}))
    if command.kind == "timers_due":
        return workflow.fire_timers(at)
    if command.kind == "case_cancelled":
        return workflow.cancel(at)
    raise IntegrityError(f"seq {command.seq}: unknown command kind '{command.kind}'", seq=command.seq)


def compare(
    produced: Sequence[EventDraft], recorded: Sequence[StoredEvent], first_seq: int | None = None
) -> None:
    """Raise at the first event where the engine and the record disagree.

    ``first_seq`` is the seq the first consequence has (or would have): it lets an extra
    event the record lacks be named by the seq it would have taken.

    Raises:
        IntegrityError: naming seq, element, expected and found.
    """
    for index in range(max(len(produced), len(recorded))):
        mine = produced[index] if index < len(produced) else None
        theirs = recorded[index] if index < len(recorded) else None
        if theirs is None:
            assert mine is not None
            raise IntegrityError(
                f"replay produced an extra event {mine.kind} at {mine.element_id} that was never recorded",
                seq=None if first_seq is None else first_seq + index,
                element_id=mine.element_id,
                expected="nothing",
                found=_describe((mine.kind, mine.element_id, _normal(mine.payload))),
            )
        expected = (theirs.kind, theirs.element_id, payload_of(theirs))
        found: tuple[Any, ...] | None = (mine.kind, mine.element_id, _normal(mine.payload)) if mine else None
        if found != expected:
            raise IntegrityError(
                f"seq {theirs.seq}: recorded {expected[0]} at {expected[1]} {expected[2]}, "
                f"replay produced {_describe(found)}",
                seq=theirs.seq,
                element_id=theirs.element_id,
                expected=_describe(expected),
                found=_describe(found),
            )


def _normal(payload: dict[str, Any]) -> dict[str, Any]:
    normal: dict[str, Any] = json.loads(canonical_json(payload))
    return normal


def _describe(found: tuple[Any, ...] | None) -> str:
    if found is None:
        return "nothing"
    kind, element, payload = found
    return f"{kind} at {element} {payload}"
