"""A case's legal clock: its deadline at receipt, pauses, resumptions and extensions.

Each change is an event (a command kind of its own, so replay leaves it alone) and a change
of the case row (``due_date``/``due_at``, ``paused_at``/``pause_kind``/``paused_days``).
The appointment date promised at receipt is never changed; ``due_date`` is the current one.

Pauses count whole days: the days a pause covers are the working days (or calendar days,
for a calendar-day procedure) after the day it began, up to and including the day it
ended. Resuming moves the deadline on by that many days, so a pause that begins and ends on
the same day costs the applicant nothing and gains the office nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from engine.case_records import CaseRecord
from engine.case_workflow import EventDraft
from engine.clock import stored_instant
from engine.deadlines import due_instant
from engine.errors import InputRejected
from engine.time_rules import TimeRules
from engine.work_calendar import WorkCalendar

CLOCK_KINDS = frozenset({"deadline_set", "deadline_extended", "clock_paused", "clock_resumed"})
WAITING = "waiting"  # paused because the case waits for the applicant
STAFF = "staff"  # paused by a member of staff
MAX_REASON = 1000
MAX_APOLOGY_REF = 100


def deadline_at_receipt(calendar: WorkCalendar, rules: TimeRules, received: datetime) -> date | None:
    """The appointment date of a dossier received at ``received``; None without a limit."""
    if rules.limit_days is None:
        return None
    return calendar.due_date(received, rules.limit_days, rules.day_type, rules.cutoff)


def set_at_receipt(
    case: CaseRecord, calendar: WorkCalendar, revision: int, rules: TimeRules
) -> EventDraft | None:
    """Compute and store the appointment date of a case just received; None without a limit."""
    day = deadline_at_receipt(calendar, rules, case.received_at)
    if day is None:
        return None
    case.appointment_date = case.due_date = day
    case.due_at = due_instant(day, calendar.timezone)
    return EventDraft(
        "deadline_set",
        None,
        {
            "appointment_date": day.isoformat(),
            "due_at": case.due_at.isoformat(),
            "time_limit": {"days": rules.limit_days, "day_type": rules.day_type},
            "counting_from": calendar.counting_start(case.received_at, rules.cutoff).isoformat(),
            "calendar": revision,
        },
    )


def pause(case: CaseRecord, now: datetime, kind: str, reason: str) -> EventDraft:
    """Stop the clock of a running case (the caller checked it has a deadline and runs)."""
    case.paused_at, case.pause_kind = now, kind
    return EventDraft("clock_paused", None, {"kind": kind, "reason": reason})


def resume(case: CaseRecord, calendar: WorkCalendar, rules: TimeRules, now: datetime) -> EventDraft:
    """Restart a stopped clock and move the deadline on by the days the pause covered."""
    assert case.paused_at is not None and case.due_date is not None
    began = calendar.local(stored_instant(case.paused_at)).date()
    ended = calendar.local(now).date()
    if rules.day_type == "working":
        days = max(0, calendar.working_days_between(began, ended))
        moved = calendar.add_working_days(case.due_date, days)
    else:
        days = max(0, (ended - began).days)
        moved = (
            calendar.working_day_on_or_after(case.due_date + timedelta(days=days)) if days else case.due_date
        )
    previous = case.due_date
    draft = EventDraft(
        "clock_resumed",
        None,
        {
            "kind": case.pause_kind,
            "paused_at": stored_instant(case.paused_at).isoformat(),
            "days": days,
            "day_type": rules.day_type,
            "previous_due_date": previous.isoformat(),
            "due_date": moved.isoformat(),
            "due_at": due_instant(moved, calendar.timezone).isoformat(),
        },
    )
    case.due_date, case.due_at = moved, due_instant(moved, calendar.timezone)
    case.paused_at, case.pause_kind = None, None
    case.paused_days += days
    return draft


def follow_the_workflow(
    case: CaseRecord,
    calendar: Callable[[], WorkCalendar],
    rules: TimeRules,
    now: datetime,
    *,
    waiting_for: set[str],
    closing: bool,
) -> list[EventDraft]:
    """Pause or resume the clock after a workflow step, as the procedure's rules say.

    A procedure whose manual says ``supplement_pauses_clock`` stops the clock while the
    case waits for a message from the applicant, and restarts it when the wait ends. A
    case that closes with its clock stopped has it restarted first, so its pause counts.
    ``calendar`` is asked for only when days must be counted.
    """
    if case.due_date is None:
        return []
    if case.paused_at is not None:
        if closing or (case.pause_kind == WAITING and not waiting_for):
            return [resume(case, calendar(), rules, now)]
        return []
    if rules.pause_while_waiting and waiting_for and not closing:
        names = ", ".join(sorted(waiting_for))
        return [pause(case, now, WAITING, f"waiting for the applicant ({names})")]
    return []


def extend(
    case: CaseRecord,
    calendar: WorkCalendar,
    rules: TimeRules,
    *,
    new_date: date,
    reason: str,
    apology_ref: str | None,
    earlier_extensions: int,
) -> EventDraft:
    """Move the deadline to ``new_date`` (a later working day), with a reason.

    Raises:
        InputRejected: no deadline, no reason, a date not later than the current deadline
            or not a working day, too long a text, or more extensions than the law allows.
    """
    if case.due_date is None:
        raise InputRejected(
            f"case {case.dossier_code} has no deadline to extend (its manual sets no time limit)"
        )
    reason = reason.strip()
    apology = (apology_ref or "").strip() or None
    if not reason:
        raise InputRejected("an extension needs a reason the applicant will be told", field="reason")
    if len(reason) > MAX_REASON:
        raise InputRejected(f"the reason is longer than {MAX_REASON} characters", field="reason")
    if apology is not None and len(apology) > MAX_APOLOGY_REF:
        raise InputRejected(
            f"the apology reference is longer than {MAX_APOLOGY_REF} characters", field="apology_ref"
        )
    if new_date <= case.due_date:
        raise InputRejected(
            f"the new date {new_date.isoformat()} must be after the current deadline "
            f"{case.due_date.isoformat()}",
            field="new_date",
        )
    if not calendar.is_working_day(new_date):
        holiday = calendar.holidays.get(new_date)
        what = f"a public holiday ({holiday})" if holiday else "not a working day"
        raise InputRejected(
            f"{new_date.isoformat()} is {what} in {calendar.country}; choose a working day", field="new_date"
        )
    if rules.max_extensions is not None and earlier_extensions >= rules.max_extensions:
        raise InputRejected(
            f"the law allows {rules.max_extensions} extension(s) of this procedure's deadline; "
            f"case {case.dossier_code} has had {earlier_extensions}",
            field="new_date",
        )
    previous = case.due_date
    case.due_date, case.due_at = new_date, due_instant(new_date, calendar.timezone)
    payload: dict[str, Any] = {
        "previous_due_date": previous.isoformat(),
        "due_date": new_date.isoformat(),
        "due_at": case.due_at.isoformat(),
        "reason": reason,
        "apology_ref": apology,
        "extension": earlier_extensions + 1,
    }
    return EventDraft("deadline_extended", None, payload)
