"""Verify the hash chain of every case (or one).

Recomputes each event's hash from its stored columns and checks that it chains to the
previous one and that the case header agrees with the last event. The first bad event of
a case is reported with its seq. Full verification (chain, replay, snapshot, signed
checkpoints) builds on :func:`chain_problem`; see :mod:`engine.verification`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from engine.errors import CaseNotFound
from engine.event_chain import GENESIS, event_hash
from engine.event_store import StoredEvent
from engine.persistence.database import Database
from engine.persistence.models import Case
from engine.queries import case_events
from engine.views import ChainProblem, VerifyReport


class HashedEvent(StoredEvent, Protocol):
    """An event row with its place in the chain (an ORM row or a :class:`ChainedEvent`)."""

    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """One stored event, every column the hash covers plus the hash itself."""

    seq: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Who a case is and where its header says its chain ends."""

    uid: str
    dossier_code: str
    last_seq: int
    last_hash: str


def chain_problem(head: ChainHead, events: Iterable[HashedEvent]) -> ChainProblem | None:
    """The first break in one case's chain, or None when it verifies.

    Args:
        head: the case and its header.
        events: the case's events in seq order.
    """
    expected_seq, prev = 1, GENESIS
    for event in events:
        reason = _link_problem(head.uid, event, expected_seq, prev)
        if reason is not None:
            return ChainProblem(
                dossier_code=head.dossier_code, seq=expected_seq, reason=reason, element_id=event.element_id
            )
        prev = event.hash
        expected_seq = event.seq + 1
    if expected_seq - 1 != head.last_seq or prev != head.last_hash:
        return ChainProblem(
            dossier_code=head.dossier_code,
            seq=expected_seq,
            reason=f"the chain ends at seq {expected_seq - 1} but the case records seq {head.last_seq}",
            expected=f"seq {head.last_seq} hash {head.last_hash}",
            found=f"seq {expected_seq - 1} hash {prev}",
        )
    return None


def _link_problem(case_uid: str, event: HashedEvent, expected_seq: int, prev: str) -> str | None:
    if event.seq != expected_seq:
        return f"event seq {expected_seq} is missing (found {event.seq})"
    if event.prev_hash != prev:
        return "prev_hash does not match the previous event"
    digest = event_hash(
        case_uid=case_uid,
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        kind=event.kind,
        element_id=event.element_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )
    if digest != event.hash:
        return "hash does not match the event's contents"
    return None


def verify_chains(db: Database, dossier_code: str | None = None) -> VerifyReport:
    """Check only the hash chains of one case or of all cases (no replay).

    Raises:
        CaseNotFound: ``dossier_code`` names no case.
    """
    problems: list[ChainProblem] = []
    cases_checked = events_checked = 0
    with db.read() as session:
        query = select(Case.id, Case.uid, Case.dossier_code, Case.last_seq, Case.last_hash).order_by(Case.id)
        if dossier_code is not None:
            query = query.where(Case.dossier_code == dossier_code)
        cases = session.execute(query).all()
        if dossier_code is not None and not cases:
            raise CaseNotFound(f"no case with dossier code '{dossier_code}'", case=dossier_code)
        for case_id, uid, code, last_seq, last_hash in cases:
            cases_checked += 1
            events = case_events(session, case_id)
            events_checked += len(events)
            problem = chain_problem(ChainHead(uid, code, last_seq, last_hash), events)
            if problem is not None:
                problems.append(problem)
    return VerifyReport(cases_checked=cases_checked, events_checked=events_checked, problems=tuple(problems))
