"""Verify the hash chain of every case (or one).

Recomputes each event's hash from its stored columns and checks that it chains to the
previous one and that the case header agrees with the last event. The first bad event of
a case is reported with its seq.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.errors import CaseNotFound
from engine.event_chain import GENESIS, event_hash
from engine.persistence.database import Database
from engine.persistence.models import Case
from engine.queries import case_events
from engine.views import ChainProblem, VerifyReport


def verify_chains(db: Database, dossier_code: str | None = None) -> VerifyReport:
    """Check the chains of one case or of all cases.

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
            expected_seq, prev = 1, GENESIS
            problem: ChainProblem | None = None
            for event in case_events(session, case_id):
                events_checked += 1
                if problem is not None:
                    continue
                if event.seq != expected_seq:
                    problem = ChainProblem(
                        dossier_code=code,
                        seq=expected_seq,
                        reason=f"event seq {expected_seq} is missing (found {event.seq})",
                    )
                elif event.prev_hash != prev:
                    problem = ChainProblem(
                        dossier_code=code, seq=event.seq, reason="prev_hash does not match the previous event"
                    )
                else:
                    digest = event_hash(
                        case_uid=uid,
                        seq=event.seq,
                        at=event.at,
                        actor=event.actor,
                        kind=event.kind,
                        element_id=event.element_id,
                        payload=event.payload,
                        prev_hash=event.prev_hash,
                    )
                    if digest != event.hash:
                        problem = ChainProblem(
                            dossier_code=code,
                            seq=event.seq,
                            reason="hash does not match the event's contents",
                        )
                prev = event.hash
                expected_seq = event.seq + 1
            if problem is None and (expected_seq - 1 != last_seq or prev != last_hash):
                problem = ChainProblem(
                    dossier_code=code,
                    seq=expected_seq,
                    reason=f"the chain ends at seq {expected_seq - 1} but the case records seq {last_seq}",
                )
            if problem is not None:
                problems.append(problem)
    return VerifyReport(cases_checked=cases_checked, events_checked=events_checked, problems=tuple(problems))
