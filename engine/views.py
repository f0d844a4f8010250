"""Pydantic views: the only shapes that leave the engine.

Frozen models; the engine's public API never returns a SpiffWorkflow object or an ORM row.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.calendar_files import CalendarData
from engine.deadlines import NEARLY_LATE, Outcome, Timeliness, closed_timeliness, timeliness


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Finding(View):
    """One problem (or remark) about a procedure package, with where to look."""

    severity: Literal["error", "warning", "info"]
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    element_id: str | None = None
    hint: str | None = None
    column: int | None = None

    def location(self) -> str:
        """``file:line:column [element]`` as far as known."""
        column = self.column if self.line else None
        parts = ":".join(str(p) for p in (self.file, self.line, column) if p)
        if self.element_id:
            parts = f"{parts} [{self.element_id}]" if parts else f"[{self.element_id}]"
        return parts


class OrgUnitView(View):
    code: str
    name: str
    level: str
    parent_code: str | None
    timezone: str
    country: str
    names: dict[str, str] = Field(default_factory=dict, description="The unit's name per locale")


class GrantView(View):
    role: str
    unit_code: str


class UserView(View):
    username: str
    display_name: str
    locale: str
    active: bool
    grants: tuple[GrantView, ...] = ()


class FederatedSignIn(View):
    """A sign-in through an OpenID Connect provider: the user with the grants the claims
    mapped to, whether the account was created now, and the claim values that were
    skipped (unknown unit, refused role), for the operator's log."""

    user: UserView
    created: bool
    warnings: tuple[str, ...] = ()


class DirectoryChangeView(View):
    """One recorded change to users, role grants or org units (never a password)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class ProcedureVersionView(View):
    procedure_code: str
    version: int
    status: Literal["draft", "published", "retired"]
    sha256: str
    process_id: str
    names: dict[str, str]
    lanes: tuple[str, ...]
    starter_role: str
    time_limit: dict[str, Any] | None = None
    created_by: str
    created_at: datetime
    published_by: str | None = None
    published_at: datetime | None = None
    retired_by: str | None = None
    retired_at: datetime | None = None
    running_cases: int = Field(default=0, description="Cases still running on this version (in lists)")


#: A text of the published catalogue by language code (``th``, ``vi``, ``en``).
CatalogueText = dict[str, str]


class CatalogueStep(View):
    """One step of a published service manual."""

    id: str
    name: CatalogueText = Field(default_factory=dict)
    role: str | None = None
    allowance_days: int | None = None


class CatalogueDocument(View):
    """A document the applicant brings, or that the state already holds (once-only)."""

    name: CatalogueText
    required: bool = True
    held_by_state: bool = False
    note: CatalogueText | None = None


class CatalogueFee(View):
    """A fee; ``amount`` 0 means free of charge, ``None`` that the manual gives no amount."""

    name: CatalogueText
    amount: float | None = None
    unit: str | None = None
    currency: str | None = None
    basis: str | None = None


class CatalogueResult(View):
    """What the citizen receives."""

    name: CatalogueText
    validity: str | None = None


class CatalogueEntry(View):
    """The published service manual of one procedure version: public open data.

    Only the manual's citizen-facing sections and the version's metadata; never who
    imported or published it, nor the engine's own fields (roles, personal-data lists).
    """

    procedure_code: str
    version: int
    sha256: str
    published_at: datetime
    national_code: str | None = None
    name: CatalogueText
    legal_basis: tuple[str, ...] = ()
    responsible_unit: CatalogueText | None = None
    channels: tuple[str, ...] = ()
    time_limit_days: int | None = None
    day_type: Literal["working", "calendar"] | None = None
    cutoff: str | None = Field(default=None, description="Receipts after this local time count next day")
    max_extensions: int | None = None
    steps: tuple[CatalogueStep, ...] = ()
    documents: tuple[CatalogueDocument, ...] = ()
    fees: tuple[CatalogueFee, ...] = ()
    results: tuple[CatalogueResult, ...] = ()
    complaint_channel: CatalogueText | None = None


class ImportResult(View):
    version: ProcedureVersionView
    created: bool = Field(description="False when an identical version already existed")
    findings: tuple[Finding, ...] = ()


class WorkItemView(View):
    id: int
    case_code: str
    procedure_code: str
    ref: str
    element_id: str
    name: str
    role: str
    unit_code: str
    form: str | None
    state: Literal["open", "claimed", "completed", "cancelled"]
    assignee: str | None
    ready_at: datetime
    due_at: datetime | None
    closed_at: datetime | None = None
    closed_by: str | None = None
    case_version: int

    def timeliness_at(self, now: datetime) -> Timeliness:
        """Not yet due / nearly late / late against the step's due date at ``now``."""
        return timeliness(self.due_at if self.state in ("open", "claimed") else None, now)


