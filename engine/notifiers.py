"""Notifiers: how an outbox message leaves OneStop (a file, the log, e-mail).

A notifier sends one :class:`~engine.views.OutboxView` or raises
:class:`~engine.errors.DeliveryFailed`; ``permanent=True`` means retrying cannot help.
The outbox (:mod:`engine.outbox`) picks the notifier by topic from a
:class:`NotifierRegistry` and handles retries. Delivery is at least once: a notifier may
see the same message again after a crash, so each message carries its outbox id (the
e-mail ``Message-ID`` is built from it) for receivers that deduplicate.

Notifiers read the payload shape documented in :mod:`engine.outbox` and never fail on a
missing optional key.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import threading
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ConfigurationError, DeliveryFailed
from engine.settings import Settings
from engine.views import OutboxView

log = logging.getLogger("onestop.notifications")
SMTP_TIMEOUT_SECONDS = 30.0


class Notifier(Protocol):
    """Sends one outbox message somewhere."""

    name: str

    def send(self, message: OutboxView) -> None:
        """Deliver ``message``.

        Raises:
            DeliveryFailed: it could not be delivered (``permanent`` when retrying is futile).
        """


def message_record(message: OutboxView) -> dict[str, Any]:
    """The JSON-ready record of a message, as the file and log notifiers write it."""
    return {
        "id": message.id,
        "topic": message.topic,
        "case_id": message.case_id,
        "dossier_code": message.dossier_code or message.payload.get("dossier_code"),
        "created_at": message.created_at.isoformat(),
        "payload": message.payload,
    }


def recipient_addresses(payload: dict[str, Any]) -> list[str]:
    """The non-empty addresses of ``payload["recipients"]``, in order, without repeats."""
    found: list[str] = []
    recipients = payload.get("recipients")
    for recipient in recipients if isinstance(recipients, list) else []:
        address = recipient.get("address") if isinstance(recipient, dict) else None
        if isinstance(address, str) and address.strip() and address.strip() not in found:
            found.append(address.strip())
    return found


class FileNotifier:
    """Appends one JSON line per message to a file, flushed to disk before returning.

    Args:
        path: the JSON-lines file (its folder is created when missing).
    """

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: OutboxView) -> None:
        """Append the message's record as one line and fsync the file.

        Raises:
            DeliveryFailed: the file cannot be written (temporary: the disk may recover).
        """
        line = json.dumps(message_record(message), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                # One write on an O_APPEND descriptor: lines of concurrent workers never interleave.
                handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
                try:
                    os.write(handle, line.encode("utf-8"))
                    os.fsync(handle)
                finally:
                    os.close(handle)
        except OSError as exc:
            raise DeliveryFailed(
                f"cannot append to {self.path}: {exc}", file=str(self.path), message_id=message.id
            ) from exc


class LogNotifier:
    """Logs each message on the ``onestop.notifications`` logger (for development)."""

    name = "log"

    def send(self, message: OutboxView) -> None:
        """Log the message's topic, case, recipients and subject; never fails."""
        log.info(
            "notification %s %s for %s to %s: %s",
            message.id,
            message.topic,
            message.dossier_code or message.payload.get("dossier_code") or "-",
            ", ".join(recipient_addresses(message.payload)) or "(no address)",
            message.payload.get("subject") or "",
        )


