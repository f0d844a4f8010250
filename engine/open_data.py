"""SLA figures as CSV: monthly open data and the per-unit summary.

Open-data file (UTF-8, comma-separated, one header row, one row per month × procedure ×
unit; see :meth:`engine.sla_report.SlaReports.monthly_open_data`):

==============  ==============================================================
column          meaning
==============  ==============================================================
month           ``YYYY-MM``, in the unit's own time zone
procedure       procedure code
unit            org unit code
received        cases received in the month
carried_over    received before the month, not closed before it
to_process      carried_over + received
processed       completed cases closed in the month
early           processed before their deadline day
on_time         processed on their deadline day
late            processed after their deadline day
no_deadline     processed cases that had no deadline
withdrawn       cancelled or withdrawn cases closed in the month
late_open       open and late at the end of the month
on_time_rate    (early + on_time) / processed, 4 decimals
late_rate       (late_open + late) / to_process, 4 decimals
==============  ==============================================================

A count below the publication threshold is written ``<N`` (``<5`` by default), and so
is a rate whose denominator is below it; an empty rate has a zero denominator.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from engine.views import MonthlyAggregate, SlaRow

OPEN_DATA_COLUMNS = (
    "month",
    "procedure",
    "unit",
    "received",
    "carried_over",
    "to_process",
    "processed",
    "early",
    "on_time",
    "late",
    "no_deadline",
    "withdrawn",
    "late_open",
    "on_time_rate",
    "late_rate",
)
SUMMARY_COLUMNS = ("unit", *OPEN_DATA_COLUMNS[3:])


def open_data_csv(rows: Iterable[MonthlyAggregate], *, min_cell: int = 5) -> str:
    """The open-data file of ``rows`` (suppressed cells written ``<min_cell``)."""
    hidden = f"<{min_cell}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OPEN_DATA_COLUMNS)
    for row in rows:
        counts = [_count(getattr(row, name), hidden) for name in OPEN_DATA_COLUMNS[3:13]]
        rates = [
            _rate(row.on_time_rate, hidden, row.processed),
            _rate(row.late_rate, hidden, row.to_process),
        ]
        writer.writerow([row.month.strftime("%Y-%m"), row.procedure, row.unit, *counts, *rates])
    return out.getvalue()


def summary_csv(rows: Iterable[SlaRow]) -> str:
    """The per-unit (or per-month) rows of an SLA summary, unsuppressed, for staff."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for row in rows:
        counts = [getattr(row, name) for name in SUMMARY_COLUMNS[1:11]]
        rates = [_rate(row.on_time_rate, "", 0), _rate(row.late_rate, "", 0)]
        writer.writerow([row.label, *counts, *rates])
    return out.getvalue()


def _count(value: int | None, hidden: str) -> str:
    return hidden if value is None else str(value)


def _rate(value: float | None, hidden: str, denominator: int | None) -> str:
    if value is not None:
        return f"{value:.4f}"
    return hidden if denominator is None else ""
