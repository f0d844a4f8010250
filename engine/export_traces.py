"""Case histories read for process mining: one trace per case, each event labelled.

The reader streams ``case_events`` joined to their case in (case, seq) order through a
server-side cursor (``stream_results``, ``yield_per``), so memory holds one batch of rows and
one case's trace at a time however long the history. Only the payloads that carry structure
(attachments, gateway targets, message names) are fetched at all; form data never leaves the
database through here.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from sqlalchemy import Engine, RowMapping, Select, case, select

from engine.clock import stored_instant
from engine.persistence.models import Case, CaseEvent, OrgUnit, Procedure, ProcedureVersion, table_of
from engine.specs import CompiledProcedure

ActivityScope = Literal["all", "tasks"]

_BATCH = 1000
_CHOICES = (ExclusiveGateway, InclusiveGateway, EventBasedGateway)
# Containers (an embedded subprocess, a call activity) are not activities: their tasks are.
_NOT_TASKS = (
    CatchingEvent,
    ThrowingEvent,
    ExclusiveGateway,
    InclusiveGateway,
    ParallelGateway,
    SubWorkflowTask,
)
# Kinds that record the completion of a BPMN task (user, service, script ...).
_TASK_COMPLETIONS = frozenset({"task_completed", "service_called", "step_completed"})
# timers_due only names the timers whose timer_fired events follow it.
_BOOKKEEPING = frozenset({"timers_due"})
_CASE_LABELS = {
    "case_started": "Case received",
    "case_completed": "Case completed",
    "case_cancelled": "Case cancelled",
}
_TRANSITIONS = {
    "task_ready": "schedule",
    "timer_set": "schedule",
    "task_claimed": "assign",
    "task_assigned": "assign",
    "task_released": "reassign",
    "task_cancelled": "ate_abort",
    "case_cancelled": "pi_abort",
}
_STRUCTURAL_PAYLOADS = ("task_completed", "gateway_taken", "message_received")


@dataclass(frozen=True)
class ElementInfo:
    """How one BPMN element of a version appears in exports."""

    label: str
    lane: str | None
    is_task: bool
    is_choice: bool


@dataclass(frozen=True)
class DocumentRef:
    """A file uploaded with a task, by content digest (never its file name)."""

    digest: str
    field: str
    media_type: str
    size: int


@dataclass(frozen=True)
class ExportEvent:
    seq: int
    at: datetime
    actor: str
    kind: str
    element: str | None
    activity: str
    role: str | None
    transition: str
    documents: tuple[DocumentRef, ...] = ()
    taken: tuple[str, ...] | None = None  # a decision: the elements the gateway chose


@dataclass(frozen=True)
class TraceHeader:
    dossier_code: str
    procedure: str
    version: int
    unit: str
    status: str
    outcome: str | None
    received_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Trace:
    header: TraceHeader
    events: tuple[ExportEvent, ...]


@dataclass(frozen=True)
class TraceQuery:
    """Which cases to read: one procedure, received in [start, end), and which events."""

    procedure: str
    start: datetime | None
    end: datetime | None
    scope: ActivityScope


Catalogue = Mapping[str, ElementInfo]
TraceSource = Callable[[], Iterator[Trace]]


@dataclass(frozen=True)
class ExportInfo:
    """What a whole export file says about itself."""

    procedure: str
    exported_at: datetime
    scope: ActivityScope


def timestamp(moment: datetime) -> str:
    """ISO 8601 with milliseconds and the UTC offset, as XES and OCEL want it."""
    return moment.isoformat(timespec="milliseconds")


def element_catalogue(compiled: CompiledProcedure) -> dict[str, ElementInfo]:
    """Labels, lanes and kinds of every element of a compiled version.

    The label is the element's name, else its id; a name shared by several elements gets
    the id appended so that every element stays one activity for mining tools.
    """
    specs = [*compiled.spec.task_specs.values()]
    specs += [t for sub in compiled.subprocess_specs.values() for t in sub.task_specs.values()]
    specs = [s for s in specs if getattr(s, "bpmn_id", None)]
    names = Counter((s.bpmn_name or "").strip() for s in specs)
    catalogue: dict[str, ElementInfo] = {}
    for spec in specs:
        name = (spec.bpmn_name or "").strip()
        label = name if name and names[name] == 1 else f"{name} [{spec.bpmn_id}]" if name else spec.bpmn_id
        catalogue[spec.bpmn_id] = ElementInfo(
            label=label,
            lane=getattr(spec, "lane", None),
            is_task=not isinstance(spec, _NOT_TASKS),
            is_choice=isinstance(spec, _CHOICES) and len(spec.outputs) > 1,
        )
    return catalogue


def read_traces(engine: Engine, query: TraceQuery, catalogues: Mapping[int, Catalogue]) -> Iterator[Trace]:
    """Stream the matching cases' traces in case order; ``catalogues`` is by version id.

    Opens its own connection on first use and holds it until exhausted or closed.
    """
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(
            _statement(query)
        )
        for _, rows in itertools.groupby(result.mappings(), key=lambda row: row["case_id"]):
            first = next(rows)
            catalogue = catalogues.get(first["procedure_version_id"], {})
            events = (_event(row, catalogue, query.scope) for row in itertools.chain((first,), rows))
            yield Trace(_header(first, query.procedure), tuple(e for e in events if e is not None))


def _statement(query: TraceQuery) -> Select[Any]:
    events, cases, versions = table_of(CaseEvent), table_of(Case), table_of(ProcedureVersion)
    procedures, units = table_of(Procedure), table_of(OrgUnit)
    payload = case((events.c.kind.in_(_STRUCTURAL_PAYLOADS), events.c.payload), else_=None)
    statement = (
        select(
            cases.c.id.label("case_id"),
            cases.c.dossier_code,
            cases.c.procedure_version_id,
            versions.c.version,
            units.c.code.label("unit"),
            cases.c.status,
            cases.c.outcome,
            cases.c.received_at,
            cases.c.closed_at,
            events.c.seq,
            events.c.at,
            events.c.actor,
            events.c.kind,
            events.c.element_id,
            payload.label("payload"),
        )
        .select_from(
            events.join(cases, cases.c.id == events.c.case_id)
            .join(versions, versions.c.id == cases.c.procedure_version_id)
            .join(procedures, procedures.c.id == versions.c.procedure_id)
            .join(units, units.c.id == cases.c.org_unit_id)
        )
        .where(procedures.c.code == query.procedure)
        .order_by(events.c.case_id, events.c.seq)
    )
    if query.start is not None:
        statement = statement.where(cases.c.received_at >= query.start)
    if query.end is not None:
        statement = statement.where(cases.c.received_at < query.end)
    return statement


def _header(row: RowMapping, procedure: str) -> TraceHeader:
    closed = row["closed_at"]
    return TraceHeader(
        dossier_code=row["dossier_code"],
        procedure=procedure,
        version=row["version"],
        unit=row["unit"],
        status=row["status"],
        outcome=row["outcome"],
        received_at=stored_instant(row["received_at"]),
        closed_at=stored_instant(closed) if closed is not None else None,
    )


def _event(row: RowMapping, catalogue: Catalogue, scope: ActivityScope) -> ExportEvent | None:
    kind, element = row["kind"], row["element_id"]
    info = catalogue.get(element) if element else None
    if not _is_exported(kind, info, scope):
        return None
    payload = _payload(row["payload"])
    return ExportEvent(
        seq=row["seq"],
        at=stored_instant(row["at"]),
        actor=row["actor"],
        kind=kind,
        element=element,
        activity=_activity(kind, element, info, payload),
        role=info.lane if info else None,
        transition=_TRANSITIONS.get(kind, "complete"),
        documents=_documents(payload) if kind == "task_completed" else (),
        taken=_taken(payload) if kind == "gateway_taken" and info and info.is_choice else None,
    )


def _is_exported(kind: str, info: ElementInfo | None, scope: ActivityScope) -> bool:
    if scope == "tasks":
        return kind in _TASK_COMPLETIONS and info is not None and info.is_task
    return kind not in _BOOKKEEPING


def _activity(kind: str, element: str | None, info: ElementInfo | None, payload: Mapping[str, Any]) -> str:
    if kind in _CASE_LABELS:
        return _CASE_LABELS[kind]
    if info is not None:
        return info.label
    if kind == "message_received":
        return f"Message {payload.get('name')}"
    return element or kind


def _payload(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def _documents(payload: Mapping[str, Any]) -> tuple[DocumentRef, ...]:
    return tuple(
        DocumentRef(
            digest=str(stored["sha256"]),
            field=str(stored.get("field") or ""),
            media_type=str(stored.get("media_type") or ""),
            size=int(stored.get("size") or 0),
        )
        for stored in payload.get("attachments") or ()
    )


def _taken(payload: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(target) for target in payload.get("targets") or ())
