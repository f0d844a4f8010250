"""Case commands: every change to a case, each in one database transaction.

The pipeline they share is :mod:`engine.case_pipeline`; the timer sweep is
:mod:`engine.timer_sweep` and the deadline commands :mod:`engine.clock_commands`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.attachments import Upload, store_uploads, unknown_references
from engine.authorization import load_principal, require_role
from engine.case_deadlines import set_at_receipt
from engine.case_pipeline import CommandContext
from engine.case_records import (
    CaseRecord,
    ItemRecord,
    find_unit,
    insert_case,
    save_item,
)
from engine.case_workflow import CaseWorkflow, EventDraft
from engine.clock import as_utc
from engine.clock_commands import ClockCommands
from engine.connectors import ServiceLedger
from engine.dossier import next_dossier_code
from engine.errors import (
    FieldError,
    FormInvalid,
    InputRejected,
    TaskNotReady,
)
from engine.event_chain import GENESIS, canonical_json
from engine.forms import FormSchema, validate_form
from engine.timer_sweep import TimerSweep
from engine.views import CaseView, WorkItemView

MAX_INPUT_BYTES = 256 * 1024
APPLICANT_FIELDS = ("applicant_name", "national_id", "citizen_id", "phone", "email")
CANCEL_ROLES = ("intake_officer", "approver")
ASSIGN_ROLES = ("approver", "admin")


class CaseService(ClockCommands, TimerSweep):
    """Commands on cases. Every method takes the actor, ``now`` and the inputs (see
    :class:`~engine.case_pipeline.CasePipeline` for the constructor's arguments)."""

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
                appointment_date=None,
                updated_at=now,
                version=0,
                last_seq=0,
                last_hash=GENESIS,
                snapshot_seq=0,
                commands_since_snapshot=0,
            )
            revision, calendar = self.calendars.current(tx, unit.country, unit.timezone)
            deadline = set_at_receipt(case, calendar, revision, info.compiled.time_rules)
            case.id = insert_case(tx, case)
            workflow = CaseWorkflow.begin(
                info.compiled, case.uid, self.sandbox, ServiceLedger(self.connectors)
            )
            workflow.synced_timers = frozenset()
            workflow.calendars = self.calendars.revision
            ctx = CommandContext(
                tx,
                case,
                principal,
                info,
                unit.code,
                unit.path,
                now,
                workflow=workflow,
                unit_country=unit.country,
                unit_zone=unit.timezone,
            )
            ctx.clock = workflow.clock = self._clock_of(ctx, revision, calendar)
            payload = {
                "procedure": procedure_code,
                "version": info.version,
                "unit": unit.code,
                "dossier_code": code,
                "data": data,
            }
            command = EventDraft("case_started", None, self._with_clock(ctx, payload))
            consequences = workflow.start(now, data)
            self._finish(ctx, [command, *consequences, *([deadline] if deadline else [])])
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

        def body(ctx: CommandContext, item: ItemRecord) -> list[EventDraft]:
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

        def body(ctx: CommandContext, item: ItemRecord) -> list[EventDraft]:
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

        def body(ctx: CommandContext, item: ItemRecord) -> list[EventDraft]:
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

        def body(ctx: CommandContext, item: ItemRecord) -> list[EventDraft]:
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
            command = EventDraft("task_completed", item.element_id, self._with_clock(ctx, payload))
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

        def body(ctx: CommandContext) -> list[EventDraft]:
            workflow = self._workflow(ctx)
            lane = workflow.waiting_lane(message) or ctx.compiled.starter_role
            require_role(ctx.principal, [lane], ctx.unit_path, f"record '{message}' for this case")
            command = EventDraft(
                "message_received", None, self._with_clock(ctx, {"name": message, "payload": payload})
            )
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

        def body(ctx: CommandContext) -> list[EventDraft]:
            require_role(ctx.principal, CANCEL_ROLES, ctx.unit_path, "cancel cases")
            workflow = self._workflow(ctx)
            command = EventDraft("case_cancelled", None, self._with_clock(ctx, {"reason": reason.strip()}))
            return [command, *workflow.cancel(ctx.now)]

        return self._case_command(actor, dossier_code, now, expected_version, body)


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
