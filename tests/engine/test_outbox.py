"""The outbox: at-least-once delivery, exponential backoff, giving up, never twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import OneStop
from engine.errors import DeliveryFailed
from engine.notifiers import FileNotifier, NotifierRegistry
from engine.outbox import backoff, queue_message
from engine.persistence.models import Case
from engine.views import OutboxView
from tests.conftest import DATA, T0, import_test_procedure, make_onestop

BASE = timedelta(seconds=60)
CAP = timedelta(seconds=21600)
PAYLOAD: dict[str, Any] = {
    "dossier_code": "TH.50.01-260302-0001",
    "procedure": "timer_wait",
    "unit": "TH.50.01",
    "recipients": [{"kind": "applicant", "address": "somsri@example.org"}],
    "copy_oversight": False,
    "subject": "แจ้งความล่าช้า",
    "body": "คำขอของท่านอยู่ระหว่างการพิจารณา",
    "data": {"days_late": 3},
}


class Flaky:
    """A notifier that fails the first ``failures`` sends, then succeeds."""

    name = "flaky"

    def __init__(self, failures: int = 10**6, *, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[OutboxView] = []
        self.calls = 0

    def send(self, message: OutboxView) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryFailed(f"server down (call {self.calls})", permanent=self.permanent)
        self.sent.append(message)


def _registry(notifier: Any) -> NotifierRegistry:
    registry = NotifierRegistry()
    registry.register("*", notifier)
    return registry


@pytest.fixture
def onestop(database_url: str, tmp_path: Path) -> Iterator[OneStop]:
    instance = make_onestop(
        database_url, notifications_file=tmp_path / "notifications.jsonl", outbox_max_attempts=4
    )
    import_test_procedure(instance, DATA / "timer_wait")
    yield instance
    instance.close()


def _queue(onestop: OneStop, topic: str = "delay_notice", payload: dict[str, Any] | None = None) -> int:
    """Start a case and queue one message for it, as a case command would."""
    code = onestop.cases.start_case("clerk1", "timer_wait", "TH.50.01", T0).dossier_code
    with onestop.db.read() as session:
        case_id = session.scalar(select(Case.id).where(Case.dossier_code == code))
    assert case_id is not None
    with onestop.db.command() as tx:
        queue_message(tx, case_id=case_id, topic=topic, payload=payload or PAYLOAD, now=T0)
    return case_id


def _with_notifier(onestop: OneStop, notifier: Any) -> None:
    onestop.outbox.notifiers = _registry(notifier)


def test_queued_message_is_delivered_once_to_the_file(onestop: OneStop, tmp_path: Path) -> None:
    case_id = _queue(onestop)
    [pending] = onestop.outbox.pending()
    assert pending.status == "pending" and pending.case_id == case_id and pending.attempts == 0

    report = onestop.outbox.deliver_due(T0 + timedelta(seconds=1))

    assert (report.delivered, report.retried, report.failed) == (1, 0, 0)
    lines = (tmp_path / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["id"] == pending.id
    assert record["topic"] == "delay_notice"
    assert record["case_id"] == case_id
    assert record["dossier_code"] == pending.dossier_code
    assert record["payload"] == PAYLOAD
    assert onestop.outbox.pending() == []
    [done] = onestop.outbox.messages(case_id=case_id)
    assert done.status == "delivered" and done.delivered_at == T0 + timedelta(seconds=1)
    assert onestop.outbox.messages(dossier_code=done.dossier_code) == [done]

    again = onestop.outbox.deliver_due(T0 + timedelta(days=30))
    assert again.delivered == 0
    assert len((tmp_path / "notifications.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_failures_back_off_exponentially_and_are_not_retried_early(onestop: OneStop) -> None:
    _queue(onestop)
    flaky = Flaky(failures=2)
    _with_notifier(onestop, flaky)
    now = T0 + timedelta(minutes=5)

    assert onestop.outbox.deliver_due(now).retried == 1
    [message] = onestop.outbox.pending()
    assert message.attempts == 1
    assert message.next_attempt_at == now + BASE
    assert message.last_error == "server down (call 1)"

    # Not due yet: one second early.
    assert onestop.outbox.deliver_due(now + BASE - timedelta(seconds=1)).retried == 0
    assert flaky.calls == 1

    now += BASE
    assert onestop.outbox.deliver_due(now).retried == 1
    [message] = onestop.outbox.pending()
    assert message.attempts == 2 and message.next_attempt_at == now + 2 * BASE

    assert onestop.outbox.deliver_due(now + 2 * BASE - timedelta(microseconds=1)).delivered == 0
    now += 2 * BASE
    assert onestop.outbox.deliver_due(now).delivered == 1
    assert flaky.calls == 3 and len(flaky.sent) == 1
    [message] = onestop.outbox.messages()
    assert message.status == "delivered" and message.attempts == 3 and message.delivered_at == now
    assert onestop.outbox.deliver_due(now + timedelta(days=1)).delivered == 0
    assert flaky.calls == 3


def test_message_is_given_up_after_the_last_attempt(onestop: OneStop) -> None:
    _queue(onestop)
    flaky = Flaky()
    _with_notifier(onestop, flaky)
    now = T0
    for attempt in range(1, 4):
        assert onestop.outbox.deliver_due(now).retried == 1
        [message] = onestop.outbox.pending()
        assert message.attempts == attempt
        assert message.next_attempt_at == now + BASE * 2 ** (attempt - 1)
        now = message.next_attempt_at
    report = onestop.outbox.deliver_due(now)
    assert (report.delivered, report.retried, report.failed) == (0, 0, 1)
    assert onestop.outbox.pending() == []
    [message] = onestop.outbox.failed()
    assert message.status == "failed" and message.failed_at == now and message.attempts == 4
    assert message.last_error == "server down (call 4)"
    assert onestop.outbox.deliver_due(now + timedelta(days=30)).failed == 0
    assert flaky.calls == 4


def test_permanent_failure_gives_up_at_once(onestop: OneStop) -> None:
    _queue(onestop)
    flaky = Flaky(permanent=True)
    _with_notifier(onestop, flaky)
    assert onestop.outbox.deliver_due(T0).failed == 1
    [message] = onestop.outbox.failed()
    assert message.attempts == 1 and message.failed_at == T0 and message.next_attempt_at is None
    assert onestop.outbox.deliver_due(T0 + timedelta(days=1)).failed == 0
    assert flaky.calls == 1


def test_unregistered_topic_fails_permanently(onestop: OneStop, tmp_path: Path) -> None:
    registry = NotifierRegistry()
    registry.register("delay_", FileNotifier(tmp_path / "delays.jsonl"))
    onestop.outbox.notifiers = registry
    _queue(onestop, topic="receipt")
    _queue(onestop, topic="delay_notice")
    report = onestop.outbox.deliver_due(T0)
    assert (report.delivered, report.failed) == (1, 1)
    [failed] = onestop.outbox.failed()
    assert failed.topic == "receipt" and "no notifier" in (failed.last_error or "")


def test_notifier_bug_is_a_temporary_failure(onestop: OneStop) -> None:
    class Broken:
        name = "broken"

        def send(self, message: OutboxView) -> None:
            raise KeyError("subject")

    _queue(onestop)
    _with_notifier(onestop, Broken())
    assert onestop.outbox.deliver_due(T0).retried == 1
    [message] = onestop.outbox.pending()
    assert message.last_error == "KeyError: 'subject'"


def test_oldest_due_messages_go_first_up_to_the_limit(onestop: OneStop) -> None:
    for _ in range(3):
        _queue(onestop)
    flaky = Flaky(failures=0)
    _with_notifier(onestop, flaky)
    assert onestop.outbox.deliver_due(T0, limit=2).delivered == 2
    assert onestop.outbox.deliver_due(T0, limit=2).delivered == 1
    ids = [m.id for m in flaky.sent]
    assert ids == sorted(ids)


def test_backoff_is_capped() -> None:
    assert backoff(1, BASE, CAP) == BASE
    assert backoff(4, BASE, CAP) == 8 * BASE
    assert backoff(20, BASE, CAP) == CAP
    assert backoff(500, BASE, CAP) == CAP
