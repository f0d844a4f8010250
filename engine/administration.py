"""Admin commands on the directory: users, their role grants per org unit, and org units.

Every command takes the acting user and the instant first and runs in one transaction: it
refuses anyone but an admin (or the system) with :class:`PermissionDenied`, checks its input
with :mod:`engine.directory_rules` before changing anything, and records what changed, before
and after, in the directory change log. Admins and auditors may read the directory and its log.

``admin`` is a directory-wide role: a grant of it on any unit lets its holder administer
every user and unit. Two rules keep the directory administrable: an admin cannot deactivate
their own account, and the last admin grant held by an active user can be neither revoked
nor lost by deactivating its holder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.orm import Session

from engine.accounts import Accounts, store_password_hash
from engine.clock import as_utc
from engine.directory import any_user_by_name, list_units, list_users, unit_by_code, unit_view, user_view
from engine.directory_access import ADMIN, active_admin_grants, require_admin, require_reader
from engine.directory_changes import apply_changes, recent_changes, record_change
from engine.directory_rules import (
    check_country,
    check_display_name,
    check_level,
    check_locale,
    check_role,
    check_timezone,
    check_unit_code,
    check_unit_names,
    check_username,
)
from engine.errors import InputRejected
from engine.persistence.database import Database
from engine.persistence.models import FederatedIdentity, OrgUnit, RoleGrant, User
from engine.views import DirectoryChangeView, OrgUnitView, UserView


class Administration:
    """Users, role grants and org units, changed by admins and read by admins and auditors.

    Args:
        db: the database.
        accounts: hashes passwords (one hasher and one password policy for the system).
    """

    def __init__(self, db: Database, accounts: Accounts) -> None:
        self.db = db
        self.accounts = accounts

    # -- reads ----------------------------------------------------------------------------

    def users(self, actor: str) -> list[UserView]:
        """Every user, active or not, with their grants, by user name.

        Raises:
            PermissionDenied: the actor is neither an admin nor an auditor.
        """
        with self.db.read() as session:
            require_reader(session, actor, "read the users")
            return list_users(session)

    def units(self, actor: str) -> list[OrgUnitView]:
        """Every org unit with its names per locale, provinces before their communes.

        Raises:
            PermissionDenied: the actor is neither an admin nor an auditor.
        """
        with self.db.read() as session:
            require_reader(session, actor, "read the org units")
            return list_units(session)

    def directory_changes(self, actor: str, limit: int = 100) -> list[DirectoryChangeView]:
        """The newest ``limit`` (1–1000) directory changes, newest first.

        Raises:
            PermissionDenied: the actor is neither an admin nor an auditor.
            InputRejected: ``limit`` is out of range.
        """
        with self.db.read() as session:
            require_reader(session, actor, "read the directory changes")
            return recent_changes(session, limit)

    # -- users ----------------------------------------------------------------------------

    def create_user(
        self,
        actor: str,
        now: datetime,
        username: str,
        display_name: str,
        *,
        locale: str = "en",
        password: str | None = None,
    ) -> UserView:
        """Create an active user without grants, with a password when one is given.

        Raises:
            PermissionDenied: the actor is no admin.
            InputRejected: a bad or taken user name, an empty display name, a locale that is
                not offered, or an unacceptable password.
        """
        at = as_utc(now)
        action = f"create the user {username}"
        self._require_admin_before_hashing(actor, action)
        username = check_username(username)
        wanted = {"display_name": check_display_name(display_name), "locale": check_locale(locale)}
        hashed = self.accounts.hash_password(password) if password else None
        with self.db.write() as session:
            require_admin(session, actor, action)
            taken = InputRejected(f"user name '{username}' is taken; choose another", field="username")
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise taken
            user = User(username=username, active=True, password_hash=hashed, **wanted)
            session.add(user)
            _flush(session, taken)
            after = {**wanted, "active": True, "password_set": hashed is not None}
            record_change(
                session, at=at, actor=actor, action="create_user", subject=username, before=None, after=after
            )
            return user_view(session, user)

    def update_user(
        self,
        actor: str,
        now: datetime,
        username: str,
        *,
        display_name: str | None = None,
        locale: str | None = None,
    ) -> UserView:
        """Change a user's display name and/or locale (``None`` keeps the current value).

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            InputRejected: an empty display name or a locale that is not offered.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"change the user {username}")
            user = any_user_by_name(session, username)
            wanted: dict[str, Any] = {}
            if display_name is not None:
                wanted["display_name"] = check_display_name(display_name)
            if locale is not None:
                wanted["locale"] = check_locale(locale)
            apply_changes(session, user, wanted, at=at, actor=actor, action="update_user", subject=username)
            return user_view(session, user)

    def set_password(self, actor: str, now: datetime, username: str, password: str) -> None:
        """Give a user a new password and clear their failed sign-ins.

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            InputRejected: the password is too short or too long.
        """
        at = as_utc(now)
        action = f"set the password of {username}"
        self._require_admin_before_hashing(actor, action)
        hashed = self.accounts.hash_password(password)
        with self.db.write() as session:
            require_admin(session, actor, action)
            user = any_user_by_name(session, username)
            _refuse_if_federated(session, user, "a password")
            before = {"password_set": user.password_hash is not None}
            store_password_hash(session, user, hashed)
            record_change(
                session,
                at=at,
                actor=actor,
                action="set_password",
                subject=username,
                before=before,
                after={"password_set": True},
            )

    def deactivate_user(self, actor: str, now: datetime, username: str) -> UserView:
        """Stop a user from signing in or acting; their grants stay for a later reactivation.

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            InputRejected: the actor's own account, a user already inactive, or the holder of
                the last admin grant of an active user.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"deactivate the user {username}")
            if username == actor:
                raise InputRejected(
                    f"you cannot deactivate your own account '{username}'; ask another admin",
                    field="username",
                )
            user = any_user_by_name(session, username)
            if not user.active:
                raise InputRejected(f"user '{username}' is already inactive", field="username")
            holders = [holder for _, holder in active_admin_grants(session)]
            if username in holders and all(holder == username for holder in holders):
                raise InputRejected(
                    f"user '{username}' is the last active admin; grant admin to another user before "
                    "deactivating this one",
                    field="username",
                )
            apply_changes(
                session,
                user,
                {"active": False},
                at=at,
                actor=actor,
                action="deactivate_user",
                subject=username,
            )
            return user_view(session, user)

    def reactivate_user(self, actor: str, now: datetime, username: str) -> UserView:
        """Let an inactive user sign in and act again, with the grants they had.

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            InputRejected: the user is already active.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"reactivate the user {username}")
            user = any_user_by_name(session, username)
            if user.active:
                raise InputRejected(f"user '{username}' is already active", field="username")
            apply_changes(
                session,
                user,
                {"active": True},
                at=at,
                actor=actor,
                action="reactivate_user",
                subject=username,
            )
            return user_view(session, user)

    # -- grants ---------------------------------------------------------------------------

    def grant_role(self, actor: str, now: datetime, username: str, role: str, unit_code: str) -> UserView:
        """Let a user act in ``role`` in the unit ``unit_code`` (and, for a province, its communes).

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            OrgUnitNotFound: no such unit.
            InputRejected: a malformed role name, or a grant the user already holds.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"grant the role {role} to {username}")
            role = check_role(role)
            user = any_user_by_name(session, username)
            _refuse_if_federated(session, user, "grants")
            unit = unit_by_code(session, unit_code)
            held = InputRejected(
                f"user '{username}' already holds the role '{role}' in unit {unit_code}", field="role"
            )
            if _grant(session, user, role, unit) is not None:
                raise held
            session.add(RoleGrant(user_id=user.id, role=role, org_unit_id=unit.id))
            _flush(session, held)
            record_change(
                session,
                at=at,
                actor=actor,
                action="grant_role",
                subject=username,
                before=None,
                after={"role": role, "unit": unit_code},
            )
            return user_view(session, user)

    def revoke_role(self, actor: str, now: datetime, username: str, role: str, unit_code: str) -> UserView:
        """Take back the grant of ``role`` in ``unit_code`` from a user.

        Raises:
            PermissionDenied: the actor is no admin.
            UserNotFound: no such user.
            OrgUnitNotFound: no such unit.
            InputRejected: the user holds no such grant, or it is the last admin grant held by
                an active user.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"revoke the role {role} from {username}")
            user = any_user_by_name(session, username)
            _refuse_if_federated(session, user, "grants")
            unit = unit_by_code(session, unit_code)
            grant = _grant(session, user, role, unit)
            if grant is None:
                raise InputRejected(
                    f"user '{username}' holds no role '{role}' in unit {unit_code}; nothing to revoke",
                    field="role",
                )
            if role == ADMIN and user.active:
                others = [grant_id for grant_id, _ in active_admin_grants(session) if grant_id != grant.id]
                if not others:
                    raise InputRejected(
                        f"the role 'admin' of '{username}' in unit {unit_code} is the last admin grant of "
                        "an active user; grant admin to another user before revoking it",
                        field="role",
                    )
            session.delete(grant)
            record_change(
                session,
                at=at,
                actor=actor,
                action="revoke_role",
                subject=username,
                before={"role": role, "unit": unit_code},
                after=None,
            )
            session.flush()
            return user_view(session, user)

    # -- org units ------------------------------------------------------------------------

    def create_unit(
        self,
        actor: str,
        now: datetime,
        code: str,
        name: str,
        level: str,
        *,
        parent_code: str | None = None,
        timezone: str = "Asia/Bangkok",
        country: str = "TH",
        names: Mapping[str, str] | None = None,
    ) -> OrgUnitView:
        """Create a province (no parent) or a commune (under a province).

        Raises:
            PermissionDenied: the actor is no admin.
            OrgUnitNotFound: ``parent_code`` names no unit.
            InputRejected: a bad or taken code, an empty name, an unknown level, time zone or
                language, a province with a parent, or a commune without a province above it.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"create the org unit {code}")
            code = check_unit_code(code)
            wanted: dict[str, Any] = {
                "name": check_display_name(name, field="name"),
                "level": check_level(level),
                "timezone": check_timezone(timezone),
                "country": check_country(country),
                "names": check_unit_names(names or {}),
            }
            parent = _parent_for(session, wanted["level"], parent_code or None)
            taken = InputRejected(f"org unit code '{code}' is taken; choose another", field="code")
            if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
                raise taken
            path = f"{parent.path}/{code}" if parent else code
            unit = OrgUnit(code=code, parent_id=parent.id if parent else None, path=path, **wanted)
            session.add(unit)
            _flush(session, taken)
            after = {**wanted, "parent_code": parent.code if parent else None}
            record_change(
                session, at=at, actor=actor, action="create_unit", subject=code, before=None, after=after
            )
            return unit_view(unit, parent.code if parent else None)

    def update_unit(
        self,
        actor: str,
        now: datetime,
        code: str,
        *,
        name: str | None = None,
        timezone: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> OrgUnitView:
        """Rename a unit, change its time zone, or replace its names per locale (``None``
        keeps the current value). Its code, level and parent never change: cases refer to them.

        Raises:
            PermissionDenied: the actor is no admin.
            OrgUnitNotFound: no such unit.
            InputRejected: an empty name, an unknown time zone or language.
        """
        at = as_utc(now)
        with self.db.write() as session:
            require_admin(session, actor, f"change the org unit {code}")
            unit = unit_by_code(session, code)
            wanted: dict[str, Any] = {}
            if name is not None:
                wanted["name"] = check_display_name(name, field="name")
            if timezone is not None:
                wanted["timezone"] = check_timezone(timezone)
            if names is not None:
                wanted["names"] = check_unit_names(names)
            apply_changes(session, unit, wanted, at=at, actor=actor, action="update_unit", subject=code)
            parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
            return unit_view(unit, parent.code if parent else None)

    def _require_admin_before_hashing(self, actor: str, action: str) -> None:
        """Refuse a non-admin before any password is hashed: hashing is slow on purpose, so it
        runs outside the write transaction (SQLite would hold its write lock meanwhile) and
        only for an admin."""
        with self.db.read() as session:
            require_admin(session, actor, action)


def _grant(session: Session, user: User, role: str, unit: OrgUnit) -> RoleGrant | None:
    return session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.org_unit_id == unit.id
        )
    )


def _parent_for(session: Session, level: str, parent_code: str | None) -> OrgUnit | None:
    if level == "province":
        if parent_code is not None:
            raise InputRejected(
                f"a province is a top-level unit; it cannot have the parent '{parent_code}'",
                field="parent_code",
            )
        return None
    if parent_code is None:
        raise InputRejected("a commune needs a parent province; choose one", field="parent_code")
    parent = unit_by_code(session, parent_code)
    if parent.level != "province":
        raise InputRejected(
            f"the parent of a commune must be a province; '{parent_code}' is a {parent.level}",
            field="parent_code",
        )
    return parent


def _flush(session: Session, duplicate: InputRejected) -> None:
    """Flush, reporting a unique-constraint race lost to a concurrent transaction as ``duplicate``."""
    try:
        session.flush()
    except DuplicateRow as exc:
        raise duplicate from exc


def _refuse_if_federated(session: Session, user: User, what: str) -> None:
    """Users who sign in through an identity provider get their grants from its claims at
    every sign-in and have no password: an edit here would not last, or would open a second
    way in.

    Raises:
        InputRejected: the user signs in through an identity provider.
    """
    issuer = session.scalar(select(FederatedIdentity.issuer).where(FederatedIdentity.user_id == user.id))
    if issuer is not None:
        raise InputRejected(
            f"user '{user.username}' signs in through {issuer}, which sets their {what}; "
            "change it at the identity provider",
            field="username",
        )
