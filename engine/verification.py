"""Full verification of stored history: chain, replay, snapshot, header and checkpoint.

For each case, in order, stopping at the first problem (the one reported):

1. the hash chain (:func:`engine.audit.chain_problem`);
2. the newest valid signed checkpoint: the case still reaches the head recorded there;
3. replay from the very first event on the procedure version the case started on, every
   recorded command re-applied with its recorded instant, inputs and service answers, and
   what the engine produces compared with what was recorded, event by event;
4. the stored snapshot against the replayed workflow at ``snapshot_seq`` (replay is
   deterministic, so an honest snapshot holds the same state; see :mod:`engine.snapshot_diff`);
5. the case header (status, outcome) against the events.

Cases are read in batches of :data:`BATCH` (headers, events and snapshots of one batch in
one read transaction, so they agree with each other), which keeps memory bounded however
many cases there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.audit import ChainedEvent, ChainHead, chain_problem
from engine.calendars import CalendarBook
from engine.case_workflow import CaseWorkflow
from engine.checkpoint_checks import Anchor, behind_checkpoint, find_anchor, vanished_cases
from engine.connectors import ConnectorRegistry, ServiceLedger
from engine.errors import CaseNotFound, IntegrityError, ProcedureNotFound
from engine.event_store import COMMAND_KINDS, payload_of
from engine.persistence.database import Database
from engine.persistence.models import Case, CaseEvent, Procedure, ProcedureVersion, table_of
from engine.persistence.prepared import Tx
from engine.procedures import ProcedureCatalog
from engine.recovery import group_commands, replay_command
from engine.sandbox import Sandbox
from engine.snapshot_diff import snapshot_difference
from engine.views import ChainProblem, VerifyReport

BATCH = 200
Progress = Callable[[int, int], None]
_EVENTS = table_of(CaseEvent)
_CASES = table_of(Case)


@dataclass(frozen=True, slots=True)
class _CaseRow:
    id: int
    head: ChainHead
    version_id: int
    status: str
    outcome: str | None
    snapshot_seq: int


@dataclass(frozen=True)
class _Loaded:
    row: _CaseRow
    events: list[ChainedEvent]
    snapshot: str
    compiled: Any


class Verifier:
    """Verifies cases against everything they can be checked against.

    Args:
        db: the database.
        catalog: compiled procedure versions (each compiled once per process).
        sandbox: where model scripts run during replay.
        connectors: only consulted for names; replay answers from recorded results.
        key_path: the current checkpoint key, to warn about checkpoints signed by another.
    """

    def __init__(
        self,
        db: Database,
        catalog: ProcedureCatalog,
        sandbox: Sandbox,
        connectors: ConnectorRegistry,
        key_path: Path,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.sandbox = sandbox
        self.connectors = connectors
        self.key_path = key_path
        self.calendars = CalendarBook(db)

    def verify(
        self,
        dossier_code: str | None = None,
        *,
        procedure: str | None = None,
        progress: Progress | None = None,
    ) -> VerifyReport:
        """Verify one case, the cases of one procedure, or every case.

        Raises:
            CaseNotFound: ``dossier_code`` names no case.
            ProcedureNotFound: ``procedure`` names no procedure.
            ConfigurationError: the checkpoint key file exists but cannot be read.
        """
        scope = self._scope(dossier_code, procedure)
        problems: list[ChainProblem] = []
        warnings: list[str] = []
        anchor = find_anchor(self.db, self.key_path, problems, warnings)
        with self.db.read() as session:
            total = session.execute(select(func.count()).select_from(_CASES).where(*scope)).scalar_one()
        if dossier_code is not None and total == 0:
            raise CaseNotFound(f"no case with dossier code '{dossier_code}'", case=dossier_code)
        done = events = 0
        seen: set[str] = set()
        for loaded in self._stream(scope):
            seen.add(loaded.row.head.dossier_code)
            events += len(loaded.events)
            problem = self._check(loaded, anchor)
            if problem is not None:
                problems.append(problem)
            done += 1
            if progress is not None:
                progress(done, total)
        if anchor is not None and not scope:
            problems.extend(vanished_cases(anchor, seen))
        return VerifyReport(
            cases_checked=done,
            events_checked=events,
            problems=tuple(problems),
            warnings=tuple(warnings),
            checkpoint_id=anchor.id if anchor else None,
        )

    # -- scope and reading ----------------------------------------------------------------

    def _scope(self, dossier_code: str | None, procedure: str | None) -> list[ColumnElement[bool]]:
        scope: list[ColumnElement[bool]] = []
        if dossier_code is not None:
            scope.append(_CASES.c.dossier_code == dossier_code)
        if procedure is not None:
            with self.db.read() as session:
                known = session.execute(select(Procedure.id).where(Procedure.code == procedure)).first()
            if known is None:
                raise ProcedureNotFound(f"no procedure '{procedure}'", procedure=procedure)
            versions = select(ProcedureVersion.id).where(ProcedureVersion.procedure_id == known[0])
            scope.append(_CASES.c.procedure_version_id.in_(versions))
        return scope

    def _stream(self, scope: Sequence[ColumnElement[bool]]) -> Iterator[_Loaded]:
        after = 0
        while True:
            with self.db.read() as session:
                batch = self._read_batch(session, scope, after)
            if not batch:
                return
            yield from batch
            after = batch[-1].row.id

    def _read_batch(
        self, session: Session, scope: Sequence[ColumnElement[bool]], after: int
    ) -> list[_Loaded]:
        c = _CASES.c
        rows = session.execute(
            select(c.id, c.uid, c.dossier_code, c.last_seq, c.last_hash, c.procedure_version_id)
            .add_columns(c.status, c.outcome, c.snapshot_seq)
            .where(c.id > after, *scope)
            .order_by(c.id)
            .limit(BATCH)
        ).all()
        cases = [_CaseRow(r[0], ChainHead(r[1], r[2], r[3], r[4]), r[5], r[6], r[7], r[8]) for r in rows]
        if not cases:
            return []
        ids = [case.id for case in cases]
        by_case: dict[int, list[ChainedEvent]] = {case_id: [] for case_id in ids}
        e = _EVENTS.c
        for case_id, *values in session.execute(
            select(e.case_id, e.seq, e.at, e.actor, e.kind, e.element_id, e.payload, e.prev_hash, e.hash)
            .where(e.case_id.in_(ids))
            .order_by(e.case_id, e.seq)
        ):
            by_case[case_id].append(ChainedEvent(*values))
        wanted = [case.id for case in cases if case.snapshot_seq > 0]
        snapshots: dict[int, str] = {}
        if wanted:
            rows = session.execute(select(c.id, c.snapshot).where(c.id.in_(wanted))).all()
            snapshots = {case_id: text for case_id, text in rows}
        tx = Tx.of(session.connection())
        return [
            _Loaded(
                case,
                by_case[case.id],
                snapshots.get(case.id) or "",
                self.catalog.info(tx, case.version_id).compiled,
            )
            for case in cases
        ]

    # -- checks ---------------------------------------------------------------------------

    def _check(self, loaded: _Loaded, anchor: Anchor | None) -> ChainProblem | None:
        row = loaded.row
        problem = chain_problem(row.head, loaded.events)
        if problem is None and anchor is not None:
            problem = behind_checkpoint(anchor, row.head, loaded.events)
        if problem is None:
            problem = self._replay(loaded)
        if problem is None:
            problem = _header_problem(row, loaded.events)
        return problem

    def _replay(self, loaded: _Loaded) -> ChainProblem | None:
        row = loaded.row
        workflow = CaseWorkflow.begin(
            loaded.compiled, row.head.uid, self.sandbox, ServiceLedger(self.connectors)
        )
        workflow.calendars = self.calendars.revision
        seq = 1
        try:
            for recorded in group_commands(loaded.events):
                seq = recorded.command.seq
                replay_command(workflow, recorded, self.connectors)
                ends = recorded.consequences[-1].seq if recorded.consequences else seq
                if ends == row.snapshot_seq and loaded.snapshot:
                    found = snapshot_difference(loaded.snapshot, workflow.dump())
                    if found is not None:
                        return _problem(row, "snapshot", ends, *found)
        except IntegrityError as exc:
            details = exc.details
            return ChainProblem(
                dossier_code=row.head.dossier_code,
                seq=int(details.get("seq", seq)),
                reason=exc.message,
                kind="replay",
                element_id=details.get("element_id"),
                expected=details.get("expected"),
                found=details.get("found"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            # A forged command can be hashed correctly and still not be a readable command.
            return _problem(row, "replay", seq, None, "a readable command", f"{type(exc).__name__}: {exc}")
        if row.snapshot_seq > 0 and not _ends_command(loaded.events, row.snapshot_seq):
            return _problem(
                row,
                "snapshot",
                row.snapshot_seq,
                None,
                "a snapshot taken after a command",
                "none at this seq",
            )
        return None


def _ends_command(events: Sequence[ChainedEvent], seq: int) -> bool:
    """Whether a command's events end at ``seq`` (a snapshot can only be taken there)."""
    if seq > len(events):
        return False
    return seq == len(events) or events[seq].kind in COMMAND_KINDS


def _header_problem(row: _CaseRow, events: Sequence[ChainedEvent]) -> ChainProblem | None:
    status, outcome = "running", None
    for event in events:
        if event.kind == "case_completed":
            status, outcome = "completed", payload_of(event).get("outcome")
        elif event.kind == "case_cancelled":
            status, outcome = "cancelled", "Cancelled"
    if (row.status, row.outcome) == (status, outcome):
        return None
    return _problem(
        row,
        "snapshot",
        row.head.last_seq,
        None,
        f"status {status} ({outcome})",
        f"status {row.status} ({row.outcome})",
    )


_REASONS = {
    "replay": "a recorded command cannot be replayed",
    "snapshot": "the stored state disagrees with the replayed events",
}


def _problem(
    row: _CaseRow, kind: Any, seq: int, element_id: str | None, expected: str, found: str
) -> ChainProblem:
    return ChainProblem(
        dossier_code=row.head.dossier_code,
        seq=seq,
        reason=_REASONS[kind],
        kind=kind,
        element_id=element_id,
        expected=expected,
        found=found,
    )
