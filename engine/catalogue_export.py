"""The procedure catalogue as open-data files: JSON (every language) and CSV (one language).

JSON (UTF-8)::

    {
      "format": "onestop-procedure-catalogue",
      "format_version": 1,
      "generated_at": "2026-03-02T02:30:00Z",
      "languages": ["th", "vi", "en"],
      "procedures": [ <CatalogueEntry>, ... ]
    }

Each entry is :class:`engine.views.CatalogueEntry` as JSON; its texts (``name``,
``responsible_unit``, step, document, fee and result names, ``complaint_channel`` …) are
objects keyed by language. :func:`read_json` reads such a document back.

CSV (UTF-8, comma-separated, one header row, one row per published procedure version,
texts in the chosen language; several values in one cell are joined with ``" | "``):

=====================  ===========================================================
column                 meaning
=====================  ===========================================================
procedure_code         procedure code
version                version number
published_at           publication instant, ISO-8601 UTC
sha256                 hash of the version's package
language               language of the texts (``th``, ``vi``, ``en``)
national_code          national procedure code
name                   procedure name
legal_basis            law citations
responsible_unit       unit handling the procedure
channels               where to apply (counter, online, post …)
time_limit_days        legal time limit in days (0: same day)
day_type               ``working`` or ``calendar``
cutoff                 receipts after this local time (HH:MM) count from the next day
max_extensions         how often the time limit may be extended
steps                  ``name [role; N days]`` per step (what the manual gives)
documents              ``name [required|optional]``, ``; held by the state`` when it is
fees                   ``name: amount unit`` per fee, ``name: none`` when free; ``none``
                       when the manual lists no fee
results                what the citizen receives (``name (validity)``)
complaint_channel      where to complain
=====================  ===========================================================

A missing value is an empty cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from engine.catalogue import CATALOGUE_LANGUAGES, check_language, pick_text
from engine.clock import as_utc
from engine.errors import InputRejected
from engine.views import CatalogueEntry, CatalogueFee, CatalogueStep, CatalogueText

__all__ = ["CSV_COLUMNS", "FORMAT", "FORMAT_VERSION", "read_json", "to_csv", "to_json"]

FORMAT: Final = "onestop-procedure-catalogue"
FORMAT_VERSION: Final = 1
SEPARATOR: Final = " | "
NO_FEE: Final = "none"
CSV_COLUMNS: Final = (
    "procedure_code",
    "version",
    "published_at",
    "sha256",
    "language",
    "national_code",
    "name",
    "legal_basis",
    "responsible_unit",
    "channels",
    "time_limit_days",
    "day_type",
    "cutoff",
    "max_extensions",
    "steps",
    "documents",
    "fees",
    "results",
    "complaint_channel",
)


def to_json(entries: Sequence[CatalogueEntry], generated_at: datetime) -> str:
    """The catalogue as a JSON document (see the module docstring).

    Raises:
        ConfigurationError: ``generated_at`` has no time zone.
    """
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": as_utc(generated_at).isoformat().replace("+00:00", "Z"),
        "languages": list(CATALOGUE_LANGUAGES),
        "procedures": [entry.model_dump(mode="json") for entry in entries],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def read_json(text: str) -> list[CatalogueEntry]:
    """The entries of a catalogue JSON document written by :func:`to_json`.

    Raises:
        InputRejected: not JSON, another format or format version, or an entry of the wrong shape.
    """
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputRejected(f"the catalogue is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputRejected(f"the document is not a procedure catalogue (format '{FORMAT}')")
    if document.get("format_version") != FORMAT_VERSION:
        raise InputRejected(
            f"catalogue format version {document.get('format_version')!r} is not supported; "
            f"this OneStop reads version {FORMAT_VERSION}"
        )
    try:
        return [CatalogueEntry.model_validate(item) for item in document.get("procedures", [])]
    except ValidationError as exc:
        raise InputRejected(f"a catalogue entry has the wrong shape: {exc.errors()[0]['msg']}") from exc


def to_csv(entries: Iterable[CatalogueEntry], language: str) -> str:
    """The catalogue as CSV in ``language`` (see the module docstring for the columns).

    Raises:
        InputRejected: ``language`` is not a catalogue language.
    """
    check_language(language)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(_row(entry, language))
    return out.getvalue()


def _row(entry: CatalogueEntry, language: str) -> list[str]:
    def text(texts: CatalogueText | None) -> str:
        return _cell(pick_text(texts, language))

    return [
        entry.procedure_code,
        str(entry.version),
        entry.published_at.isoformat().replace("+00:00", "Z"),
        entry.sha256,
        language,
        entry.national_code or "",
        text(entry.name),
        _joined(entry.legal_basis),
        text(entry.responsible_unit),
        _joined(entry.channels),
        _number(entry.time_limit_days),
        entry.day_type or "",
        entry.cutoff or "",
        _number(entry.max_extensions),
        _joined(f"{text(step.name) or step.id}{_step_facts(step)}" for step in entry.steps),
        _joined(
            f"{text(d.name)} [{'required' if d.required else 'optional'}"
            f"{'; held by the state' if d.held_by_state else ''}]"
            for d in entry.documents
        ),
        _joined(f"{text(fee.name)}: {_fee(fee)}" for fee in entry.fees) or NO_FEE,
        _joined(text(r.name) + (f" ({_cell(r.validity)})" if r.validity else "") for r in entry.results),
        text(entry.complaint_channel),
    ]


def _step_facts(step: CatalogueStep) -> str:
    days = step.allowance_days
    facts = [part for part in (step.role, None if days is None else f"{days} day{'s' * (days != 1)}") if part]
    return f" [{'; '.join(facts)}]" if facts else ""


def _fee(fee: CatalogueFee) -> str:
    if fee.amount is None:
        return ""
    if fee.amount == 0:
        return NO_FEE
    return " ".join(_cell(part) for part in (f"{fee.amount:g}", fee.currency, fee.unit) if part)


def _joined(values: Iterable[str]) -> str:
    return SEPARATOR.join(_cell(value) for value in values)


def _cell(value: str) -> str:
    """``value`` on one line, without the separator (so a cell splits back unambiguously)."""
    return " ".join(value.split()).replace(SEPARATOR, " / ")


def _number(value: int | None) -> str:
    return "" if value is None else str(value)
