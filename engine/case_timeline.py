"""A case's history for people: who did what, when, and which data each step changed.

Each event becomes one entry; an event that brings data (the start, a submitted form, a
message, a service answer) lists the fields it added or changed with their values before and
after. Personal fields are masked unless the reader may see them (see
:mod:`engine.personal_data`); file fields show the uploaded file names, not digests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.attachments import REFERENCE_PREFIX
from engine.clock import stored_instant
from engine.event_store import payload_of
from engine.persistence.models import CaseEvent
from engine.personal_data import mask_value
from engine.views import FieldChange, TimelineEntry

_NOTES = {
    "case_completed": "outcome",
    "case_cancelled": "reason",
    "message_received": "name",
    "task_claimed": "assignee",
    "task_assigned": "assignee",
}


def changed_data(event: CaseEvent, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an event sets: start data, submitted forms and what a script task changed
    field by field (a field a script removed is set to None), a message's payload under its
    name, a service answer under the service task's id."""
    if event.kind in ("case_started", "task_completed"):
        return dict(payload.get("data") or {})
    if event.kind == "step_completed":
        return {**dict.fromkeys(payload.get("removed") or ()), **dict(payload.get("data") or {})}
    if event.kind == "message_received":
        return {str(payload["name"]): payload.get("payload")}
    if event.kind == "service_called" and event.element_id:
        return {event.element_id: payload.get("result")}
    return {}


def build_timeline(
    events: Iterable[CaseEvent],
    *,
    step_names: Mapping[str, str],
    personal: Iterable[str],
    reveal: bool,
) -> tuple[list[TimelineEntry], set[str]]:
    """The entries, and the personal fields whose values they show (for the access log)."""
    hidden = set() if reveal else set(personal)
    shown_personal: set[str] = set()
    personal_names = set(personal)
    data: dict[str, Any] = {}
    files: dict[str, str] = {}
    entries: list[TimelineEntry] = []
    for event in events:
        payload = payload_of(event)
        for stored in payload.get("attachments") or ():
            files[REFERENCE_PREFIX + str(stored["sha256"])] = str(stored["filename"])
        changes = []
        for field, after in changed_data(event, payload).items():
            before = data.get(field)
            data[field] = after
            if before == after:
                continue
            if field in personal_names and not hidden:
                shown_personal.add(field)
            changes.append(
                FieldChange(
                    field=field,
                    before=_shown(field, before, hidden, files),
                    after=_shown(field, after, hidden, files),
                    masked=field in hidden,
                )
            )
        note_key = _NOTES.get(event.kind)
        note = payload.get(note_key) if note_key else None
        entries.append(
            TimelineEntry(
                seq=event.seq,
                at=stored_instant(event.at),
                actor=event.actor,
                kind=event.kind,
                element_id=event.element_id,
                step=step_names.get(event.element_id or "") or _named(event, payload),
                changes=tuple(changes),
                documents=tuple(str(a["filename"]) for a in payload.get("attachments") or ()),
                note=str(note) if note is not None else None,
            )
        )
    return entries, shown_personal


def _named(event: CaseEvent, payload: Mapping[str, Any]) -> str:
    """The BPMN name an engine event carries (a gateway, event or script step)."""
    name = payload.get("name")
    return name if isinstance(name, str) and event.kind != "message_received" else ""


def _shown(field: str, value: Any, hidden: set[str], files: Mapping[str, str]) -> Any:
    if value is None:
        return None
    value = _file_names(value, files)
    return mask_value(value) if field in hidden else value


def _file_names(value: Any, files: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value in files:
        return files[value]
    if isinstance(value, list):
        return [_file_names(item, files) for item in value]
    return value
