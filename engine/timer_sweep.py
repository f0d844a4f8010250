"""Firing due timers: the worker's sweep over the cases whose timers are due.

Each case is claimed under its row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and its
due timers are read again under that lock, so several workers may sweep at once and each
timer fires exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from engine.authorization import load_principal, require_system
from engine.case_pipeline import CasePipeline, CommandContext
from engine.case_records import (
    LockedCase,
    claim_due_case,
    due_timer_refs,
)
from engine.case_workflow import EventDraft
from engine.clock import as_utc
from engine.errors import (
    OneStopError,
)
from engine.persistence.prepared import Tx
from engine.views import TimerFiring


class TimerSweep(CasePipeline):
    """The timer sweep of :class:`~engine.cases.CaseService`."""

    def fire_due_timers(self, actor: str, now: datetime, limit: int = 100) -> list[TimerFiring]:
        """Fire the timers due before ``now`` (system actor only), one transaction per case.

        Each case is claimed under its row lock and its due timers are read again under that
        lock, so several workers may sweep at once and each timer fires exactly once. A case
        whose firing fails is reported with the error and left for the next sweep.

        Raises:
            PermissionDenied: the actor is not the system worker.
        """
        now = as_utc(now)
        with self.db.read() as session:
            require_system(load_principal(Tx.of(session.connection()), actor), "fire timers")
        firings: list[TimerFiring] = []
        after = 0
        while len(firings) < limit:
            sweep = _Sweep(now, after)
            error = None
            try:
                self._run(actor, sweep.claim, _NothingDue(), now, None, partial(self._fire, sweep=sweep))
            except _NothingDue:
                break
            except OneStopError as exc:
                if sweep.case_id is None:
                    raise
                error = exc.message
            assert sweep.case_id is not None
            after = sweep.case_id
            if sweep.refs:
                firings.append(TimerFiring(dossier_code=sweep.code, refs=tuple(sweep.refs), error=error))
        return firings

    def _fire(self, ctx: CommandContext, sweep: _Sweep) -> list[EventDraft]:
        sweep.refs = due_timer_refs(ctx.tx, ctx.case.id, ctx.now)
        if not sweep.refs:
            return []  # another worker fired them since the case was selected
        workflow = self._workflow(ctx)
        command = EventDraft("timers_due", None, self._with_clock(ctx, {"refs": sweep.refs}))
        return [command, *workflow.fire_timers(ctx.now)]


@dataclass
class _Sweep:
    """One step of a timer sweep: the case it claimed and the refs due there."""

    now: datetime
    after: int
    case_id: int | None = None
    code: str = ""
    refs: list[str] = field(default_factory=list)

    def claim(self, tx: Tx) -> LockedCase | None:
        locked = claim_due_case(tx, self.now, self.after)
        if locked is not None:
            self.case_id, self.code = locked.case.id, locked.case.dossier_code
        return locked


class _NothingDue(OneStopError):
    """No case has a due timer left (ends a sweep; never leaves this module)."""

    def __init__(self) -> None:
        super().__init__("no due timers")
