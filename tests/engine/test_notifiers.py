"""Notifiers: a real local SMTP server, the file and log notifiers, choosing by topic."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine import OneStop, Settings
from engine.errors import ConfigurationError, DeliveryFailed
from engine.notifiers import (
    FileNotifier,
    LogNotifier,
    NotifierRegistry,
    SmtpNotifier,
    default_notifiers,
)
from engine.outbox import queue_message
from engine.views import OutboxView
from tests.conftest import T0, make_onestop

THAI_SUBJECT = "แจ้งเหตุแห่งความล่าช้า คำขอ TH.50.01-260302-0001"
THAI_BODY = "เรียน ผู้ยื่นคำขอ\nคำขออนุญาตก่อสร้างอาคารของท่านอยู่ระหว่างการพิจารณา\n"
OVERSIGHT = "oversight@opdc.example.org"


def _message(payload: dict[str, Any], message_id: int = 7) -> OutboxView:
    return OutboxView(
        id=message_id,
        case_id=None,
        topic="delay_notice",
        payload=payload,
        created_at=T0,
        attempts=0,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _smtp(port: int, **overrides: Any) -> SmtpNotifier:
    options: dict[str, Any] = {"starttls": False, "copy_to": OVERSIGHT, "timeout": 5.0}
    options.update(overrides)
    return SmtpNotifier("127.0.0.1", port, "onestop@cm.example.go.th", **options)


def test_smtp_delivers_utf8_mail_with_oversight_copy(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    payload = {
        "dossier_code": "TH.50.01-260302-0001",
        "recipients": [
            {"kind": "applicant", "address": "somsri@example.org"},
            {"kind": "agent", "address": None},
            {"kind": "oversight"},
        ],
        "copy_oversight": True,
        "subject": THAI_SUBJECT,
        "body": THAI_BODY,
    }
    _smtp(port).send(_message(payload))

    [envelope] = inbox.envelopes
    assert sorted(envelope.rcpt_tos) == sorted(["somsri@example.org", OVERSIGHT])
    assert envelope.mail_from == "onestop@cm.example.go.th"
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["To"] == "somsri@example.org"
    assert received["Cc"] == OVERSIGHT
    assert received["Subject"] == THAI_SUBJECT
    assert received["Message-ID"].startswith("<outbox-7.")
    body = received.get_body()
    assert body is not None and body.get_content_charset() == "utf-8"
    assert body.get_content() == THAI_BODY


def test_smtp_without_copy_flag_sends_to_recipients_only(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    _smtp(port).send(_message({"recipients": [{"kind": "applicant", "address": "a@example.org"}]}))
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["a@example.org"]
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["Cc"] is None
    assert received["Subject"] == "delay_notice"


def test_smtp_without_any_address_fails_permanently() -> None:
    notifier = _smtp(_free_port(), copy_to=None)
    with pytest.raises(DeliveryFailed, match="no e-mail address") as caught:
        notifier.send(
            _message({"recipients": [{"kind": "applicant", "address": None}], "copy_oversight": True})
        )
    assert caught.value.permanent
    with pytest.raises(DeliveryFailed) as caught:
        notifier.send(_message({}))
    assert caught.value.permanent


def test_unreachable_smtp_server_is_a_temporary_failure_recorded_on_the_message(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens here
    registry = NotifierRegistry()
    registry.register("*", _smtp(port, timeout=2.0))
    onestop = make_onestop(database_url, checkpoint_key=tmp_path / "key.pem")
    onestop.outbox.notifiers = registry
    try:
        with onestop.db.command() as tx:
            payload = {"recipients": [{"kind": "applicant", "address": "a@example.org"}]}
            queue_message(tx, case_id=None, topic="delay_notice", payload=payload, now=T0)
        report = onestop.outbox.deliver_due(T0)
        assert (report.delivered, report.retried, report.failed) == (0, 1, 0)
        [message] = onestop.outbox.pending()
        assert message.attempts == 1
        assert message.next_attempt_at == T0 + timedelta(seconds=60)
        assert f"cannot send through 127.0.0.1:{port}" in (message.last_error or "")
    finally:
        onestop.close()


def test_smtp_server_without_starttls_is_a_temporary_failure(smtp_server: tuple[Inbox, int]) -> None:
    _inbox, port = smtp_server
    with pytest.raises(DeliveryFailed) as caught:
        _smtp(port, starttls=True).send(_message({"recipients": [{"address": "a@example.org"}]}))
    assert not caught.value.permanent


def test_file_notifier_appends_json_lines_and_tolerates_a_bare_payload(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "notifications.jsonl"
    notifier = FileNotifier(path)
    notifier.send(_message({}, message_id=1))
    notifier.send(_message({"subject": THAI_SUBJECT, "dossier_code": "X-1"}, message_id=2))
    first, second = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert first["id"] == 1 and first["payload"] == {} and first["dossier_code"] is None
    assert second["payload"]["subject"] == THAI_SUBJECT and second["dossier_code"] == "X-1"
    assert second["created_at"] == T0.isoformat()


def test_log_notifier_logs_the_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="onestop.notifications"):
        LogNotifier().send(_message({"subject": "Hello", "recipients": [{"address": "a@example.org"}]}))
        LogNotifier().send(_message({"recipients": "not a list"}))
    assert "delay_notice" in caplog.text and "a@example.org" in caplog.text and "Hello" in caplog.text
    assert "(no address)" in caplog.text


def test_registry_picks_the_longest_prefix_then_the_default(tmp_path: Path) -> None:
    everything, delays, urgent = (LogNotifier(), FileNotifier(tmp_path / "d"), FileNotifier(tmp_path / "u"))
    registry = NotifierRegistry()
    with pytest.raises(DeliveryFailed, match="no notifier") as caught:
        registry.notifier_for("receipt")
    assert caught.value.permanent
    registry.register("*", everything)
    registry.register("delay", delays)
    registry.register("delay.urgent", urgent)
    assert registry.notifier_for("receipt") is everything
    assert registry.notifier_for("delay.notice") is delays
    assert registry.notifier_for("delay.urgent.second") is urgent


def test_default_notifiers_follow_the_settings(tmp_path: Path) -> None:
    def chosen(**overrides: Any) -> str:
        settings = Settings(database_url="sqlite://", **overrides)
        return default_notifiers(settings).notifier_for("any").name

    assert chosen() == "file"
    assert chosen(notifier="log") == "log"
    assert chosen(notifier="smtp", smtp_host="mail.example.org", smtp_from="onestop@example.org") == "smtp"
    with pytest.raises(ConfigurationError, match="ONESTOP_SMTP_HOST"):
        chosen(notifier="smtp")


def test_onestop_uses_injected_notifiers(tmp_path: Path) -> None:
    registry = NotifierRegistry()
    registry.register("*", LogNotifier())
    onestop = OneStop(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), notifiers=registry)
    try:
        assert onestop.notifiers is registry and onestop.outbox.notifiers is registry
    finally:
        onestop.close()
