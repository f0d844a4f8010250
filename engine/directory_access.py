"""Who may read and who may change the directory (users, role grants, org units).

``admin`` is a directory-wide role: a grant of it on any unit lets its holder change every
user and unit. Admins and auditors may read the directory and its change log. The system
actor (seeding, the CLI) may do both.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.authorization import Principal, load_principal
from engine.errors import PermissionDenied, UserNotFound
from engine.persistence.models import RoleGrant, User
from engine.persistence.prepared import Tx

ADMIN = "admin"
DIRECTORY_READERS = frozenset({ADMIN, "auditor"})


def require_admin(session: Session, actor: str, action: str) -> None:
    """Refuse unless ``actor`` is an active admin or the system.

    Raises:
        PermissionDenied: naming the actor and the action refused.
    """
    principal = _principal(session, actor, action)
    if not (principal.is_system or ADMIN in principal.roles):
        raise PermissionDenied(
            f"{actor} may not {action}: only an admin may change users, role grants and org units",
            actor=actor,
        )


def require_reader(session: Session, actor: str, action: str) -> None:
    """Refuse unless ``actor`` is an active admin or auditor, or the system.

    Raises:
        PermissionDenied: naming the actor and the action refused.
    """
    principal = _principal(session, actor, action)
    if not (principal.is_system or principal.roles & DIRECTORY_READERS):
        raise PermissionDenied(
            f"{actor} may not {action}: only an admin or an auditor may read the directory", actor=actor
        )


def active_admin_grants(session: Session) -> list[tuple[int, str]]:
    """(grant id, holder) of every admin grant held by an active user.

    The rows stay locked until the transaction ends, so that two admins removing each
    other at the same moment cannot both succeed (on PostgreSQL; SQLite runs one writer
    at a time anyway).
    """
    rows = session.execute(
        select(RoleGrant.id, User.username)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == ADMIN, User.active.is_(True))
        .order_by(RoleGrant.id)
        .with_for_update()
    ).all()
    return [(grant_id, holder) for grant_id, holder in rows]


def _principal(session: Session, actor: str, action: str) -> Principal:
    try:
        return load_principal(Tx.of(session.connection()), actor)
    except UserNotFound as exc:
        raise PermissionDenied(
            f"{actor} may not {action}: no active user has that name", actor=actor
        ) from exc
