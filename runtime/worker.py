"""The background worker: fires due timers, delivers the outbox, signs checkpoints.

Each pass runs three steps at one instant read from the injected clock; an error in one
step is logged and the pass goes on with the next. Every step is safe with several
workers on one PostgreSQL database (timers and messages are claimed with
``FOR UPDATE SKIP LOCKED``). ``run_forever`` stops after the current step when its
event is set; :func:`install_signal_handlers` sets it on SIGTERM and SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from pydantic import BaseModel, ConfigDict

from engine import SYSTEM_ACTOR, OneStop
from engine.errors import OneStopError

TIMER_BATCH = 100
MAX_TIMER_SWEEPS = 1000  # bounds one pass even if every sweep keeps finding new due timers
MAX_IDLE_PASSES = 1000


class WorkerPass(BaseModel):
    """What one pass did. ``errors`` names the steps that failed (see the log)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    fired: int = 0
    timer_errors: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    checkpoint_id: int | None = None
    errors: tuple[str, ...] = ()

    @property
    def did_something(self) -> bool:
        return bool(
            self.fired
            or self.timer_errors
            or self.delivered
            or self.retried
            or self.failed
            or self.checkpoint_id is not None
            or self.errors
        )

    def summary(self) -> str:
        """One line for the log."""
        text = (
            f"fired timers on {self.fired} case(s), delivered {self.delivered}, "
            f"retried {self.retried}, failed {self.failed}"
        )
        if self.timer_errors:
            text += f", {self.timer_errors} timer error(s)"
        if self.checkpoint_id is not None:
            text += f", checkpoint {self.checkpoint_id}"
        if self.errors:
            text += f", failed steps: {', '.join(self.errors)}"
        return text


def wall_clock() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


class Worker:
    """Runs passes over one OneStop instance.

    Args:
        onestop: the composition root (its settings give the checkpoint interval).
        clock: where ``now`` comes from (a fixed instant in tests and with ``--now``).
        interval: seconds between passes of :meth:`run_forever`.
        log: where passes and errors are logged.
    """

    def __init__(
        self,
        onestop: OneStop,
        clock: Callable[[], datetime] = wall_clock,
        interval: float | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.onestop = onestop
        self.clock = clock
        self.interval = onestop.settings.worker_interval_seconds if interval is None else interval
        self.log = log or logging.getLogger("onestop.worker")

    def run_once(self, stop: threading.Event | None = None) -> WorkerPass:
        """One pass: fire every due timer, deliver due messages, checkpoint when due.

        A step that raises is logged and recorded in ``errors``; the next step still runs.
        When ``stop`` is set, the steps not yet begun are skipped.
        """
        now = self.clock()
        counts: dict[str, int | None] = {}
        errors: list[str] = []
        steps: list[tuple[str, Callable[[datetime], dict[str, int | None]]]] = [
            ("timers", self._fire_timers),
            ("outbox", self._deliver),
            ("checkpoint", self._checkpoint),
        ]
        for name, step in steps:
            if stop is not None and stop.is_set():
                break
            try:
                counts.update(step(now))
            except OneStopError as exc:
                self.log.error("worker step %s failed: %s", name, exc.message)
                errors.append(name)
            except Exception:  # a bug in one step must not stop the others or the worker
                self.log.exception("worker step %s failed", name)
                errors.append(name)
        done = WorkerPass.model_validate({**counts, "at": now, "errors": tuple(errors)})
        if done.did_something:
            self.log.info("pass at %s: %s", now.isoformat(), done.summary())
        return done

    def run_until_idle(self, stop: threading.Event | None = None) -> list[WorkerPass]:
        """Passes until one fires no timer and delivers no message (or ``stop`` is set)."""
        passes: list[WorkerPass] = []
        for _ in range(MAX_IDLE_PASSES):
            done = self.run_once(stop)
            passes.append(done)
            if (stop is not None and stop.is_set()) or not (done.fired or done.delivered):
                break
        return passes

    def run_forever(self, stop: threading.Event) -> None:
        """Run a pass, wait ``interval`` seconds, repeat; return once ``stop`` is set."""
        self.log.info("worker started (every %.3g s, %s)", self.interval, self.onestop.db.safe_url)
        try:
            while not stop.is_set():
                self.run_once(stop)
                stop.wait(self.interval)
        finally:
            self.log.info("worker stopped")

    # -- steps ----------------------------------------------------------------------------

    def _fire_timers(self, now: datetime) -> dict[str, int | None]:
        fired = errors = 0
        for _ in range(MAX_TIMER_SWEEPS):
            batch = self.onestop.cases.fire_due_timers(SYSTEM_ACTOR, now, limit=TIMER_BATCH)
            ok = [firing for firing in batch if firing.error is None]
            for firing in batch:
                if firing.error is not None:
                    self.log.warning("timers of %s not fired: %s", firing.dossier_code, firing.error)
            fired += len(ok)
            errors += len(batch) - len(ok)
            # A full batch may leave more due; one with nothing but errors would repeat itself.
            if len(batch) < TIMER_BATCH or not ok:
                break
        return {"fired": fired, "timer_errors": errors}

    def _deliver(self, now: datetime) -> dict[str, int | None]:
        report = self.onestop.outbox.deliver_due(now)
        return {"delivered": report.delivered, "retried": report.retried, "failed": report.failed}

    def _checkpoint(self, now: datetime) -> dict[str, int | None]:
        minutes = self.onestop.settings.checkpoint_every_minutes
        if minutes <= 0:
            return {}
        taken = self.onestop.checkpoint_if_due(now, timedelta(minutes=minutes))
        return {"checkpoint_id": taken.id if taken is not None else None}


def install_signal_handlers(stop: threading.Event) -> None:
    """Make SIGTERM and SIGINT set ``stop`` (the worker finishes its step, then exits).

    A second SIGINT (Ctrl-C twice) while stopping ends the process at once; a later
    SIGTERM does not, so a supervisor's TERM after a terminal's INT still stops cleanly.
    Call from the main thread.
    """

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        logging.getLogger("onestop.worker").info(
            "%s received: stopping after the current step", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
