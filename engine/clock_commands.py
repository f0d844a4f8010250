"""Deadline commands: extend a case's deadline, stop and restart its clock, read its history.

Each is a command of its own, with its event in the case's chain; none touches the
workflow. An extension tells the applicant through the outbox (with the apology reference
Vietnamese practice asks for).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, func, select

from engine.authorization import load_principal, require_role
from engine.case_deadlines import STAFF, extend, pause, resume
from engine.case_pipeline import CasePipeline, CommandContext
from engine.case_workflow import EventDraft
from engine.clock import stored_instant
from engine.errors import InputRejected
from engine.event_store import payload_of
from engine.notices import extension_notice
from engine.outbox import queue_message
from engine.persistence.models import CaseEvent, table_of
from engine.persistence.prepared import Prepared, Tx
from engine.queries import visible_case
from engine.views import CaseView, ClockEventView

EXTEND_ROLES = ("approver",)
PAUSE_ROLES = ("intake_officer", "approver")
_CLOCK_EVENTS = ("deadline_set", "deadline_extended", "clock_paused", "clock_resumed")


class ClockCommands(CasePipeline):
    """The deadline commands of :class:`~engine.cases.CaseService`."""

    def extend_deadline(
        self,
        actor: str,
        dossier_code: str,
        new_date: date,
        reason: str,
        now: datetime,
        apology_ref: str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Move the case's deadline to ``new_date`` (a later working day), with the reason
        the applicant is told and, where the practice asks for one, the reference of the
        apology letter. The appointment date promised at receipt is kept as it was.

        Raises:
            CaseNotFound, PermissionDenied (approvers extend), CaseClosed, CaseConflict,
            InputRejected (no deadline, no reason, a date not later or not a working day,
            more extensions than the manual's ``max_extensions``).
        """

        def body(ctx: CommandContext) -> list[EventDraft]:
            require_role(ctx.principal, EXTEND_ROLES, ctx.unit_path, "extend deadlines")
            self._require_running(ctx)
            clock = self._clock(ctx)
            earlier = count_events(ctx.tx, ctx.case.id, "deadline_extended")
            draft = extend(
                ctx.case,
                clock.calendar,
                ctx.compiled.time_rules,
                new_date=new_date,
                reason=reason,
                apology_ref=apology_ref,
                earlier_extensions=earlier,
            )
            notice = extension_notice(
                ctx.case, ctx.info.manual, ctx.unit_code, ctx.unit_country, draft.payload
            )
            queue_message(ctx.tx, case_id=ctx.case.id, topic="notice.extension", payload=notice, now=ctx.now)
            return [draft]

        return self._case_command(actor, dossier_code, now, expected_version, body)

    def pause_clock(
        self, actor: str, dossier_code: str, reason: str, now: datetime, expected_version: int | None = None
    ) -> CaseView:
        """Stop the case's clock (e.g. waiting for another agency the law lets the office
        wait for), with a reason; :meth:`resume_clock` restarts it.

        Raises:
            CaseNotFound, PermissionDenied, CaseClosed, CaseConflict, InputRejected (no
            reason, no deadline, already stopped).
        """
        if not reason.strip():
            raise InputRejected("say why the clock stops", field="reason")

        def body(ctx: CommandContext) -> list[EventDraft]:
            require_role(ctx.principal, PAUSE_ROLES, ctx.unit_path, "stop a case's clock")
            self._require_running(ctx)
            if ctx.case.due_date is None:
                raise InputRejected(f"case {ctx.case.dossier_code} has no deadline to stop")
            if ctx.case.paused_at is not None:
                since = stored_instant(ctx.case.paused_at).isoformat()
                raise InputRejected(
                    f"the clock of case {ctx.case.dossier_code} is already stopped since {since}"
                )
            return [pause(ctx.case, ctx.now, STAFF, reason.strip()[:1000])]

        return self._case_command(actor, dossier_code, now, expected_version, body)

    def resume_clock(
        self, actor: str, dossier_code: str, now: datetime, expected_version: int | None = None
    ) -> CaseView:
        """Restart a stopped clock; the deadline moves on by the days it stood still.

        Raises:
            CaseNotFound, PermissionDenied, CaseClosed, CaseConflict, InputRejected (the
            clock runs).
        """

        def body(ctx: CommandContext) -> list[EventDraft]:
            require_role(ctx.principal, PAUSE_ROLES, ctx.unit_path, "restart a case's clock")
            self._require_running(ctx)
            if ctx.case.paused_at is None:
                raise InputRejected(f"the clock of case {ctx.case.dossier_code} is running")
            return [resume(ctx.case, self._clock(ctx).calendar, ctx.compiled.time_rules, ctx.now)]

        return self._case_command(actor, dossier_code, now, expected_version, body)

    def clock_history(self, actor: str, dossier_code: str) -> list[ClockEventView]:
        """The deadline events of a case the actor may see: set, extended, paused, resumed.

        Raises:
            CaseNotFound: unknown, or not visible to the actor.
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            rows = session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(_CLOCK_EVENTS))
                .order_by(CaseEvent.seq)
            ).all()
            return [_clock_event(row) for row in rows]


_EVENTS = table_of(CaseEvent)
_COUNT = Prepared(
    select(func.count().label("n")).where(
        _EVENTS.c.case_id == bindparam("case_id"), _EVENTS.c.kind == bindparam("kind")
    )
)


def count_events(tx: Tx, case_id: int, kind: str) -> int:
    """How many events of ``kind`` a case has."""
    row = _COUNT.first(tx, {"case_id": case_id, "kind": kind})
    return int(row["n"]) if row else 0


def _clock_event(row: CaseEvent) -> ClockEventView:
    payload = payload_of(row)
    due = payload.get("due_date") or payload.get("appointment_date")
    previous = payload.get("previous_due_date")
    return ClockEventView(
        seq=row.seq,
        at=stored_instant(row.at),
        actor=row.actor,
        kind=row.kind,  # type: ignore[arg-type]
        due_date=date.fromisoformat(due) if due else None,
        previous_due_date=date.fromisoformat(previous) if previous else None,
        reason=payload.get("reason"),
        apology_ref=payload.get("apology_ref"),
        days=payload.get("days"),
    )
