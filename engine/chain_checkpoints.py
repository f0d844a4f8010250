"""Signed checkpoints of every case's chain head.

A hash chain proves that no event was changed in the middle of a case, but not that the
newest events are all still there: cut a case's tail and fix its header, or put back an
older copy of the whole event table, and every chain still verifies. A checkpoint records
each case's ``(last_seq, last_hash)`` at an instant and signs the record with an Ed25519
key kept outside the database, so verification can insist that every case still reaches
the head it had then.

The signed message is the canonical JSON of the checkpoint's instant, author, case count
and ``digest`` (the sha256 of the stored ``heads`` text). The public key is stored with
each checkpoint, so a checkpoint verifies after the key is rotated; verification warns
when it was signed with another key than the current one. Copying the digest somewhere
the database's administrators cannot write (a ticket, an e-mail) also guards against the
newest checkpoints themselves being deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, insert, select

from engine.authorization import load_principal
from engine.clock import as_utc, stored_instant
from engine.errors import ConfigurationError, PermissionDenied
from engine.event_chain import canonical_json, format_instant
from engine.persistence.database import Database
from engine.persistence.models import Case, ChainCheckpoint, table_of
from engine.persistence.prepared import Tx
from engine.views import CheckpointView

CHECKPOINT_ROLES = frozenset({"auditor", "admin"})
_CHECKPOINTS = table_of(ChainCheckpoint)


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``, generated (owner-readable only) when there is none.

    Raises:
        ConfigurationError: the file exists but is not an Ed25519 private key in PEM.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = Ed25519PrivateKey.generate()
        pem = fresh.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Written whole under a private name, then linked into place: two workers starting at
        # once never each keep their own key, and neither reads the other's half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        handle = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return _read_key(path)
        finally:
            draft.unlink()
        return fresh
    return _read_key(path)


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"checkpoint key {path} cannot be read: {exc}", file=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"checkpoint key {path} is not an Ed25519 key", file=str(path))
    return key


def public_key_hex(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, hex encoded (what a checkpoint stores)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public_hex: str) -> str:
    """sha256 of the raw public key: short enough to compare by eye, unique in practice."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


def current_fingerprint(path: Path) -> str | None:
    """The fingerprint of the key at ``path``, or None when no key was made yet.

    Raises:
        ConfigurationError: the file exists but is not a usable key.
    """
    if not path.exists():
        return None
    return fingerprint(public_key_hex(_read_key(path).public_key()))


def signed_message(created_at: datetime, created_by: str, cases: int, digest: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    fields = {"at": format_instant(created_at), "by": created_by, "cases": cases, "digest": digest}
    return canonical_json(fields).encode("utf-8")


def take_checkpoint(db: Database, key_path: Path, actor: str, now: datetime) -> CheckpointView:
    """Record and sign the current chain head of every case.

    Raises:
        PermissionDenied: the actor is not the system, an auditor or an admin.
        UserNotFound: no active user has that name.
        ConfigurationError: the signing key cannot be read or created.
    """
    now = as_utc(now)
    with db.read() as session:
        principal = load_principal(Tx.of(session.connection()), actor)
        if not (principal.is_system or principal.roles & CHECKPOINT_ROLES):
            raise PermissionDenied(
                f"{actor} may not take a chain checkpoint: it needs the role 'auditor' or 'admin'",
                actor=actor,
            )
    key = load_or_create_key(key_path)
    public = public_key_hex(key.public_key())
    # One write transaction: the heads are read at one instant (SQLite: BEGIN IMMEDIATE).
    with db.write() as session:
        rows = session.execute(select(Case.dossier_code, Case.last_seq, Case.last_hash)).all()
        heads = canonical_json({code: [seq, digest] for code, seq, digest in rows})
        digest = hashlib.sha256(heads.encode("utf-8")).hexdigest()
        signature = key.sign(signed_message(now, actor, len(rows), digest)).hex()
        values = {
            "created_at": now,
            "created_by": actor,
            "cases": len(rows),
            "digest": digest,
            "heads": heads,
            "signature": signature,
            "public_key": public,
            "key_fingerprint": fingerprint(public),
        }
        new_id = session.execute(
            insert(_CHECKPOINTS).values(**values).returning(_CHECKPOINTS.c.id)
        ).scalar_one()
    return CheckpointView(
        id=int(new_id),
        created_at=now,
        created_by=actor,
        cases=len(rows),
        digest=digest,
        key_fingerprint=fingerprint(public),
    )


def is_checkpoint_due(db: Database, now: datetime, every: timedelta) -> bool:
    """Whether the newest checkpoint is older than ``every`` (or there is none)."""
    with db.read() as session:
        latest = session.execute(select(func.max(_CHECKPOINTS.c.created_at))).scalar()
    return latest is None or stored_instant(latest) <= as_utc(now) - every


@dataclass(frozen=True)
class CheckedCheckpoint:
    """A stored checkpoint after its signature was checked."""

    id: int
    created_at: datetime
    valid: bool
    reason: str
    key_fingerprint: str


def check_signatures(db: Database) -> list[CheckedCheckpoint]:
    """Every checkpoint, oldest first, with whether its signature verifies.

    The ``heads`` text is not read here: only the newest valid checkpoint's heads are
    used, and :func:`load_heads` checks them against the signed digest.
    """
    table = _CHECKPOINTS
    with db.read() as session:
        rows = session.execute(
            select(
                table.c.id,
                table.c.created_at,
                table.c.created_by,
                table.c.cases,
                table.c.digest,
                table.c.signature,
                table.c.public_key,
                table.c.key_fingerprint,
            ).order_by(table.c.id)
        ).all()
    return [_check_row(*row) for row in rows]


def _check_row(
    id_: int, at: datetime, by: str, cases: int, digest: str, signature: str, public: str, print_: str
) -> CheckedCheckpoint:
    created_at = stored_instant(at)
    try:
        if fingerprint(public) != print_:
            raise InvalidSignature("the stored fingerprint is not the stored key's")
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
        key.verify(bytes.fromhex(signature), signed_message(created_at, by, cases, digest))
    except (InvalidSignature, ValueError) as exc:
        reason = str(exc) or "the signature does not match the checkpoint"
        return CheckedCheckpoint(id_, created_at, False, reason, print_)
    return CheckedCheckpoint(id_, created_at, True, "", print_)


def load_heads(db: Database, checkpoint_id: int) -> dict[str, tuple[int, str]] | None:
    """The heads of a checkpoint, or None when they do not hash to its signed digest."""
    table = _CHECKPOINTS
    with db.read() as session:
        heads, digest = session.execute(
            select(table.c.heads, table.c.digest).where(table.c.id == checkpoint_id)
        ).one()
    if hashlib.sha256(heads.encode("utf-8")).hexdigest() != digest:
        return None
    return {code: (int(seq), str(last)) for code, (seq, last) in json.loads(heads).items()}