class CaseView(View):
    dossier_code: str
    procedure_code: str
    procedure_version: int
    unit_code: str
    status: Literal["running", "completed", "cancelled"]
    outcome: str | None
    current_step: str
    received_at: datetime
    appointment_date: date | None
    closed_at: datetime | None
    updated_at: datetime
    version: int
    open_items: tuple[WorkItemView, ...] = ()
    due_date: date | None = None
    due_at: datetime | None = None
    paused_since: datetime | None = None

    def timeliness_at(self, now: datetime, nearly_late: timedelta = NEARLY_LATE) -> Timeliness:
        """Not yet due / nearly late / late while open (a paused clock is never late)."""
        if self.status != "running" or self.paused_since is not None:
            return "no_deadline"
        return timeliness(self.due_at, now, nearly_late)

    @property
    def outcome_timeliness(self) -> Outcome:
        """Early / on time / late once completed."""
        if self.status != "completed" or self.closed_at is None:
            return "no_deadline"
        return closed_timeliness(self.due_at, self.closed_at)


class AttachmentView(View):
    """A document of a case (without its bytes). ``fields`` are the form fields that hold
    it; ``restricted`` means it is personal data the reader's role does not need, so it is
    listed but cannot be opened."""

    id: int
    sha256: str
    filename: str
    media_type: str
    size: int
    uploaded_by: str
    uploaded_at: datetime
    fields: tuple[str, ...] = ()
    restricted: bool = False


class AttachmentFile(View):
    """A document with its bytes (reading it was logged)."""

    attachment: AttachmentView
    content: bytes


class TaskView(View):
    """What a member of staff needs to work one item: the item, its case, the form to fill
    (JSON Schema), values carried over from earlier steps, the step's instructions and the
    case's documents."""

    item: WorkItemView
    case: CaseView
    form_schema: dict[str, Any] | None = None
    prefill: dict[str, Any] = Field(default_factory=dict)
    instructions: str | None = None
    documents: tuple[AttachmentView, ...] = ()


class CaseDataView(View):
    """A case's data as a reader with a purpose may see it (the read is logged)."""

    dossier_code: str
    data: dict[str, Any]
    masked_fields: tuple[str, ...] = ()


class EventView(View):
    seq: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    payload: dict[str, Any]
    hash: str


class FieldChange(View):
    """One field an event set: its value before (None if it had none) and after."""

    field: str
    before: Any = None
    after: Any = None
    masked: bool = False


class TimelineEntry(View):
    """One event of a case as people read it: who, what, when, on which step, which data
    changed, which documents came with it."""

    seq: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    step: str = ""
    changes: tuple[FieldChange, ...] = ()
    documents: tuple[str, ...] = ()
    note: str | None = None


class TimelineView(View):
    """A case's history with data changes; ``masked_fields`` were hidden from this reader."""

    dossier_code: str
    entries: tuple[TimelineEntry, ...]
    masked_fields: tuple[str, ...] = ()


class CalendarRevisionView(View):
    """One stored revision of a jurisdiction's calendar, with who made it and why."""

    id: int
    country: str
    created_at: datetime
    created_by: str
    reason: str
    sha256: str
    data: CalendarData


class ClockEventView(View):
    """A deadline event of a case: set at receipt, extended, paused or resumed."""

    seq: int
    at: datetime
    actor: str
    kind: Literal["deadline_set", "deadline_extended", "clock_paused", "clock_resumed"]
    due_date: date | None = None
    previous_due_date: date | None = None
    reason: str | None = None
    apology_ref: str | None = None
    days: int | None = None  # days a pause moved the deadline on


class TimerFiring(View):
    """The due timers of one case a sweep fired, or the error that stopped them."""

    dossier_code: str
    refs: tuple[str, ...]
    error: str | None = None


class TrialStep(View):
    """One thing that happened in a trial run: a command (``case_started``,
    ``task_completed``, ``message_received``) or what the engine did after it
    (``task_ready``, ``gateway_taken``, ``timer_set``, ``timer_fired``, ``service_called``,
    ``event_reached``, ``task_cancelled``, ``case_completed`` ...). ``detail`` holds the data
    submitted, the flow targets taken, the service answer and the like."""

    seq: int
    at: datetime
    kind: str
    element_id: str | None = None
    name: str | None = None
    lane: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class TrialTask(View):
    """A user task open in a trial, with its form's JSON Schema for rendering."""

    ref: str
    element_id: str
    name: str
    lane: str | None
    role: str
    form: str | None = None
    form_schema: dict[str, Any] | None = None


class TrialTimer(View):
    ref: str
    element_id: str
    name: str | None = None
    due_at: datetime


