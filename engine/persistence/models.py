"""Relational schema (SQLAlchemy 2.0 typed models).

Only :mod:`engine` sees these classes; everything leaving the engine is a pydantic view.
Schema changes go through Alembic migrations in ``engine/persistence/migrations``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UtcDateTime = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime,
    }


class OrgUnit(Base):
    """A province or commune. ``path`` lists unit codes from the root, joined by '/'."""

    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    path: Mapped[str] = mapped_column(String(1000), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Bangkok")
    country: Mapped[str] = mapped_column(String(2), default="TH")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(5), default="en")
    active: Mapped[bool] = mapped_column(default=True)


class SignInFailure(Base):
    """Consecutive failed sign-ins under one user name (existing or not), for throttling."""

    __tablename__ = "sign_in_failures"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    throttled_until: Mapped[datetime | None]


class RoleGrant(Base):
    """A role held in an org unit; a grant on a province covers its communes."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))


class FederatedIdentity(Base):
    """The OpenID Connect account (issuer + subject) a user signs in with instead of a
    password; their grants are replaced by the mapped claims at every sign-in."""

    __tablename__ = "federated_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    first_sign_in_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime]


class DirectoryChange(Base):
    """One change to users, role grants or org units: who, when, what, before and after.

    ``details`` holds ``{"before": ..., "after": ...}``; never a password or its hash.
    Database triggers refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "directory_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Procedure(Base):
    __tablename__ = "procedures"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ProcedureVersion(Base):
    """One imported version: source files, the parsed spec (stored once), manual."""

    __tablename__ = "procedure_versions"
    __table_args__ = (UniqueConstraint("procedure_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict[str, Any]] = mapped_column()
    manual: Mapped[dict[str, Any]] = mapped_column(default=dict)
    spec_json: Mapped[str] = mapped_column(Text)
    lanes: Mapped[list[Any]] = mapped_column(default=list)
    starter_role: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    retired_by: Mapped[str | None] = mapped_column(String(100))
    retired_at: Mapped[datetime | None]


class Case(Base):
    """A dossier: read projection of its events plus the latest workflow snapshot."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_due_at", "due_at"),
        Index("ix_cases_closed_at", "closed_at"),
        Index("ix_cases_received_at", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    dossier_code: Mapped[str] = mapped_column(String(100), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_versions.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    applicant: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(200))
    current_step: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime]
    appointment_date: Mapped[date | None] = mapped_column(Date)  # promised at receipt, never changed
    due_date: Mapped[date | None] = mapped_column(Date)  # after extensions and pauses
    due_at: Mapped[datetime | None]  # close of business on due_date, UTC
    paused_at: Mapped[datetime | None]  # the clock is stopped since
    pause_kind: Mapped[str | None] = mapped_column(String(20))  # "waiting" (for the applicant) or "staff"
    paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text, deferred=True)
    snapshot_seq: Mapped[int] = mapped_column(Integer)
    commands_since_snapshot: Mapped[int] = mapped_column(Integer, default=0)


class DossierSequence(Base):
    """Last sequence number issued per unit per receipt day; never decremented."""

    __tablename__ = "dossier_sequences"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


# Partial-index predicates; a query must spell the same condition to use the index.
OPEN_ITEM = text("state IN ('open', 'claimed')")
HELD_ITEM = text("assignee IS NOT NULL")


class WorkItem(Base):
    """A user task instance: open, claimed, completed or cancelled."""

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("case_id", "ref"),  # also the index of a case's items
        # Worklist order inside the index: soonest due first, undated last (see worklist.py).
        Index(
            "ix_work_items_open",
            "role",
            "org_unit_id",
            text("(due_at IS NULL)"),
            "due_at",
            "ready_at",
            "assignee",  # so that "mine only" is answered from the index too
            sqlite_where=OPEN_ITEM,
            postgresql_where=OPEN_ITEM,
        ),
        Index("ix_work_items_assignee", "assignee", sqlite_where=HELD_ITEM, postgresql_where=HELD_ITEM),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    ref: Mapped[str] = mapped_column(String(250))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    form: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(100))
    ready_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))


class CaseEvent(Base):
    """Append-only history; ``hash`` chains every row to the previous one of its case.

    Database triggers refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Timer(Base):
    """A timer the case waits on; removed when it fires or its task is cancelled."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("case_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    ref: Mapped[str] = mapped_column(String(250))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime]


class OutboxMessage(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    failed_at: Mapped[datetime | None]  # given up after the last retry
    last_error: Mapped[str | None] = mapped_column(Text)


class CalendarRevision(Base):
    """One version of a jurisdiction's calendar; edits add a revision, none is changed."""

    __tablename__ = "calendar_revisions"
    __table_args__ = (Index("ix_calendar_revisions_country_id", "country", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    content: Mapped[dict[str, Any]] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))


class AccessLogEntry(Base):
    """Who read whose personal data, when, and why."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(String(300))


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, typed as such (for prebuilt Core statements)."""
    return cast(Table, model.__table__)


class ChainCheckpoint(Base):
    """A signed record of every case's chain head (``heads``: JSON ``{code: [seq, hash]}``).

    Kept as one JSON document per checkpoint: it is written and read whole, and a child
    row per case would cost an insert per case on every checkpoint.
    """

    __tablename__ = "chain_checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    cases: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    heads: Mapped[str] = mapped_column(Text, deferred=True)
    signature: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(String(200))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