class SmtpNotifier:
    """Sends each message as a plain-text UTF-8 e-mail.

    To: the payload's recipient addresses; Cc: ``copy_to`` when the payload has
    ``"copy_oversight": true``. Subject and body come from the payload.

    Args:
        host / port: the mail server.
        sender: the From address.
        user / password: log in when ``user`` is set.
        starttls: upgrade the connection with STARTTLS before logging in.
        copy_to: the oversight address copied on ``copy_oversight`` messages.
        timeout: seconds to wait for the server.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        copy_to: str | None = None,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password = user, password
        self.starttls, self.copy_to, self.timeout = starttls, copy_to, timeout

    def send(self, message: OutboxView) -> None:
        """Send the message as one e-mail.

        Raises:
            DeliveryFailed: permanent when the message has no address at all or the
                server refuses every recipient; temporary on network and server errors.
        """
        email = self.compose(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
                if self.starttls:
                    server.starttls()
                if self.user:
                    server.login(self.user, self.password or "")
                refused = server.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(
                f"the mail server refused every recipient: {_refusals(exc.recipients)}",
                permanent=True,
                message_id=message.id,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(
                f"cannot send through {self.host}:{self.port}: {exc or type(exc).__name__}",
                message_id=message.id,
            ) from exc
        if refused:
            log.warning("message %s: the mail server refused %s", message.id, _refusals(refused))

    def compose(self, message: OutboxView) -> EmailMessage:
        """The e-mail for ``message``.

        Raises:
            DeliveryFailed: permanent, when it has neither a recipient nor a copy address.
        """
        payload = message.payload
        to = recipient_addresses(payload)
        cc = [self.copy_to] if payload.get("copy_oversight") and self.copy_to else []
        if not to and not cc:
            code = message.dossier_code or payload.get("dossier_code") or "no case"
            raise DeliveryFailed(
                f"no e-mail address for message {message.id} ({message.topic}, {code}): "
                "its recipients have no address",
                permanent=True,
                message_id=message.id,
            )
        email = EmailMessage()
        email["From"] = self.sender
        if to:
            email["To"] = ", ".join(to)
        if cc:
            email["Cc"] = ", ".join(cc)
        subject = payload.get("subject") or f"{message.topic} {payload.get('dossier_code') or ''}"
        email["Subject"] = str(subject).strip()
        email["Date"] = format_datetime(message.created_at)
        email["Message-ID"] = f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@onestop>"
        email.set_content(str(payload.get("body") or ""), charset="utf-8")
        return email


def _refusals(refused: dict[str, Any]) -> str:
    return "; ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items())


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class NotifierRegistry:
    """Which notifier sends which topic: the longest registered prefix wins, ``"*"`` last."""

    def __init__(self) -> None:
        self._by_prefix: dict[str, Notifier] = {}

    def register(self, topic_prefix: str, notifier: Notifier) -> None:
        """Send topics starting with ``topic_prefix`` (or every topic: ``"*"``) through
        ``notifier``; a later registration of the same prefix replaces the earlier."""
        self._by_prefix[topic_prefix] = notifier

    def notifier_for(self, topic: str) -> Notifier:
        """The notifier for ``topic``.

        Raises:
            DeliveryFailed: permanent, when no prefix matches and no ``"*"`` is registered.
        """
        matches = [p for p in self._by_prefix if p != "*" and topic.startswith(p)]
        if matches:
            return self._by_prefix[max(matches, key=len)]
        if "*" in self._by_prefix:
            return self._by_prefix["*"]
        raise DeliveryFailed(f"no notifier is registered for topic {topic!r}", permanent=True, topic=topic)


def default_notifiers(settings: Settings) -> NotifierRegistry:
    """Every topic through the notifier ``settings.notifier`` names (``file`` by default).

    Raises:
        ConfigurationError: ``smtp`` is chosen without ``smtp_host`` or ``smtp_from``.
    """
    registry = NotifierRegistry()
    notifier: Notifier
    if settings.notifier == "smtp":
        if not settings.smtp_host or not settings.smtp_from:
            raise ConfigurationError(
                "ONESTOP_NOTIFIER=smtp needs ONESTOP_SMTP_HOST and ONESTOP_SMTP_FROM",
                field="smtp_host" if not settings.smtp_host else "smtp_from",
            )
        notifier = SmtpNotifier(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            copy_to=settings.notify_copy_to,
        )
    elif settings.notifier == "log":
        notifier = LogNotifier()
    else:
        notifier = FileNotifier(settings.notifications_file)
    registry.register("*", notifier)
    return registry