class TrialView(View):
    """A draft procedure run in memory (see :mod:`engine.trial_run`). ``state`` is opaque:
    pass the view back unchanged with the next command."""

    procedure_code: str
    sha256: str
    steps: tuple[TrialStep, ...]
    open_tasks: tuple[TrialTask, ...] = ()
    pending_timers: tuple[TrialTimer, ...] = ()
    waiting_messages: tuple[str, ...] = ()
    data: dict[str, Any] = Field(default_factory=dict)
    completed: bool = False
    end_events: tuple[str, ...] = ()
    clock: datetime
    state: str = Field(repr=False)


class ChainProblem(View):
    """The first divergence found in one case's stored history (or in a checkpoint).

    ``kind`` says which check failed: ``chain`` (hashes, numbering, header), ``replay``
    (the engine does not produce what was recorded), ``snapshot`` (the stored workflow
    state or the case header disagrees with the replayed events) or ``checkpoint`` (the
    history no longer reaches a signed checkpoint, or a checkpoint's signature fails; then
    ``checkpoint_id`` names it and ``dossier_code`` may be empty).
    """

    dossier_code: str
    seq: int
    reason: str
    kind: Literal["chain", "replay", "snapshot", "checkpoint"] = "chain"
    element_id: str | None = None
    expected: str | None = None
    found: str | None = None
    checkpoint_id: int | None = None


class VerifyReport(View):
    """What a verification run checked and every problem it found (one per case at most).

    ``warnings`` are findings that do not fail verification, such as a checkpoint signed
    with another key than the current one.
    """

    cases_checked: int
    events_checked: int
    problems: tuple[ChainProblem, ...]
    warnings: tuple[str, ...] = ()
    checkpoint_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class CheckpointView(View):
    """A signed record of every case's chain head at one instant."""

    id: int
    created_at: datetime
    created_by: str
    cases: int
    digest: str
    key_fingerprint: str


class OutboxView(View):
    """One outbox message: what to send (``topic``, ``payload``) and how delivery went.

    ``status`` is ``pending`` (not yet sent, maybe waiting for ``next_attempt_at``),
    ``delivered`` or ``failed`` (given up after the last retry or a permanent failure).
    """

    id: int
    case_id: int | None
    dossier_code: str | None = None
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None

    @property
    def status(self) -> Literal["pending", "delivered", "failed"]:
        if self.delivered_at is not None:
            return "delivered"
        return "failed" if self.failed_at is not None else "pending"


class DeliveryReport(View):
    """What one outbox delivery run did: messages sent, to be retried, given up."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0


class SlaRow(View):
    """SLA counts of one slice (a unit, a month, or everything) over a period.

    See :mod:`engine.sla_report` for the definitions; rates are None when their
    denominator is zero.
    """

    label: str
    unit: str | None = None
    month: date | None = None
    received: int = 0
    carried_over: int = 0
    to_process: int = 0
    processed: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    no_deadline: int = 0
    withdrawn: int = 0
    late_open: int = 0
    on_time_rate: float | None = None
    late_rate: float | None = None


class SlaSummary(View):
    """SLA figures of the local days ``[start, end)`` in ``zone``; ``as_of`` is the instant
    open cases were judged at (the period's end, or ``now`` if that comes first)."""

    start: date
    end: date
    zone: str
    as_of: datetime
    procedure: str | None = None
    unit: str | None = None
    total: SlaRow
    by_unit: tuple[SlaRow, ...] = ()
    by_month: tuple[SlaRow, ...] = ()


class NearlyLateCase(View):
    """An open case whose deadline is near; no applicant data."""

    dossier_code: str
    procedure: str
    unit: str
    current_step: str
    due_date: date | None
    due_at: datetime
    hours_left: float


class StepDuration(View):
    """How long one BPMN step (user task) takes: items completed in the period, median and
    90th percentile of ready → completed in hours, and items open and late now."""

    element_id: str
    name: str
    completed: int
    median_hours: float | None = None
    p90_hours: float | None = None
    open_now: int = 0
    late_open_now: int = 0


class MonthlyAggregate(View):
    """One open-data row: a month × procedure × unit. Counts below the publication
    threshold and rates over such a denominator are None (suppressed)."""

    month: date
    procedure: str
    unit: str
    received: int | None
    carried_over: int | None
    to_process: int | None
    processed: int | None
    early: int | None
    on_time: int | None
    late: int | None
    no_deadline: int | None
    withdrawn: int | None
    late_open: int | None
    on_time_rate: float | None
    late_rate: float | None


class ProcessDiagramView(View):
    """The BPMN file of a procedure's current version, for drawing step figures on."""

    procedure: str
    version: int
    file: str
    bpmn: str
