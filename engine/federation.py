"""Sign-in through an OpenID Connect provider: claims in, a user with exactly the mapped grants out.

The runtime hands over the claims of an identity token that Streamlit has already verified
(signature, audience, nonce); this module decides who that is in OneStop:

- the account is found by the token's issuer and subject (``iss`` + ``sub``), not by its
  user name, so a renamed person keeps their account and history; a first sign-in creates
  the account, without a password: such users can only sign in through the provider;
- a first sign-in whose user name is already taken is refused, unless the mapping sets
  ``link_existing_accounts`` (then the existing account is bound and its password removed);
- grants are replaced by the mapped ones on every sign-in; a grant naming a unit OneStop
  does not have is skipped and reported in :attr:`FederatedSignIn.warnings`, so one stale
  group at the provider does not lock a person out of the units that do exist;
- a person left with no grant at all, or whose account an admin deactivated, is refused
  with :class:`SignInRefused`, and a refused sign-in changes nothing.

Each created account, bound account and changed grant is written to the directory change
log with the actor ``oidc:<issuer>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.orm import Session

from engine.claim_mapping import ClaimMapping, MappedIdentity, load_claim_mapping, map_claims
from engine.clock import as_utc
from engine.directory import user_view
from engine.directory_changes import record_change
from engine.errors import SignInRefused
from engine.persistence.database import Database
from engine.persistence.models import FederatedIdentity, OrgUnit, RoleGrant, User
from engine.views import FederatedSignIn

DEFAULT_LOCALE = "en"


class Federation:
    """Sign-in with the claims of an OpenID Connect identity token.

    Args:
        db: the database.
        mapping: which claims name the user and grant roles.
    """

    def __init__(self, db: Database, mapping: ClaimMapping) -> None:
        self.db = db
        self.mapping = mapping

    def sign_in_federated(self, claims: Mapping[str, Any], now: datetime) -> FederatedSignIn:
        """Create or update the user the claims describe, with exactly the mapped grants.

        Args:
            claims: the identity token's claims (``iss``, ``sub``, the user-name claim and
                whatever the mapping's rules read), as a plain mapping.
            now: the instant of the sign-in.

        Raises:
            SignInRefused: the claims are unusable or too old, the issuer is not the configured
                one, the account is deactivated, the user name belongs to another account, or
                no grant remains.
        """
        at = as_utc(now)
        identity = map_claims(self.mapping, claims, at)
        try:
            return self._sign_in(identity, at)
        except DuplicateRow:
            pass
        # The same person's first sign-in ran in another tab at the same moment: the account
        # exists now, so a second attempt finds it.
        try:
            return self._sign_in(identity, at)
        except DuplicateRow as exc:
            raise SignInRefused(
                f"another sign-in of '{identity.username}' was saved at the same moment; try again",
                user=identity.username,
            ) from exc

    def _sign_in(self, identity: MappedIdentity, at: datetime) -> FederatedSignIn:
        actor = f"oidc:{identity.issuer}"[:100]
        with self.db.write() as session:
            link = session.scalar(
                select(FederatedIdentity).where(
                    FederatedIdentity.issuer == identity.issuer, FederatedIdentity.subject == identity.subject
                )
            )
            user = (
                session.get(User, link.user_id)
                if link is not None
                else self._account_to_bind(session, identity)
            )
            warnings = list(identity.warnings)
            if user is not None and not user.active:
                raise SignInRefused(
                    f"the account '{user.username}' is deactivated; ask an administrator to reactivate it",
                    user=user.username,
                )
            if user is not None and user.username != identity.username:
                warnings.append(
                    f"the identity provider now calls '{user.username}' '{identity.username}'; "
                    "the account keeps its name"
                )
            grants = _grants_in_known_units(session, identity, warnings)
            username = user.username if user is not None else identity.username
            if not grants:
                raise SignInRefused(
                    f"OneStop has no role for '{username}': none of the groups or roles the identity "
                    "provider sent maps to a role in an org unit; ask your administrator",
                    user=username,
                    warnings=warnings,
                )
            created = user is None
            if user is None:
                user = _create_user(session, identity, at, actor)
            else:
                _update_user(session, user, identity, at, actor)
            if link is None:
                _bind(session, user, identity, at, actor)
            else:
                link.last_sign_in_at = at
            _set_grants(session, user, grants, at, actor)
            return FederatedSignIn(user=user_view(session, user), created=created, warnings=tuple(warnings))

    def _account_to_bind(self, session: Session, identity: MappedIdentity) -> User | None:
        user = session.scalar(select(User).where(User.username == identity.username))
        if user is None:
            return None
        bound = session.scalar(select(FederatedIdentity.id).where(FederatedIdentity.user_id == user.id))
        if bound is not None or not self.mapping.link_existing_accounts:
            raise SignInRefused(
                f"the user name '{identity.username}' already belongs to another OneStop account; ask "
                "your administrator to rename one of the accounts"
                + ("" if bound is not None else " or to allow linking existing accounts"),
                user=identity.username,
            )
        return user


def load_federation(db: Database, mapping_path: Path | None) -> Federation | None:
    """The federation configured by ``mapping_path``, or None when it is unset (or empty).

    Raises:
        ConfigurationError: the mapping file cannot be used.
    """
    if mapping_path is None or mapping_path == Path(""):
        return None
    return Federation(db, load_claim_mapping(mapping_path))


def _grants_in_known_units(
    session: Session, identity: MappedIdentity, warnings: list[str]
) -> dict[tuple[str, str], int]:
    codes = {unit for _, unit in identity.grants}
    rows = session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.code.in_(codes))).all()
    known = {code: unit_id for code, unit_id in rows}
    for code in sorted(codes - set(known)):
        warnings.append(f"no org unit has the code '{code}'; its grants were skipped")
    return {(role, unit): known[unit] for role, unit in sorted(identity.grants) if unit in known}


def _create_user(session: Session, identity: MappedIdentity, at: datetime, actor: str) -> User:
    user = User(
        username=identity.username,
        display_name=identity.display_name,
        locale=identity.locale or DEFAULT_LOCALE,
        password_hash=None,
        active=True,
    )
    session.add(user)
    session.flush()
    after = {"display_name": user.display_name, "locale": user.locale, "active": True, "password_set": False}
    record_change(
        session, at=at, actor=actor, action="create_user", subject=user.username, before=None, after=after
    )
    return user


def _update_user(session: Session, user: User, identity: MappedIdentity, at: datetime, actor: str) -> None:
    wanted = {"display_name": identity.display_name}
    if identity.locale is not None:
        wanted["locale"] = identity.locale
    changed = {key: value for key, value in wanted.items() if getattr(user, key) != value}
    if not changed:
        return
    before = {key: getattr(user, key) for key in changed}
    for key, value in changed.items():
        setattr(user, key, value)
    record_change(
        session, at=at, actor=actor, action="update_user", subject=user.username, before=before, after=changed
    )


def _bind(session: Session, user: User, identity: MappedIdentity, at: datetime, actor: str) -> None:
    had_password = user.password_hash is not None
    user.password_hash = None
    session.add(
        FederatedIdentity(
            user_id=user.id,
            issuer=identity.issuer,
            subject=identity.subject,
            first_sign_in_at=at,
            last_sign_in_at=at,
        )
    )
    session.flush()
    record_change(
        session,
        at=at,
        actor=actor,
        action="link_identity",
        subject=user.username,
        before={"password_set": had_password},
        after={"password_set": False, "issuer": identity.issuer, "subject": identity.subject},
    )


def _set_grants(
    session: Session, user: User, grants: dict[tuple[str, str], int], at: datetime, actor: str
) -> None:
    wanted = {(role, unit_id): unit for (role, unit), unit_id in grants.items()}
    held = session.execute(
        select(RoleGrant, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
        .where(RoleGrant.user_id == user.id)
    ).all()
    kept = set()
    for grant, code in held:
        key = (grant.role, grant.org_unit_id)
        if key in wanted:
            kept.add(key)
            continue
        session.delete(grant)
        record_change(
            session,
            at=at,
            actor=actor,
            action="revoke_role",
            subject=user.username,
            before={"role": grant.role, "unit": code},
            after=None,
        )
    for (role, unit_id), code in sorted(wanted.items()):
        if (role, unit_id) in kept:
            continue
        session.add(RoleGrant(user_id=user.id, role=role, org_unit_id=unit_id))
        record_change(
            session,
            at=at,
            actor=actor,
            action="grant_role",
            subject=user.username,
            before=None,
            after={"role": role, "unit": code},
        )
    session.flush()
