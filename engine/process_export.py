"""Case histories exported for process mining: XES, CSV and OCEL 2.0.

One trace per case of a procedure (optionally only cases received in a date range), one
event per exported history row, streamed in (case, seq) order: rows are read in batches
through a server-side cursor and each case's trace is written as soon as it is read, so
memory stays flat however many events there are (see :mod:`engine.export_traces`).
Formats: :mod:`engine.export_xes`, :mod:`engine.export_csv`, :mod:`engine.export_ocel`.

Activities. Every event gets the label of its BPMN element (its name, else its id; a name
shared by two elements gets the id appended), so that mining tools see one activity per
element; case-level events without an element are labelled "Case received", "Case
completed", "Case cancelled" and "Message <name>". With ``activities="all"`` (the default)
every event is exported except ``timers_due``, which only announces the ``timer_fired``
events that follow it. The XES lifecycle transition of each kind:

============================================  ==========================
kind                                          lifecycle:transition
============================================  ==========================
task_ready, timer_set                         schedule
task_claimed, task_assigned                   assign
task_released                                 reassign
task_cancelled (a work item or timer)         ate_abort
case_cancelled                                pi_abort
task_completed, service_called,               complete
step_completed, gateway_taken, timer_fired,
event_reached, message_received,
case_started, case_completed
============================================  ==========================

With ``activities="tasks"`` only the completions of BPMN tasks are exported
(``task_completed`` of user tasks, ``service_called`` of service tasks,
``step_completed`` of script tasks): exactly the activities that PM4Py labels transitions
with when it converts the procedure's BPMN to a Petri net, for conformance checking.

Personal data. Exports carry structure only: procedure, version, unit, status, outcome
(an end event's name), activity names, times, actors, lanes, which documents were
uploaded (by digest, field and media type — never the file name or content) and which
flows gateways took. No form values, message payloads, service parameters or
cancellation reasons are read, so an export reads no personal data and is not recorded
in the access log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authorization import load_principal
from engine.clock import as_utc
from engine.errors import InputRejected, PermissionDenied, ProcedureNotFound, UserNotFound
from engine.export_csv import csv_chunks
from engine.export_ocel import ocel_chunks
from engine.export_traces import (
    ActivityScope,
    Catalogue,
    ExportInfo,
    Trace,
    TraceQuery,
    TraceSource,
    element_catalogue,
    read_traces,
)
from engine.export_xes import xes_chunks
from engine.persistence.database import Database
from engine.persistence.models import Procedure, ProcedureVersion
from engine.persistence.prepared import Tx
from engine.procedures import ProcedureCatalog

ExportFormat = Literal["xes", "csv", "ocel"]
EXPORT_ROLES = frozenset({"auditor", "admin"})
MEDIA_TYPES: dict[str, str] = {
    "xes": "application/xml",
    "csv": "text/csv",
    "ocel": "application/json",
}
_WRITERS: dict[str, Callable[[TraceSource, ExportInfo], Iterator[bytes]]] = {
    "xes": xes_chunks,
    "csv": csv_chunks,
    "ocel": ocel_chunks,
}


class ExportStream(Iterator[bytes]):
    """The chunks of one export (UTF-8), produced lazily as they are iterated.

    ``cases`` and ``events`` count what has been written so far (for OCEL, which reads
    the cases twice, what the second pass has written).
    """

    def __init__(
        self,
        writer: Callable[[TraceSource, ExportInfo], Iterator[bytes]],
        source: TraceSource,
        info: ExportInfo,
    ) -> None:
        self.cases = 0
        self.events = 0
        self._source = source
        self._chunks = writer(self._counted, info)

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early and release the database connection."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def _counted(self) -> Iterator[Trace]:
        self.cases = self.events = 0
        for trace in self._source():
            self.cases += 1
            self.events += len(trace.events)
            yield trace


class ProcessExports:
    """Exports of case histories for auditors, admins and the system.

    Args:
        db: the database.
        procedures: the catalogue (labels and lanes come from each compiled version).
    """

    def __init__(self, db: Database, procedures: ProcedureCatalog) -> None:
        self.db = db
        self.procedures = procedures

    def stream(
        self,
        actor: str,
        fmt: ExportFormat,
        procedure: str,
        *,
        since: date | None = None,
        until: date | None = None,
        now: datetime,
        zone: str = "Asia/Bangkok",
        activities: ActivityScope = "all",
    ) -> ExportStream:
        """The export of ``procedure``'s cases received from ``since`` to ``until``
        (inclusive days in ``zone``), as lazily produced UTF-8 chunks.

        Permissions and arguments are checked now; the database is read as the chunks are
        consumed (close the stream to stop early).

        Raises:
            PermissionDenied: ``actor`` is not an auditor, an admin or the system.
            ProcedureNotFound: no procedure has the code ``procedure``.
            InputRejected: an unknown format or activity scope, or a range ending before it starts.
        """
        if fmt not in _WRITERS:
            raise InputRejected(f"unknown export format {fmt!r}; use one of xes, csv, ocel", field="format")
        if activities not in get_args(ActivityScope):
            raise InputRejected(
                f"unknown activity scope {activities!r}; use all or tasks", field="activities"
            )
        if since and until and until < since:
            raise InputRejected("the date range ends before it starts", field="until")
        with self.db.read() as session:
            _require_exporter(session, actor)
            catalogues = self._catalogues(session, procedure)
        query = TraceQuery(
            procedure=procedure,
            start=_start_of(since, zone) if since else None,
            end=_start_of(until + timedelta(days=1), zone) if until else None,
            scope=activities,
        )
        info = ExportInfo(procedure=procedure, exported_at=as_utc(now), scope=activities)
        return ExportStream(_WRITERS[fmt], lambda: read_traces(self.db.engine, query, catalogues), info)

    def _catalogues(self, session: Session, procedure: str) -> dict[int, Catalogue]:
        """Element labels of every version of ``procedure``, by version id."""
        rows = session.execute(
            select(ProcedureVersion.id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .where(Procedure.code == procedure)
        ).scalars()
        tx = Tx.of(session.connection())
        catalogues: dict[int, Catalogue] = {
            vid: element_catalogue(self.procedures.info(tx, vid).compiled) for vid in rows.all()
        }
        if not catalogues and session.scalar(select(Procedure.id).where(Procedure.code == procedure)) is None:
            raise ProcedureNotFound(f"no procedure has the code '{procedure}'", procedure=procedure)
        return catalogues


def _require_exporter(session: Session, actor: str) -> None:
    action = f"{actor} may not export case histories"
    try:
        principal = load_principal(Tx.of(session.connection()), actor)
    except UserNotFound as exc:
        raise PermissionDenied(f"{action}: no active user has that name", actor=actor) from exc
    if not (principal.is_system or principal.roles & EXPORT_ROLES):
        raise PermissionDenied(f"{action}: it needs the role 'admin' or 'auditor'", actor=actor)


def _start_of(day: date, zone: str) -> datetime:
    return as_utc(datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)))
