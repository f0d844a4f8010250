"""What a case's diagram shows: the procedure's BPMN and how far the case got in it."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.event_store import StoredEvent, payload_of
from engine.persistence.models import ProcedureVersion
from engine.views import View

ElementState = Literal["completed", "active", "not_reached"]

# Events whose element the case has passed through.
_PASSED = frozenset(
    {"task_completed", "step_completed", "gateway_taken", "event_reached", "timer_fired", "service_called"}
)


class CaseDiagramView(View):
    """The BPMN file of the case's procedure version and a state per element reached."""

    dossier_code: str
    file: str
    bpmn: str
    states: dict[str, ElementState]


def element_states(events: Iterable[StoredEvent]) -> dict[str, ElementState]:
    """Completed and active elements, from the case's events in order (an element passed
    and then waited on again, as in a loop, is active)."""
    states: dict[str, ElementState] = {}
    waiting: dict[str, str] = {}  # ref -> element of open tasks and set timers
    for event in events:
        element = event.element_id
        if event.kind in ("task_ready", "timer_set") and element:
            waiting[str(payload_of(event).get("ref"))] = element
        elif event.kind in ("task_completed", "task_cancelled", "timer_fired"):
            waiting.pop(str(payload_of(event).get("ref")), None)
        if (event.kind in _PASSED and element) or (event.kind == "case_completed" and element):
            states[element] = "completed"
    for element in waiting.values():
        states[element] = "active"
    return states


def procedure_bpmn(session: Session, version_id: int) -> tuple[str, str]:
    """(file name, text) of the version's BPMN file that defines its process."""
    files, process_id = session.execute(
        select(ProcedureVersion.files, ProcedureVersion.process_id).where(ProcedureVersion.id == version_id)
    ).one()
    stored: dict[str, str] = (files or {}).get("bpmn", {})
    decoded = {
        name: base64.b64decode(data).decode("utf-8", errors="replace") for name, data in stored.items()
    }
    for name, text in sorted(decoded.items()):
        if f'id="{process_id}"' in text:
            return name, text
    name = sorted(decoded)[0]
    return name, decoded[name]
