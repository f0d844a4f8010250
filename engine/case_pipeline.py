"""The pipeline every case command runs through, in one database transaction
(see ARCHITECTURE.md):

1. lock the case row (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
   serialises writers) and check the caller's expected version (:class:`CaseConflict`);
2. get the workflow (hot cache by case id + version, else snapshot + replay) and the legal
   clock it runs under (calendar revision and deadline, see :mod:`engine.sla_clock`);
3. authorise, validate input, apply, run engine steps at the command's ``now``;
4. append the events to the case's hash chain (with the clock's own: pauses and
   resumptions the procedure's rules call for);
5. update projections, maybe the snapshot, bump the version, commit.

Anything that fails rolls the transaction back and drops the in-memory workflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from engine.attachments import AttachmentPolicy
from engine.authorization import Principal, load_principal, require_role
from engine.calendars import CalendarBook
from engine.case_deadlines import follow_the_workflow
from engine.case_records import (
    CaseRecord,
    ItemRecord,
    LockedCase,
    load_snapshot,
    lock_by_code,
    lock_by_item,
    save_case,
)
from engine.case_views import case_view_of, work_item_view
from engine.case_workflow import CaseWorkflow, EventDraft
from engine.clock import as_utc, stored_instant
from engine.connectors import NOTICE_OPERATIONS, ConnectorRegistry, ServiceLedger
from engine.errors import (
    CaseClosed,
    CaseConflict,
    CaseNotFound,
    OneStopError,
    WorkItemNotFound,
)
from engine.event_store import append_events, events_after
from engine.notices import delay_notice
from engine.outbox import queue_message
from engine.persistence.database import Database
from engine.persistence.prepared import Tx
from engine.procedures import ProcedureCatalog, VersionInfo
from engine.projections import sync_timers, sync_work_items, update_header
from engine.recovery import group_commands, replay, restore_from_snapshot
from engine.sandbox import Sandbox
from engine.sla_clock import CaseClock, step_deadline
from engine.specs import CompiledProcedure
from engine.views import CaseView, WorkItemView
from engine.work_calendar import WorkCalendar
from engine.workflow_cache import WorkflowCache


@dataclass
class CommandContext:
    tx: Tx
    case: CaseRecord
    principal: Principal
    info: VersionInfo
    unit_code: str
    unit_path: str
    now: datetime
    item: ItemRecord | None = None
    workflow: CaseWorkflow | None = None
    unit_country: str = "TH"
    unit_zone: str = "Asia/Bangkok"
    clock: CaseClock | None = None

    @property
    def compiled(self) -> CompiledProcedure:
        return self.info.compiled


class CasePipeline:
    """What every case command shares: the locking, the workflow, the clock and the finish.

    Args:
        db: the database.
        catalog: compiled procedure versions.
        sandbox: where model scripts run.
        connectors: what service tasks may call.
        cache: hot workflows.
        snapshot_every: write a snapshot every K workflow commands.
        attachments: what uploaded files may be.
    """

    def __init__(
        self,
        db: Database,
        catalog: ProcedureCatalog,
        sandbox: Sandbox,
        connectors: ConnectorRegistry,
        cache: WorkflowCache,
        snapshot_every: int,
        attachments: AttachmentPolicy | None = None,
        calendars: CalendarBook | None = None,
    ) -> None:
        self.db = db
        self.calendars = calendars or CalendarBook(db)
        self.attachments = attachments or AttachmentPolicy()
        self.catalog = catalog
        self.sandbox = sandbox
        self.connectors = connectors
        self.cache = cache
        self.snapshot_every = snapshot_every

    # -- pipeline -------------------------------------------------------------------------

    def _item_command(
        self,
        actor: str,
        item_id: int,
        now: datetime,
        expected_version: int | None,
        body: Callable[[CommandContext, ItemRecord], list[EventDraft]],
    ) -> tuple[CaseView, WorkItemView]:
        """Run ``body`` on a work item's locked case; returns the case and the item after it."""

        def case_body(ctx: CommandContext) -> list[EventDraft]:
            assert ctx.item is not None
            return body(ctx, ctx.item)

        view, item_view = self._run(
            actor,
            lambda tx: lock_by_item(tx, item_id),
            WorkItemNotFound(f"no work item {item_id}", item=item_id),
            now,
            expected_version,
            case_body,
        )
        assert item_view is not None
        return view, item_view

    def _case_command(
        self,
        actor: str,
        dossier_code: str,
        now: datetime,
        expected_version: int | None,
        body: Callable[[CommandContext], list[EventDraft]],
    ) -> CaseView:
        missing = CaseNotFound(f"no case with dossier code '{dossier_code}'", case=dossier_code)
        view, _ = self._run(
            actor,
            lambda tx: lock_by_code(tx, dossier_code),
            missing,
            now,
            expected_version,
            body,
        )
        return view

    def _run(
        self,
        actor: str,
        lock: Callable[[Tx], LockedCase | None],
        missing: OneStopError,
        now: datetime,
        expected_version: int | None,
        body: Callable[[CommandContext], list[EventDraft]],
    ) -> tuple[CaseView, WorkItemView | None]:
        now = as_utc(now)
        with self.db.command() as tx:
            locked = lock(tx)
            if locked is None:
                raise missing
            case, item = locked.case, locked.item
            if expected_version is not None and case.version != expected_version:
                raise CaseConflict(
                    f"case {case.dossier_code} changed since you read it (version {expected_version}, "
                    f"now {case.version}); reload it and try again",
                    case=case.dossier_code,
                )
            principal = load_principal(tx, actor)
            info = self.catalog.info(tx, case.procedure_version_id)
            ctx = CommandContext(
                tx,
                case,
                principal,
                info,
                locked.unit_code,
                locked.unit_path,
                now,
                item=item,
                unit_country=locked.unit_country,
                unit_zone=locked.unit_zone,
            )
            try:
                drafts = body(ctx)
                if drafts:
                    if case.status != "running":
                        raise CaseClosed(f"case {case.dossier_code} is {case.status}", case=case.dossier_code)
                    self._finish(ctx, drafts)
                view = self._case_view(ctx)
                item_view = (
                    work_item_view(item, case, info.procedure_code, locked.unit_code)
                    if item is not None
                    else None
                )
            except BaseException:
                ctx.workflow = None
                raise
        if ctx.workflow is not None:
            self._keep_hot(case, ctx.workflow)
        return view, item_view

    def _keep_hot(self, case: CaseRecord, workflow: CaseWorkflow) -> None:
        """Cache a committed workflow for the case's next command (a closed case has none)."""
        if case.status == "running":
            self.cache.put(case.id, case.version, workflow)

    def _workflow(self, ctx: CommandContext) -> CaseWorkflow:
        """The case's workflow at its current version (cache, else snapshot + replay)."""
        if ctx.workflow is not None:
            return ctx.workflow
        if ctx.case.status != "running":
            raise CaseClosed(f"case {ctx.case.dossier_code} is {ctx.case.status}", case=ctx.case.dossier_code)
        workflow = self.cache.take(ctx.case.id, ctx.case.version)
        if workflow is None:
            snapshot = load_snapshot(ctx.tx, ctx.case.id)
            workflow = restore_from_snapshot(
                ctx.compiled, ctx.case.uid, snapshot, self.sandbox, self.connectors
            )
            workflow.calendars = self.calendars.revision
            later = events_after(ctx.tx, ctx.case.id, ctx.case.snapshot_seq)
            replay(workflow, group_commands(later), self.connectors)
        workflow.use_ledger(ServiceLedger(self.connectors))
        workflow.calendars = self.calendars.revision
        ctx.workflow = workflow
        # Only a model that reads the clock needs it inside the workflow; the rest of the
        # command looks the calendar up when (and only when) it counts days.
        workflow.clock = self._clock(ctx) if ctx.compiled.time_rules.uses_calendar else None
        return workflow

    def _clock(self, ctx: CommandContext) -> CaseClock:
        """The legal clock of this command: the current calendar and the case's deadline."""
        if ctx.clock is None:
            revision, calendar = self.calendars.current(ctx.tx, ctx.unit_country, ctx.unit_zone)
            ctx.clock = self._clock_of(ctx, revision, calendar)
        return ctx.clock

    @staticmethod
    def _clock_of(ctx: CommandContext, revision: int, calendar: WorkCalendar) -> CaseClock:
        rules = ctx.compiled.time_rules
        due_at = stored_instant(ctx.case.due_at) if ctx.case.due_at else None
        return CaseClock(calendar, revision, due_at, rules.allowances, rules.day_type)

    def _with_clock(self, ctx: CommandContext, payload: dict[str, Any]) -> dict[str, Any]:
        """A workflow command's payload, plus the clock it ran under when the model reads it."""
        if ctx.compiled.time_rules.uses_calendar:
            payload["clock"] = self._clock(ctx).record()
        return payload

    def _finish(self, ctx: CommandContext, drafts: list[EventDraft]) -> None:
        case = ctx.case
        actor = ctx.principal.username
        tx = ctx.tx
        workflow = ctx.workflow
        snapshot = None
        if workflow is not None:
            drafts = drafts + follow_the_workflow(
                case,
                lambda: self._clock(ctx).calendar,
                ctx.compiled.time_rules,
                ctx.now,
                waiting_for=workflow.waiting_messages(boundary=False),
                closing=any(d.kind in ("case_completed", "case_cancelled") for d in drafts),
            )
        append_events(tx, case, ctx.now, actor, drafts)
        self._queue_notices(ctx, drafts)
        if workflow is not None:
            sync_work_items(tx, case, drafts, ctx.now, actor, partial(self._step_due, ctx))
            sync_timers(tx, case, workflow)
            update_header(case, workflow, workflow.open_tasks(), drafts, ctx.now)
            case.commands_since_snapshot += 1
            if case.commands_since_snapshot >= self.snapshot_every and case.status == "running":
                snapshot = json.dumps(workflow.dump())
                case.snapshot_seq = case.last_seq
                case.commands_since_snapshot = 0
        else:
            case.updated_at = ctx.now
        case.version += 1
        save_case(tx, case, snapshot=snapshot)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _queue_notices(ctx: CommandContext, drafts: Sequence[EventDraft]) -> None:
        """Put the notices the model's service tasks asked for into the outbox."""
        for draft in drafts:
            if draft.kind == "service_called" and draft.payload.get("operation") in NOTICE_OPERATIONS:
                notice = delay_notice(
                    ctx.case,
                    ctx.info.manual,
                    ctx.unit_code,
                    ctx.unit_country,
                    draft.payload.get("result") or {},
                )
                queue_message(ctx.tx, case_id=ctx.case.id, topic="notice.delay", payload=notice, now=ctx.now)

    @staticmethod
    def _require_running(ctx: CommandContext) -> None:
        if ctx.case.status != "running":
            raise CaseClosed(f"case {ctx.case.dossier_code} is {ctx.case.status}", case=ctx.case.dossier_code)

    def _require_item_role(self, ctx: CommandContext, item: ItemRecord, verb: str) -> None:
        require_role(ctx.principal, [item.role], ctx.unit_path, f"{verb} '{item.name}' ({item.ref})")

    def _step_due(self, ctx: CommandContext, element_id: str, now: datetime) -> datetime | None:
        """When a step opened at ``now`` turns late, by its allowance in the manual."""
        days = ctx.compiled.time_rules.allowances.get(element_id)
        return None if days is None else step_deadline(self._clock(ctx), now, days)

    def _case_view(self, ctx: CommandContext) -> CaseView:
        return case_view_of(ctx.tx, ctx.case, ctx.info.procedure_code, ctx.info.version, ctx.unit_code)
