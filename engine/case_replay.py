"""A case replayed event by event: how its diagram and data stood after each event.

Replay is read-only: it rebuilds every frame from the recorded events and never touches the
workflow. The data changes come from :func:`engine.case_timeline.build_timeline`, so a frame
masks and names files exactly as the case's history does; the only write is the access-log
row when personal values are revealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from engine.authorization import load_principal
from engine.case_diagram import ElementState, procedure_bpmn
from engine.event_store import StoredEvent, payload_of
from engine.persistence.database import Database
from engine.persistence.prepared import Tx
from engine.queries import case_events, case_view, read_timeline, visible_case
from engine.views import CaseView, FieldChange, TimelineEntry, View

# Events whose element the case has passed through (as the case page's diagram counts them).
_PASSED = frozenset(
    {
        "task_completed",
        "step_completed",
        "gateway_taken",
        "event_reached",
        "timer_fired",
        "service_called",
        "case_completed",
    }
)
_WAITING = frozenset({"task_ready", "timer_set"})
_STOPPED_WAITING = frozenset({"task_completed", "task_cancelled", "timer_fired"})


class ReplayFrame(View):
    """The case just after one event: who did what, the diagram and the data as they stood.

    ``states`` lists completed and active elements; an element not listed was not reached.
    """

    seq: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    step: str = ""
    states: dict[str, ElementState]
    data: dict[str, Any]
    changes: tuple[FieldChange, ...] = ()


class CaseReplayView(View):
    """Every frame of a case, oldest first, with the BPMN of its procedure version."""

    case: CaseView
    file: str
    bpmn: str
    frames: tuple[ReplayFrame, ...]
    masked_fields: tuple[str, ...] = ()


class CaseReplays:
    """Replays of recorded cases, for auditors and the staff who may read the case."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def replay(
        self, actor: str, dossier_code: str, now: datetime, purpose: str | None = None
    ) -> CaseReplayView:
        """The case ``dossier_code`` as it stood after each of its events.

        Personal values are masked unless a purpose is given and the actor's role needs
        them; values so revealed are logged with the purpose, as the case history does.

        Raises:
            CaseNotFound: unknown, or a case ``actor`` may not read.
            UserNotFound: ``actor`` is not an active user.
        """
        reason = (purpose or "").strip()
        with (self.db.write if reason else self.db.read)() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            events = case_events(session, case.id)
            entries, masked = read_timeline(session, principal, case, events, now, reason)
            file, text = procedure_bpmn(session, case.procedure_version_id)
            return CaseReplayView(
                case=case_view(session, case),
                file=file,
                bpmn=text,
                frames=tuple(replay_frames(entries, states_after_each(events))),
                masked_fields=masked,
            )


def states_after_each(events: Iterable[StoredEvent]) -> Iterator[dict[str, ElementState]]:
    """The diagram's element states after each event, in one pass: a task is active from
    its ``task_ready``, a timer from its ``timer_set``; an element is completed once passed
    (an element passed and then waited on again, as in a loop, is active)."""
    passed: dict[str, ElementState] = {}
    waiting: dict[str, str] = {}  # ref -> element of open tasks and set timers
    for event in events:
        element = event.element_id
        if event.kind in _WAITING and element:
            waiting[str(payload_of(event).get("ref"))] = element
        elif event.kind in _STOPPED_WAITING:
            waiting.pop(str(payload_of(event).get("ref")), None)
        if event.kind in _PASSED and element:
            passed[element] = "completed"
        yield {**passed, **dict.fromkeys(waiting.values(), "active")}


def replay_frames(
    entries: Iterable[TimelineEntry], states: Iterable[dict[str, ElementState]]
) -> Iterator[ReplayFrame]:
    """Frames from the history's entries (their shown, possibly masked, changes) and the
    states after each event; the data of a frame is every change so far applied in order."""
    data: dict[str, Any] = {}
    for entry, state in zip(entries, states, strict=True):
        data.update({change.field: change.after for change in entry.changes})
        yield ReplayFrame(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            kind=entry.kind,
            element_id=entry.element_id,
            step=entry.step,
            states=state,
            data=dict(data),
            changes=entry.changes,
        )
