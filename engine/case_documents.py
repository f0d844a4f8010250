"""The documents of one case as a reader may see them, and the logged reading of one.

A document held by a personal field (see :mod:`engine.personal_data`) opens only for the
roles whose work needs the case's personal data; everyone who may see the case sees that it
exists. Every opening writes an access-log row naming the document and the purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import stored_instant
from engine.errors import DocumentNotFound, PermissionDenied
from engine.event_store import payload_of
from engine.persistence.models import Attachment, CaseEvent
from engine.views import AttachmentFile, AttachmentView

_LISTED = (
    Attachment.id,
    Attachment.sha256,
    Attachment.filename,
    Attachment.media_type,
    Attachment.size,
    Attachment.uploaded_by,
    Attachment.uploaded_at,
)


def fields_holding(events: Iterable[CaseEvent]) -> dict[str, tuple[str, ...]]:
    """For each stored digest, the form fields it was uploaded to (from the events)."""
    found: dict[str, list[str]] = {}
    for event in events:
        if event.kind != "task_completed":
            continue
        for stored in payload_of(event).get("attachments") or ():
            held = found.setdefault(str(stored["sha256"]), [])
            if stored["field"] not in held:
                held.append(str(stored["field"]))
    return {digest: tuple(names) for digest, names in found.items()}


class DocumentAccess:
    """Who may open which document of one case."""

    def __init__(self, personal: Iterable[str], needs_personal: bool, events: Iterable[CaseEvent]) -> None:
        self.fields = fields_holding(events)
        self.personal = set(personal)
        self.needs_personal = needs_personal

    def restricted(self, sha256: str) -> bool:
        return not self.needs_personal and bool(self.personal.intersection(self.fields.get(sha256, ())))

    def view(self, row: Any) -> AttachmentView:
        return AttachmentView(
            id=row.id,
            sha256=row.sha256,
            filename=row.filename,
            media_type=row.media_type,
            size=row.size,
            uploaded_by=row.uploaded_by,
            uploaded_at=stored_instant(row.uploaded_at),
            fields=self.fields.get(row.sha256, ()),
            restricted=self.restricted(row.sha256),
        )


def list_documents(session: Session, case_id: int, access: DocumentAccess) -> list[AttachmentView]:
    """The case's documents, oldest first (no bytes are read)."""
    rows = session.execute(select(*_LISTED).where(Attachment.case_id == case_id).order_by(Attachment.id))
    return [access.view(row) for row in rows]


def open_document(
    session: Session, case_id: int, dossier_code: str, attachment_id: int, access: DocumentAccess
) -> AttachmentFile:
    """One document with its bytes.

    Raises:
        DocumentNotFound: the case has no document with that id.
        PermissionDenied: it is personal data the reader's role does not need.
    """
    row = session.execute(
        select(*_LISTED, Attachment.content).where(
            Attachment.case_id == case_id, Attachment.id == attachment_id
        )
    ).first()
    if row is None:
        raise DocumentNotFound(
            f"case {dossier_code} has no document {attachment_id}", case=dossier_code, document=attachment_id
        )
    view = access.view(row)
    if view.restricted:
        raise PermissionDenied(
            f"'{view.filename}' is personal data ({', '.join(view.fields)}) that your role does not need"
        )
    return AttachmentFile(attachment=view, content=bytes(row.content))
