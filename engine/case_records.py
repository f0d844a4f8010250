"""The rows a command reads and writes, through statements built once.

Commands are the hot path: every statement here is built once at import and run as a
:class:`~engine.persistence.prepared.Prepared` statement, and rows travel as plain records
rather than ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from engine.directory import unknown_unit
from engine.persistence.models import Case, OrgUnit, Timer, WorkItem, table_of
from engine.persistence.prepared import Prepared, Tx

CASES = table_of(Case)
ITEMS = table_of(WorkItem)
UNITS = table_of(OrgUnit)
TIMERS = table_of(Timer)


@dataclass
class CaseRecord:
    """A case row, minus its snapshot (read only when a workflow must be rebuilt)."""

    id: int
    uid: str
    dossier_code: str
    procedure_version_id: int
    org_unit_id: int
    applicant: dict[str, Any]
    status: str
    outcome: str | None
    current_step: str
    received_at: datetime
    appointment_date: date | None
    closed_at: datetime | None
    updated_at: datetime
    version: int
    last_seq: int
    last_hash: str
    snapshot_seq: int
    commands_since_snapshot: int
    due_date: date | None = None
    due_at: datetime | None = None
    paused_at: datetime | None = None
    pause_kind: str | None = None
    paused_days: int = 0
    snapshot: str | None = None


@dataclass(frozen=True)
class UnitRecord:
    id: int
    code: str
    path: str
    timezone: str
    country: str


@dataclass
class ItemRecord:
    id: int
    case_id: int
    ref: str
    element_id: str
    name: str
    role: str
    org_unit_id: int
    form: str | None
    state: str
    assignee: str | None
    ready_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None


_CASE_FIELDS = [f.name for f in fields(CaseRecord) if f.name != "snapshot"]
_ITEM_FIELDS = [f.name for f in fields(ItemRecord)]
_CASE_COLUMNS = [CASES.c[name] for name in _CASE_FIELDS]
_NEW_CASE_FIELDS = [name for name in _CASE_FIELDS if name != "id"]
_ITEM_COLUMNS = [ITEMS.c[name].label(f"item_{name}") for name in _ITEM_FIELDS]
_MUTABLE = [
    "status",
    "outcome",
    "current_step",
    "closed_at",
    "updated_at",
    "version",
    "last_seq",
    "last_hash",
    "snapshot_seq",
    "commands_since_snapshot",
    "due_date",
    "due_at",
    "paused_at",
    "pause_kind",
    "paused_days",
]

_UNIT_COLUMNS = (
    UNITS.c.code.label("unit_code"),
    UNITS.c.path.label("unit_path"),
    UNITS.c.country.label("unit_country"),
    UNITS.c.timezone.label("unit_zone"),
)

_ITEM_WITH_CASE = (
    select(*_CASE_COLUMNS, *_UNIT_COLUMNS, *_ITEM_COLUMNS)
    .join(UNITS, UNITS.c.id == CASES.c.org_unit_id)
    .join(ITEMS, ITEMS.c.case_id == CASES.c.id)
    .where(ITEMS.c.id == bindparam("item_id"))
)
_BY_ITEM = Prepared(_ITEM_WITH_CASE.with_for_update(of=CASES))
_READ_BY_ITEM = Prepared(_ITEM_WITH_CASE)
_BY_CODE = Prepared(
    select(*_CASE_COLUMNS, *_UNIT_COLUMNS)
    .join(UNITS, UNITS.c.id == CASES.c.org_unit_id)
    .where(CASES.c.dossier_code == bindparam("code"))
    .with_for_update(of=CASES)
)
# The next running case with a timer due before ``now``, by case id after ``after``; a case
# another worker holds is skipped (PostgreSQL), so several workers share the due timers.
_CLAIM_DUE = Prepared(
    select(*_CASE_COLUMNS, *_UNIT_COLUMNS)
    .select_from(
        TIMERS.join(CASES, CASES.c.id == TIMERS.c.case_id).join(UNITS, UNITS.c.id == CASES.c.org_unit_id)
    )
    .where(TIMERS.c.due_at < bindparam("now"), CASES.c.status == "running", CASES.c.id > bindparam("after"))
    .order_by(CASES.c.id)
    .limit(1)
    .with_for_update(of=CASES, skip_locked=True)
)
_DUE_REFS = Prepared(
    select(TIMERS.c.ref)
    .where(TIMERS.c.case_id == bindparam("case_id"), TIMERS.c.due_at < bindparam("now"))
    .order_by(TIMERS.c.ref)
)
_SAVE_CASE = Prepared(
    update(CASES)
    .where(CASES.c.id == bindparam("case_id"))
    .values({name: bindparam(f"v_{name}") for name in _MUTABLE})
)
_SAVE_SNAPSHOT = Prepared(
    update(CASES).where(CASES.c.id == bindparam("case_id")).values(snapshot=bindparam("v_snapshot"))
)
_SNAPSHOT = Prepared(select(CASES.c.snapshot).where(CASES.c.id == bindparam("case_id")))
_INSERT_CASE = Prepared(
    insert(CASES)
    .values({name: bindparam(f"v_{name}") for name in [*_NEW_CASE_FIELDS, "snapshot"]})
    .returning(CASES.c.id)
)
_SAVE_ITEM = Prepared(
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("item_id"))
    .values(state=bindparam("v_state"), assignee=bindparam("v_assignee"))
)
_OPEN_ITEMS = Prepared(
    select(*_ITEM_COLUMNS)
    .where(ITEMS.c.case_id == bindparam("case_id"), or_(ITEMS.c.state == "open", ITEMS.c.state == "claimed"))
    .order_by(ITEMS.c.id)
)
_UNIT = Prepared(
    select(UNITS.c.id, UNITS.c.code, UNITS.c.path, UNITS.c.timezone, UNITS.c.country).where(
        UNITS.c.code == bindparam("code")
    )
)


@dataclass(frozen=True)
class LockedCase:
    case: CaseRecord
    unit_code: str
    unit_path: str
    item: ItemRecord | None
    unit_country: str = "TH"
    unit_zone: str = "Asia/Bangkok"


def lock_by_item(tx: Tx, item_id: int, *, lock: bool = True) -> LockedCase | None:
    """Lock the case of a work item (``FOR UPDATE`` on PostgreSQL) and read both; with
    ``lock=False`` only read them."""
    row = (_BY_ITEM if lock else _READ_BY_ITEM).first(tx, {"item_id": item_id})
    if row is None:
        return None
    return LockedCase(_case(row), row["unit_code"], row["unit_path"], _item(row), *_unit_place(row))


def lock_by_code(tx: Tx, dossier_code: str) -> LockedCase | None:
    """Lock a case by dossier code and read it."""
    row = _BY_CODE.first(tx, {"code": dossier_code})
    if row is None:
        return None
    return LockedCase(_case(row), row["unit_code"], row["unit_path"], None, *_unit_place(row))


def claim_due_case(tx: Tx, now: datetime, after: int) -> LockedCase | None:
    """Lock the next running case (by id, above ``after``) with a timer due before ``now``.

    Due means strictly before ``now``, as SpiffWorkflow fires a timer only once its instant
    has passed. On PostgreSQL a case locked by another transaction is skipped
    (``FOR UPDATE SKIP LOCKED``), so workers never wait on each other or fire a timer twice.
    """
    row = _CLAIM_DUE.first(tx, {"now": now, "after": after})
    if row is None:
        return None
    return LockedCase(_case(row), row["unit_code"], row["unit_path"], None, *_unit_place(row))


def due_timer_refs(tx: Tx, case_id: int, now: datetime) -> list[str]:
    """Refs of the case's timers due before ``now``, read under the case's lock."""
    return [str(row["ref"]) for row in _DUE_REFS.rows(tx, {"case_id": case_id, "now": now})]


def _unit_place(row: dict[str, Any]) -> tuple[str, str]:
    return str(row["unit_country"]), str(row["unit_zone"])


def find_unit(tx: Tx, code: str) -> UnitRecord:
    """The org unit with ``code``.

    Raises:
        OrgUnitNotFound: no unit has that code.
    """
    row = _UNIT.first(tx, {"code": code})
    if row is None:
        raise unknown_unit(code)
    return UnitRecord(**row)


def insert_case(tx: Tx, case: CaseRecord) -> int:
    """Insert a new case row; returns its id."""
    values = {f"v_{name}": getattr(case, name) for name in _NEW_CASE_FIELDS}
    values["v_snapshot"] = case.snapshot or ""
    row = _INSERT_CASE.first(tx, values)
    assert row is not None
    return int(row["id"])


def save_case(tx: Tx, case: CaseRecord, *, snapshot: str | None = None) -> None:
    """Write the columns a command may change (and a new snapshot, when given)."""
    params = {f"v_{name}": getattr(case, name) for name in _MUTABLE}
    params["case_id"] = case.id
    _SAVE_CASE.run(tx, params)
    if snapshot is not None:
        _SAVE_SNAPSHOT.run(tx, {"case_id": case.id, "v_snapshot": snapshot})


def load_snapshot(tx: Tx, case_id: int) -> str:
    row = _SNAPSHOT.first(tx, {"case_id": case_id})
    return str(row["snapshot"] or "") if row else ""


def save_item(tx: Tx, item: ItemRecord) -> None:
    """Write who holds a work item (claim, release, assign)."""
    _SAVE_ITEM.run(tx, {"item_id": item.id, "v_state": item.state, "v_assignee": item.assignee})


def open_items(tx: Tx, case_id: int) -> list[ItemRecord]:
    """Open and claimed work items of a case, oldest first."""
    return [_item(row) for row in _OPEN_ITEMS.rows(tx, {"case_id": case_id})]


def _case(row: Any) -> CaseRecord:
    return CaseRecord(**{name: row[name] for name in _CASE_FIELDS})


def _item(row: Any) -> ItemRecord:
    return ItemRecord(**{name: row[f"item_{name}"] for name in _ITEM_FIELDS})
