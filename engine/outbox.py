"""The outbox: messages a case command wants sent, delivered later by the worker.

A command queues a message with :func:`queue_message` inside its own transaction, so the
message exists exactly when the command's changes do. The worker calls
:meth:`Outbox.deliver_due`, which claims one due message at a time
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the work;
SQLite serialises writers), sends it through the notifier registered for its topic and
records the outcome in the same short transaction. A crash before the commit leaves the
message undelivered, so delivery is at least once, never lost.

A failure is retried with exponential backoff: after the n-th failed attempt the message
waits ``min(backoff_cap, backoff_base * 2**(n-1))``; after ``max_attempts`` failures, or
one permanent failure, it is given up (``failed_at``) and stays listed for an operator.

Payload shape (every key optional for the notifiers, which must not fail on a missing one)::

    {
      "dossier_code": "TH.50.01-260302-0001",
      "procedure": "building_permit",
      "unit": "TH.50.01",
      "recipients": [{"kind": "applicant", "address": "a@example.org"},
                     {"kind": "oversight", "address": null}],
      "copy_oversight": false,          # also send to settings.notify_copy_to
      "subject": "...",                 # plain text
      "body": "...",                    # plain text, UTF-8
      "data": {...}                     # anything else a receiver may need
    }
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update

from engine.clock import as_utc, stored_instant
from engine.errors import DeliveryFailed, InputRejected
from engine.notifiers import NotifierRegistry
from engine.persistence.database import Database
from engine.persistence.models import Case, OutboxMessage, table_of
from engine.persistence.prepared import Prepared, Tx, insert_values
from engine.views import DeliveryReport, OutboxView

log = logging.getLogger("onestop.outbox")
_OUTBOX = table_of(OutboxMessage)
_CASES = table_of(Case)
_INSERT = Prepared(insert_values(_OUTBOX, "case_id topic payload created_at attempts"))
_COLUMNS = (
    _OUTBOX.c.id,
    _OUTBOX.c.case_id,
    _OUTBOX.c.topic,
    _OUTBOX.c.payload,
    _OUTBOX.c.created_at,
    _OUTBOX.c.attempts,
    _OUTBOX.c.next_attempt_at,
    _OUTBOX.c.delivered_at,
    _OUTBOX.c.failed_at,
    _OUTBOX.c.last_error,
)
MAX_LIST = 1000
_ERROR_CHARS = 2000


def queue_message(tx: Tx, *, case_id: int | None, topic: str, payload: dict[str, Any], now: datetime) -> None:
    """Add a message to the outbox inside the caller's transaction (see the module
    docstring for the payload shape).

    Raises:
        InputRejected: the topic is empty or longer than 100 characters.
    """
    if not topic or len(topic) > 100:
        raise InputRejected(f"outbox topic {topic!r} must have 1 to 100 characters", field="topic")
    _INSERT.run(
        tx,
        {"case_id": case_id, "topic": topic, "payload": payload, "created_at": as_utc(now), "attempts": 0},
    )


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failure: ``min(cap, base * 2**(attempts-1))``."""
    if attempts > 64:  # 2**64 base periods exceed any cap; avoid a huge multiplication
        return cap
    return min(cap, base * (1 << max(attempts - 1, 0)))


