"""Org units, users and role grants: who works where, in which role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.directory_rules import check_level, check_unit_code
from engine.errors import OrgUnitNotFound, UserNotFound
from engine.persistence.database import Database
from engine.persistence.models import OrgUnit, RoleGrant, User
from engine.views import GrantView, OrgUnitView, UserView

RESERVED_ROLES = frozenset({"admin", "auditor"})


def unit_by_code(session: Session, code: str) -> OrgUnit:
    """The org unit with ``code``.

    Raises:
        OrgUnitNotFound: no unit has that code.
    """
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise unknown_unit(code)
    return unit


def unknown_unit(code: str) -> OrgUnitNotFound:
    return OrgUnitNotFound(f"no org unit has code '{code}'", unit=code)


def user_by_name(session: Session, username: str) -> User:
    """The active user ``username``.

    Raises:
        UserNotFound: no active user has that name.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise unknown_user(username)
    return user


def unknown_user(username: str) -> UserNotFound:
    return UserNotFound(f"no active user '{username}'", user=username)


def any_user_by_name(session: Session, username: str) -> User:
    """The user ``username``, active or not.

    Raises:
        UserNotFound: no user has that name.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(f"no user '{username}'", user=username)
    return user


def ensure_unit(
    session: Session,
    *,
    code: str,
    name: str,
    level: str,
    parent_code: str | None = None,
    timezone: str = "Asia/Bangkok",
    country: str = "TH",
    names: dict[str, str] | None = None,
) -> OrgUnitView:
    """Create the unit, or update its name if it exists (idempotent for seeding).

    Raises:
        InputRejected: an unknown level, or a code that breaks the rules of
            :func:`engine.directory_rules.check_unit_code`.
        OrgUnitNotFound: ``parent_code`` names no unit.
    """
    check_level(level)
    check_unit_code(code)
    parent = unit_by_code(session, parent_code) if parent_code else None
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        unit = OrgUnit(code=code, level=level, name=name, path="")
        session.add(unit)
    unit.name, unit.level, unit.timezone, unit.country = name, level, timezone, country
    unit.names = dict(names or {})
    unit.parent_id = parent.id if parent else None
    unit.path = f"{parent.path}/{code}" if parent else code
    session.flush()
    return unit_view(unit, parent.code if parent else None)


def ensure_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    grants: list[tuple[str, str]],
    locale: str = "en",
    password_hash: str | None = None,
) -> UserView:
    """Create or update a user and set exactly these (role, unit code) grants.

    Raises:
        OrgUnitNotFound: a grant names an unknown unit.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=display_name)
        session.add(user)
    user.display_name, user.locale, user.active = display_name, locale, True
    if password_hash is not None:
        user.password_hash = password_hash
    session.flush()
    wanted = {(role, unit_by_code(session, unit).id) for role, unit in grants}
    existing = session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    for grant in existing:
        if (grant.role, grant.org_unit_id) not in wanted:
            session.delete(grant)
    have = {(g.role, g.org_unit_id) for g in existing}
    for role, unit_id in sorted(wanted - have):
        session.add(RoleGrant(user_id=user.id, role=role, org_unit_id=unit_id))
    session.flush()
    return user_view(session, user)


def unit_view(unit: OrgUnit, parent_code: str | None) -> OrgUnitView:
    return OrgUnitView(
        code=unit.code,
        name=unit.name,
        level=unit.level,
        parent_code=parent_code,
        timezone=unit.timezone,
        country=unit.country,
        names={str(k): str(v) for k, v in (unit.names or {}).items()},
    )


def user_view(session: Session, user: User) -> UserView:
    rows = session.execute(
        select(RoleGrant.role, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
        .where(RoleGrant.user_id == user.id)
        .order_by(OrgUnit.code, RoleGrant.role)
    ).all()
    return UserView(
        username=user.username,
        display_name=user.display_name,
        locale=user.locale,
        active=user.active,
        grants=tuple(GrantView(role=role, unit_code=code) for role, code in rows),
    )


def list_units(session: Session) -> list[OrgUnitView]:
    units = session.scalars(select(OrgUnit).order_by(OrgUnit.path)).all()
    codes = {u.id: u.code for u in units}
    return [unit_view(u, codes.get(u.parent_id) if u.parent_id else None) for u in units]


def list_users(session: Session) -> list[UserView]:
    grants: dict[int, list[GrantView]] = {}
    rows = session.execute(
        select(RoleGrant.user_id, RoleGrant.role, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
        .order_by(OrgUnit.code, RoleGrant.role)
    ).all()
    for user_id, role, code in rows:
        grants.setdefault(user_id, []).append(GrantView(role=role, unit_code=code))
    return [
        UserView(
            username=u.username,
            display_name=u.display_name,
            locale=u.locale,
            active=u.active,
            grants=tuple(grants.get(u.id, ())),
        )
        for u in session.scalars(select(User).order_by(User.username)).all()
    ]


class Directory:
    """Seeding helpers (run as the system) and the unit catalogue every page needs.

    Each call is its own transaction. Admin commands and the checked reads of users and
    the change log are in :class:`engine.administration.Administration`.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_unit(self, **fields: Any) -> OrgUnitView:
        """See :func:`ensure_unit`."""
        with self.db.write() as session:
            return ensure_unit(session, **fields)

    def ensure_user(self, **fields: Any) -> UserView:
        """See :func:`ensure_user`."""
        with self.db.write() as session:
            return ensure_user(session, **fields)

    def units(self) -> list[OrgUnitView]:
        """Every org unit (codes, names, time zones): no personal data, so no actor check."""
        with self.db.read() as session:
            return list_units(session)

    def granted_roles(self) -> list[str]:
        """Every role someone holds somewhere, sorted (what a procedure's lanes may name);
        no personal data, so no actor check."""
        with self.db.read() as session:
            return sorted(session.scalars(select(RoleGrant.role).distinct()))
