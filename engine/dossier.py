"""Dossier codes: ``<unit code>-<YYMMDD>-<NNNN>`` (Vietnam, Circular 01/2018).

The sequence runs per receiving unit per receipt day (in the unit's time zone). It is
taken with one atomic upsert inside the command's transaction, so concurrent receipts
never share a number; a number, once committed, is never issued again (the counter only
grows, and refused or cancelled cases keep their codes).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.persistence.models import DossierSequence, OrgUnit

SEQUENCE_DIGITS = 4


def receipt_day(unit: OrgUnit, now: datetime) -> str:
    """``YYMMDD`` of ``now`` in the unit's time zone."""
    return now.astimezone(ZoneInfo(unit.timezone)).strftime("%y%m%d")


def next_dossier_code(session: Session, unit: OrgUnit, now: datetime) -> str:
    """Issue the next dossier code of ``unit`` for the receipt day of ``now``."""
    day = receipt_day(unit, now)
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Insert = insert_fn(DossierSequence).values(org_unit_id=unit.id, day=day, last_value=1)
    statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[DossierSequence.org_unit_id, DossierSequence.day],
        set_={"last_value": DossierSequence.last_value + 1},
    ).returning(DossierSequence.last_value)
    number = session.execute(statement).scalar_one()
    return f"{unit.code}-{day}-{number:0{SEQUENCE_DIGITS}d}"
