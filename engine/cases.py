"""Case commands: every change to a case, each in one database transaction.

The pipeline of every command (see ARCHITECTURE.md):

1. lock the case row (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
   serialises writers) and check the caller's expected version (:class:`CaseConflict`);
2. get the workflow (hot cache by case id + version, else snapshot + replay);
3. authorise, validate input, apply, run engine steps at the command's ``now``;
4. append the events to the case's hash chain;
5. update projections, maybe the snapshot, bump the version, commit.

Anything that fails rolls the transaction back and drops the in-memory workflow.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.attachments import AttachmentPolicy, Upload, store_uploads, unknown_references
from engine.authorization import Principal, load_principal, require_role, require_system
from engine.case_records import (
    CaseRecord,
    ItemRecord,
    LockedCase,
    find_unit,
    insert_case,
    load_snapshot,
    lock_by_code,
    lock_by_item,
    save_case,
    save_item,
)
from engine.case_views import case_view_of, work_item_view
from engine.case_workflow import CaseWorkflow, EventDraft
from engine.clock import as_utc
from engine.connectors import ConnectorRegistry, ServiceLedger
from engine.dossier import next_dossier_code
from engine.errors import (
    CaseClosed,
    CaseConflict,
    CaseNotFound,
    FieldError,
    FormInvalid,
    InputRejected,
    OneStopError,
    TaskNotReady,
    WorkItemNotFound,
)
from engine.event_chain import GENESIS, canonical_json
from engine.event_store import append_events, events_after
from engine.forms import FormSchema, validate_form
from engine.persistence.database import Database
from engine.persistence.models import Case, Timer
from engine.persistence.prepared import Tx
from engine.procedures import ProcedureCatalog, VersionInfo
from engine.projections import appointment_date, sync_timers, sync_work_items, update_header
from engine.recovery import group_commands, replay, restore_from_snapshot
from engine.sandbox import Sandbox
from engine.specs import CompiledProcedure
from engine.views import CaseView, TimerFiring, WorkItemView
from engine.workflow_cache import WorkflowCache

MAX_INPUT_BYTES = 256 * 1024
APPLICANT_FIELDS = ("applicant_name", "national_id", "citizen_id", "phone")
CANCEL_ROLES = ("intake_officer", "approver")
ASSIGN_ROLES = ("approver", "admin")


@dataclass
class _Context:
    tx: Tx
    case: CaseRecord
    principal: Principal
    info: VersionInfo
    unit_code: str
    unit_path: str
    now: datetime
    item: ItemRecord | None = None
    workflow: CaseWorkflow | None = None

    @property
    def compiled(self) -> CompiledProcedure:
        return self.info.compiled


class CaseService:
    """Commands on cases. Every method takes the actor, ``now`` and the inputs.

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
    ) -> None:
        self.db = db
        self.attachments = attachments or AttachmentPolicy()
        self.catalog = catalog
        self.sandbox = sandbox
        self.connectors = connectors
        self.cache = cache
        self.snapshot_every = snapshot_every

    # -- commands -------------------------------------------------------------------------

    def start_case(
        self,
        actor: str,
        procedure_code: str,
        unit_code: str,
        now: datetime,
        data: dict[str, Any] | None = None,
    ) -> CaseView:
        """Receive a dossier: issue its code, start the workflow, open the first tasks.

        Raises:
            ProcedureNotFound: no published version of the procedure.
            OrgUnitNotFound / UserNotFound: unknown unit or actor.
            PermissionDenied: the actor lacks the starter role in the unit.
            InputRejected: data is not a JSON object or is too large.
            ScriptRejected / ScriptFailed / WorkflowFailed: the model failed to run.
        """
        now = as_utc(now)
        data = checked_input(data or {}, "case data")
        with self.db.command() as tx:
            principal = load_principal(tx, actor)
            unit = find_unit(tx, unit_code)
            info = self.catalog.published(tx, procedure_code)
            require_role(
                principal, [info.compiled.starter_role], unit.path, f"start '{procedure_code}' cases"
            )
            code = next_dossier_code(tx, unit, now)
            case = CaseRecord(
                id=0,
                uid=str(uuid.uuid4()),
                dossier_code=code,
                procedure_version_id=info.id,
                org_unit_id=unit.id,
                applicant={k: data[k] for k in APPLICANT_FIELDS if k in data},
                status="running",
                outcome=None,
                current_step="",
                closed_at=None,
                received_at=now,
                appointment_date=appointment_date(
                    now, info.manual.get("time_limit"), ZoneInfo(unit.timezone)
                ),
                updated_at=now,
                version=0,
                last_seq=0,
                last_hash=GENESIS,
                snapshot_seq=0,
                commands_since_snapshot=0,
            )
            case.id = insert_case(tx, case)
            workflow = CaseWorkflow.begin(
                info.compiled, case.uid, self.sandbox, ServiceLedger(self.connectors)
            )
            workflow.synced_timers = frozenset()
            command = EventDraft(
                "case_started",
                None,
                {
                    "procedure": procedure_code,
                    "version": info.version,
                    "unit": unit.code,
                    "dossier_code": code,
                    "data": data,
                },
            )
            ctx = _Context(tx, case, principal, info, unit.code, unit.path, now, workflow=workflow)
            self._finish(ctx, [command, *workflow.start(now, data)])
            view = self._case_view(ctx)
        self._keep_hot(case, workflow)
        return view

    def claim(
        self, actor: str, item_id: int, now: datetime, expected_version: int | None = None
    ) -> WorkItemView:
        """Take an open work item for oneself.

        Raises:
            WorkItemNotFound, PermissionDenied, TaskNotReady (held by someone else or
            closed), CaseConflict.
        """

        def body(ctx: _Context, item: ItemRecord) -> list[EventDraft]:
            self._require_item_role(ctx, item, "claim")
            if item.state == "claimed" and item.assignee == ctx.principal.username:
                return []
            if item.state != "open":
                raise TaskNotReady(_held_message(item), ref=item.ref)
            item.state, item.assignee = "claimed", ctx.principal.username
            save_item(ctx.tx, item)
            return [EventDraft("task_claimed", item.element_id, {"ref": item.ref, "assignee": item.assignee})]

        return self._item_command(actor, item_id, now, expected_version, body)[1]

    def release(
        self, actor: str, item_id: int, now: datetime, expected_version: int | None = None
    ) -> WorkItemView:
        """Give a claimed work item back to the pool (holder, or an approver/admin).

        Raises:
            WorkItemNotFound, PermissionDenied, TaskNotReady, CaseConflict.
        """

        def body(ctx: _Context, item: ItemRecord) -> list[EventDraft]:
            if item.state != "claimed":
                raise TaskNotReady(f"work item {item.id} is not claimed", ref=item.ref)
            if item.assignee != ctx.principal.username:
                require_role(ctx.principal, ASSIGN_ROLES, ctx.unit_path, "release someone else's work item")
            previous, item.state, item.assignee = item.assignee, "open", None
            save_item(ctx.tx, item)
            return [EventDraft("task_released", item.element_id, {"ref": item.ref, "previous": previous})]

        return self._item_command(actor, item_id, now, expected_version, body)[1]

    def assign(
        self, actor: str, item_id: int, assignee: str, now: datetime, expected_version: int | None = None
    ) -> WorkItemView:
        """Give a work item to a named colleague who holds its role.

        Raises:
            WorkItemNotFound, PermissionDenied, TaskNotReady, CaseConflict, UserNotFound.
        """

        def body(ctx: _Context, item: ItemRecord) -> list[EventDraft]:
            require_role(ctx.principal, ASSIGN_ROLES, ctx.unit_path, "assign work items")
            if item.state not in ("open", "claimed"):
                raise TaskNotReady(_held_message(item), ref=item.ref)
            target = load_principal(ctx.tx, assignee)
            require_role(target, [item.role], ctx.unit_path, f"receive work item {item.id}")
            item.state, item.assignee = "claimed", target.username
            save_item(ctx.tx, item)
            return [
                EventDraft("task_assigned", item.element_id, {"ref": item.ref, "assignee": target.username})
            ]

        return self._item_command(actor, item_id, now, expected_version, body)[1]

    def complete(
        self,
        actor: str,
        item_id: int,
        now: datetime,
        data: dict[str, Any],
        expected_version: int | None = None,
        files: Mapping[str, Sequence[Upload]] | None = None,
    ) -> CaseView:
        """Complete a work item with form data (validated against its JSON Schema) and the
        files uploaded to its file fields (stored as attachments of the case, see
        :mod:`engine.attachments`).

        An open item is claimed and completed in one go; an item claimed by someone else
        is refused. A refused submission stores nothing, files included.

        Raises:
            WorkItemNotFound, PermissionDenied, TaskNotReady, CaseConflict, CaseClosed,
            FormInvalid (every field error at once), ScriptRejected, ScriptFailed,
            WorkflowFailed.
        """
        data = checked_input(data, "form data")

        def body(ctx: _Context, item: ItemRecord) -> list[EventDraft]:
            self._require_item_role(ctx, item, "complete")
            held_by_other = item.state == "claimed" and item.assignee != ctx.principal.username
            if held_by_other or item.state not in ("open", "claimed"):
                raise TaskNotReady(_held_message(item), ref=item.ref)
            form = ctx.compiled.form_for(item.element_id)
            schema = form.definition if form is not None else None
            submitted, stored, problems = store_uploads(
                ctx.tx,
                case_id=ctx.case.id,
                schema=schema,
                data=data,
                uploads=files or {},
                policy=self.attachments,
                actor=ctx.principal.username,
                now=ctx.now,
            )
            problems += unknown_references(ctx.tx, ctx.case.id, schema, submitted)
            accepted = validated_submission(form, item.name, submitted, problems)
            workflow = self._workflow(ctx)
            payload: dict[str, Any] = {"ref": item.ref, "data": accepted}
            if stored:
                payload["attachments"] = [file.as_payload() for file in stored]
            command = EventDraft("task_completed", item.element_id, payload)
            return [command, *workflow.complete(item.ref, ctx.now, accepted)]

        case, _ = self._item_command(actor, item_id, now, expected_version, body)
        return case

    def deliver_message(
        self,
        actor: str,
        dossier_code: str,
        message: str,
        now: datetime,
        payload: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Deliver a message from outside (e.g. the applicant supplied documents).

        Raises:
            CaseNotFound, PermissionDenied (needs the role of the lane that waits),
            MessageNotExpected, CaseClosed, CaseConflict.
        """
        payload = checked_input(payload or {}, "message payload")

        def body(ctx: _Context) -> list[EventDraft]:
            workflow = self._workflow(ctx)
            lane = workflow.waiting_lane(message) or ctx.compiled.starter_role
            require_role(ctx.principal, [lane], ctx.unit_path, f"record '{message}' for this case")
            command = EventDraft("message_received", None, {"name": message, "payload": payload})
            return [command, *workflow.deliver(message, ctx.now, payload)]

        return self._case_command(actor, dossier_code, now, expected_version, body)

    def cancel(
        self, actor: str, dossier_code: str, reason: str, now: datetime, expected_version: int | None = None
    ) -> CaseView:
        """Withdraw or cancel a case, with a reason; its code stays issued.

        Raises:
            CaseNotFound, PermissionDenied, CaseClosed, CaseConflict, InputRejected.
        """
        if not reason.strip():
            raise InputRejected("a cancellation needs a reason")

        def body(ctx: _Context) -> list[EventDraft]:
            require_role(ctx.principal, CANCEL_ROLES, ctx.unit_path, "cancel cases")
            workflow = self._workflow(ctx)
            return [EventDraft("case_cancelled", None, {"reason": reason.strip()}), *workflow.cancel(ctx.now)]

        return self._case_command(actor, dossier_code, now, expected_version, body)

    def fire_due_timers(self, actor: str, now: datetime, limit: int = 100) -> list[TimerFiring]:
        """Fire the timers due at ``now`` (system actor only); one transaction per case.

        Raises:
            PermissionDenied: the actor is not the system worker.
        """
        now = as_utc(now)
        with self.db.read() as session:
            require_system(load_principal(Tx.of(session.connection()), actor), "fire timers")
            due = session.execute(
                select(Case.dossier_code, Timer.ref)
                .join(Case, Case.id == Timer.case_id)
                .where(Timer.due_at <= now, Case.status == "running")
                .order_by(Timer.due_at)
                .limit(limit)
            ).all()
        by_case: dict[str, list[str]] = {}
        for code, ref in due:
            by_case.setdefault(code, []).append(ref)
        fired: list[TimerFiring] = []
        for code, refs in by_case.items():

            def body(ctx: _Context, refs: list[str] = refs) -> list[EventDraft]:
                workflow = self._workflow(ctx)
                return [
                    EventDraft("timers_due", None, {"refs": sorted(refs)}),
                    *workflow.fire_timers(ctx.now),
                ]

            try:
                self._case_command(actor, code, now, None, body)
            except CaseClosed:
                continue
            fired.append(TimerFiring(dossier_code=code, refs=tuple(sorted(refs))))
        return fired

    # -- pipeline -------------------------------------------------------------------------

    def _item_command(
        self,
        actor: str,
        item_id: int,
        now: datetime,
        expected_version: int | None,
        body: Callable[[_Context, ItemRecord], list[EventDraft]],
    ) -> tuple[CaseView, WorkItemView]:
        """Run ``body`` on a work item's locked case; returns the case and the item after it."""

        def case_body(ctx: _Context) -> list[EventDraft]:
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
        body: Callable[[_Context], list[EventDraft]],
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
        body: Callable[[_Context], list[EventDraft]],
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
            ctx = _Context(tx, case, principal, info, locked.unit_code, locked.unit_path, now, item=item)
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

    def _workflow(self, ctx: _Context) -> CaseWorkflow:
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
            later = events_after(ctx.tx, ctx.case.id, ctx.case.snapshot_seq)
            replay(workflow, group_commands(later), self.connectors)
        workflow.use_ledger(ServiceLedger(self.connectors))
        ctx.workflow = workflow
        return workflow

    def _finish(self, ctx: _Context, drafts: list[EventDraft]) -> None:
        case = ctx.case
        actor = ctx.principal.username
        tx = ctx.tx
        append_events(tx, case, ctx.now, actor, drafts)
        workflow = ctx.workflow
        snapshot = None
        if workflow is not None:
            sync_work_items(tx, case, drafts, ctx.now, actor, ctx.info.step_allowances)
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

    def _require_item_role(self, ctx: _Context, item: ItemRecord, verb: str) -> None:
        require_role(ctx.principal, [item.role], ctx.unit_path, f"{verb} '{item.name}' ({item.ref})")

    def _case_view(self, ctx: _Context) -> CaseView:
        return case_view_of(ctx.tx, ctx.case, ctx.info.procedure_code, ctx.info.version, ctx.unit_code)


def validated_submission(
    schema: FormSchema | None, step: str, data: dict[str, Any], problems: list[FieldError]
) -> dict[str, Any]:
    """The form data of a completion as validated against the step's form.

    Args:
        schema: the step's form, or None when it has none.
        step: the step's name, for messages.
        data: the submitted values (file fields already holding their references).
        problems: problems found before (with the files), reported with the form's own.

    Raises:
        FormInvalid: every field error at once; a step without a form takes no data.
    """
    if schema is None:
        if data or problems:
            raise FormInvalid(
                f"step '{step}' has no form; it takes no data",
                errors=[FieldError("", "this step takes no data")],
            )
        return {}
    try:
        accepted = validate_form(schema, data)
    except FormInvalid as exc:
        # A file that was refused also leaves its field empty: say it once, the file's way.
        refused = {e.field for e in problems}
        errors = [*problems, *(e for e in exc.errors if e.field.split(".")[0] not in refused)]
        raise FormInvalid(exc.message, errors=errors) from exc
    if problems:
        raise FormInvalid(f"{len(problems)} field(s) of '{step}' need correcting", errors=problems)
    return accepted


def checked_input(data: Any, what: str) -> dict[str, Any]:
    """``data`` as plain JSON data, refused when it is not an object or is too large.

    Raises:
        InputRejected: not a JSON object, not JSON data, or larger than ``MAX_INPUT_BYTES``.
    """
    if not isinstance(data, dict):
        raise InputRejected(f"{what} must be a JSON object, not {type(data).__name__}")
    try:
        text = canonical_json(data)
    except (TypeError, ValueError) as exc:
        raise InputRejected(f"{what} is not JSON data: {exc}") from exc
    if len(text.encode()) > MAX_INPUT_BYTES:
        raise InputRejected(f"{what} is larger than {MAX_INPUT_BYTES // 1024} KiB")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _held_message(item: ItemRecord) -> str:
    if item.state == "claimed":
        return f"work item {item.id} ({item.name}) is held by {item.assignee}"
    if item.state == "completed":
        return f"work item {item.id} ({item.name}) was already completed by {item.closed_by}"
    return f"work item {item.id} ({item.name}) is {item.state}"