class Outbox:
    """Delivering and listing outbox messages.

    Args:
        db: the database.
        notifiers: which notifier sends which topic.
        max_attempts: failures after which a message is given up.
        backoff_base / backoff_cap: the retry schedule (see :func:`backoff`).
    """

    def __init__(
        self,
        db: Database,
        notifiers: NotifierRegistry,
        max_attempts: int,
        backoff_base: timedelta,
        backoff_cap: timedelta,
    ) -> None:
        self.db = db
        self.notifiers = notifiers
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    def deliver_due(self, now: datetime, limit: int = 50) -> DeliveryReport:
        """Send up to ``limit`` due messages, oldest first, one transaction each.

        Due: neither delivered nor given up, and ``next_attempt_at`` unset or not after
        ``now``. A message another worker holds is skipped. Notifier failures are recorded
        on the message (never raised); a notifier raising anything but
        :class:`DeliveryFailed` counts as a temporary failure and is logged as a bug.

        Raises:
            ConfigurationError: ``now`` has no time zone.
        """
        now = as_utc(now)
        counts = {"delivered": 0, "retried": 0, "failed": 0}
        after = 0
        for _ in range(limit):
            with self.db.write() as session:
                row = session.execute(
                    select(*_COLUMNS)
                    .where(_OUTBOX.c.id > after, *_due(now))
                    .order_by(_OUTBOX.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    break
                after = row.id
                code = None
                if row.case_id is not None:
                    code = session.scalar(select(_CASES.c.dossier_code).where(_CASES.c.id == row.case_id))
                message = _view(row, code)
                outcome, values = self._attempt(message, now)
                session.execute(update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(**values))
            counts[outcome] += 1
        return DeliveryReport(**counts)

    def _attempt(self, message: OutboxView, now: datetime) -> tuple[str, dict[str, Any]]:
        """Send ``message``; returns the outcome and the column values to record."""
        attempts = message.attempts + 1
        try:
            self.notifiers.notifier_for(message.topic).send(message)
        except DeliveryFailed as exc:
            error, permanent = exc.message, exc.permanent
        except Exception as exc:  # a notifier bug must not stop the worker or lose the message
            log.exception("notifier failed on outbox message %s", message.id)
            error, permanent = f"{type(exc).__name__}: {exc}", False
        else:
            return "delivered", {"attempts": attempts, "delivered_at": now, "next_attempt_at": None}
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:_ERROR_CHARS]}
        if permanent or attempts >= self.max_attempts:
            log.warning("outbox message %s given up after %d attempt(s): %s", message.id, attempts, error)
            return "failed", {**values, "failed_at": now, "next_attempt_at": None}
        wait = backoff(attempts, self.backoff_base, self.backoff_cap)
        log.info("outbox message %s failed (attempt %d), retry in %s: %s", message.id, attempts, wait, error)
        return "retried", {**values, "next_attempt_at": now + wait}

    def pending(self, limit: int = 200) -> list[OutboxView]:
        """Messages neither delivered nor given up, oldest first (due or waiting to retry).

        Raises:
            InputRejected: ``limit`` is not between 1 and 1000.
        """
        return self._list([_OUTBOX.c.delivered_at.is_(None), _OUTBOX.c.failed_at.is_(None)], limit)

    def failed(self, limit: int = 200) -> list[OutboxView]:
        """Messages given up after their last retry or a permanent failure, oldest first.

        Raises:
            InputRejected: ``limit`` is not between 1 and 1000.
        """
        return self._list([_OUTBOX.c.failed_at.is_not(None)], limit)

    def messages(
        self, *, case_id: int | None = None, dossier_code: str | None = None, limit: int = 200
    ) -> list[OutboxView]:
        """Every message of one case (by id or dossier code), or of all cases, oldest first.

        Raises:
            InputRejected: ``limit`` is not between 1 and 1000.
        """
        where: list[ColumnElement[bool]] = []
        if case_id is not None:
            where.append(_OUTBOX.c.case_id == case_id)
        if dossier_code is not None:
            where.append(_CASES.c.dossier_code == dossier_code)
        return self._list(where, limit)

    def _list(self, where: list[ColumnElement[bool]], limit: int) -> list[OutboxView]:
        if not 1 <= limit <= MAX_LIST:
            raise InputRejected(f"limit must be between 1 and {MAX_LIST}", field="limit")
        query = (
            select(*_COLUMNS, _CASES.c.dossier_code)
            .outerjoin(_CASES, _CASES.c.id == _OUTBOX.c.case_id)
            .where(*where)
            .order_by(_OUTBOX.c.id)
            .limit(limit)
        )
        with self.db.read() as session:
            return [_view(row, row.dossier_code) for row in session.execute(query)]


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        _OUTBOX.c.delivered_at.is_(None),
        _OUTBOX.c.failed_at.is_(None),
        or_(_OUTBOX.c.next_attempt_at.is_(None), _OUTBOX.c.next_attempt_at <= now),
    ]


def _view(row: Any, dossier_code: str | None) -> OutboxView:
    def instant(value: datetime | None) -> datetime | None:
        return stored_instant(value) if value is not None else None

    return OutboxView(
        id=row.id,
        case_id=row.case_id,
        dossier_code=dossier_code,
        topic=row.topic,
        payload=dict(row.payload or {}),
        created_at=stored_instant(row.created_at),
        attempts=row.attempts,
        next_attempt_at=instant(row.next_attempt_at),
        delivered_at=instant(row.delivered_at),
        failed_at=instant(row.failed_at),
        last_error=row.last_error,
    )
