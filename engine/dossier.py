"""Dossier codes: ``<unit code>-<YYMMDD>-<NNNN>`` (Vietnam, Circular 01/2018).

The sequence runs per receiving unit per receipt day (in the unit's time zone). It is
taken with one atomic upsert inside the command's transaction, so concurrent receipts
never share a number; a number, once committed, is never issued again (the counter only
grows, and refused or cancelled cases keep their codes).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite

from engine.case_records import UnitRecord
from engine.persistence.models import DossierSequence, table_of
from engine.persistence.prepared import Prepared, Tx

SEQUENCE_DIGITS = 4

_SEQUENCES = table_of(DossierSequence)


def _take_next(insert_fn: type[sqlite.Insert] | type[postgresql.Insert]) -> Prepared:
    statement = insert_fn(_SEQUENCES).values(
        org_unit_id=bindparam("unit_id"), day=bindparam("day"), last_value=1
    )
    return Prepared(
        statement.on_conflict_do_update(
            index_elements=[_SEQUENCES.c.org_unit_id, _SEQUENCES.c.day],
            set_={"last_value": _SEQUENCES.c.last_value + 1},
        ).returning(_SEQUENCES.c.last_value)
    )


_TAKE_NEXT = {"sqlite": _take_next(sqlite.Insert), "postgresql": _take_next(postgresql.Insert)}


def receipt_day(timezone: str, now: datetime) -> str:
    """``YYMMDD`` of ``now`` in the time zone named ``timezone``."""
    return now.astimezone(ZoneInfo(timezone)).strftime("%y%m%d")


def next_dossier_code(tx: Tx, unit: UnitRecord, now: datetime) -> str:
    """Issue the next dossier code of ``unit`` for the receipt day of ``now``."""
    day = receipt_day(unit.timezone, now)
    row = _TAKE_NEXT[tx.dialect.name].first(tx, {"unit_id": unit.id, "day": day})
    assert row is not None
    return f"{unit.code}-{day}-{row['last_value']:0{SEQUENCE_DIGITS}d}"
