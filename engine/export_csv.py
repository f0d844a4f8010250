"""Event-per-row CSV (RFC 4180) with the XES column names PM4Py and spreadsheets expect.

Auditors open these files in spreadsheets, so a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with ``'``: no cell can become a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from engine.export_traces import ExportEvent, ExportInfo, TraceHeader, TraceSource, timestamp

COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "org:role",
    "lifecycle:transition",
    "case:procedure",
    "case:procedure_version",
    "case:unit",
    "case:status",
    "case:outcome",
    "onestop:seq",
    "onestop:kind",
    "onestop:element",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_chunks(source: TraceSource, info: ExportInfo) -> Iterator[bytes]:
    """The header row, then one chunk of rows per case, as UTF-8.

    ``info`` is unused: a CSV file has no place for file-level facts.
    """
    del info
    yield _rows([COLUMNS])
    for trace in source():
        yield _rows([_row(trace.header, event) for event in trace.events])


def neutralised(cell: str) -> str:
    """``cell``, prefixed with a quote when a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _rows(rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([[neutralised(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _row(header: TraceHeader, event: ExportEvent) -> list[str]:
    return [
        header.dossier_code,
        event.activity,
        timestamp(event.at),
        event.actor,
        event.role or "",
        event.transition,
        header.procedure,
        str(header.version),
        header.unit,
        header.status,
        header.outcome or "",
        str(event.seq),
        event.kind,
        event.element or "",
    ]
