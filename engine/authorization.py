"""Who may do what to which case: one rule for the UI, the CLI and the worker.

A user may act in a role on a case when they hold a grant for that role on the case's org
unit or on any unit above it (a province grant covers its communes). ``admin`` and
``auditor`` are never work roles: auditors read everything and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select

from engine.directory import RESERVED_ROLES, unknown_user
from engine.directory_rules import SYSTEM_ACTOR
from engine.errors import PermissionDenied
from engine.persistence.models import OrgUnit, RoleGrant, User
from engine.persistence.prepared import Prepared, Tx

READ_ROLES_EVERYWHERE = frozenset({"auditor"})


@dataclass(frozen=True)
class Principal:
    """An authenticated actor and the (role, unit path) pairs they hold."""

    username: str
    grants: frozenset[tuple[str, str]]
    is_system: bool = False

    def holds(self, role: str, unit_path: str) -> bool:
        """Whether a grant for ``role`` covers the unit at ``unit_path``."""
        if role in RESERVED_ROLES and role != "admin":
            return False
        return any(granted == role and covers(path, unit_path) for granted, path in self.grants)

    def holds_any(self, roles: Iterable[str], unit_path: str) -> bool:
        return any(self.holds(role, unit_path) for role in roles)

    def units_for(self, role: str) -> list[str]:
        """Unit paths where ``role`` is held (each covers the units below it)."""
        return sorted(path for granted, path in self.grants if granted == role)

    def sees_unit(self, unit_path: str) -> bool:
        """Whether the actor may read cases of the unit at ``unit_path``: with any grant
        covering it, or everywhere as the system or an auditor."""
        return self.sees_every_case or any(covers(path, unit_path) for _, path in self.grants)

    @property
    def sees_every_case(self) -> bool:
        return self.is_system or bool(self.roles & READ_ROLES_EVERYWHERE)

    @property
    def roles(self) -> set[str]:
        return {role for role, _ in self.grants}


def covers(granted_path: str, unit_path: str) -> bool:
    """Whether a grant on the unit at ``granted_path`` reaches the unit at ``unit_path``."""
    return unit_path == granted_path or unit_path.startswith(granted_path + "/")


def units_within(path_column: Any, granted_path: str) -> ColumnElement[bool]:
    """SQL twin of :func:`covers`: ``path_column`` is the granted unit or one below it
    (``%`` and ``_`` in unit codes match only themselves)."""
    return or_(path_column == granted_path, path_column.startswith(granted_path + "/", autoescape=True))


SYSTEM = Principal(SYSTEM_ACTOR, frozenset(), is_system=True)

_GRANTS = Prepared(
    select(User.active, RoleGrant.role, OrgUnit.path)
    .select_from(User)
    .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
    .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
    .where(User.username == bindparam("username"))
)


def load_principal(tx: Tx, username: str) -> Principal:
    """The user ``username`` with their grants.

    Raises:
        UserNotFound: no active user has that name.
    """
    if username == SYSTEM_ACTOR:
        return SYSTEM
    rows = _GRANTS.rows(tx, {"username": username})
    if not rows or not rows[0]["active"]:
        raise unknown_user(username)
    return Principal(
        username, frozenset((row["role"], row["path"]) for row in rows if row["role"] is not None)
    )


def require_role(principal: Principal, roles: Iterable[str], unit_path: str, action: str) -> None:
    """Refuse unless ``principal`` holds one of ``roles`` over ``unit_path``.

    Raises:
        PermissionDenied: naming the action, the roles needed and the unit.
    """
    wanted = sorted(set(roles))
    if principal.holds_any(wanted, unit_path):
        return
    unit = unit_path.rsplit("/", 1)[-1]
    needed = " or ".join(f"'{r}'" for r in wanted) or "a work role"
    raise PermissionDenied(
        f"{principal.username} may not {action}: it needs the role {needed} in unit {unit} or above",
        actor=principal.username,
        unit=unit,
    )


def require_system(principal: Principal, action: str) -> None:
    """Refuse unless the caller is the system actor (worker, timers).

    Raises:
        PermissionDenied: a person tried a system-only action.
    """
    if not principal.is_system:
        raise PermissionDenied(f"{principal.username} may not {action}: only the system worker may")
