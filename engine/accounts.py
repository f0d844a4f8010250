"""Local accounts: argon2id password hashes, sign-in, and throttling of failed attempts.

A failed sign-in never says whether the user name or the password was wrong, and costs
the same whether the account exists or not (an unknown name is checked against a dummy
hash). Failures are counted per user name, existing or not, in ``sign_in_failures``:
after :data:`FREE_ATTEMPTS` consecutive failures each further attempt must wait, starting
at :data:`FIRST_PAUSE` and doubling up to :data:`LONGEST_PAUSE`. A success clears the
count. Counting by name (not by address) also protects accounts behind a shared office
NAT, which is how commune offices connect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.authorization import load_principal
from engine.clock import as_utc, stored_instant
from engine.directory import user_view
from engine.directory_rules import SYSTEM_ACTOR
from engine.errors import InputRejected, PermissionDenied, SignInFailed, SignInThrottled, UserNotFound
from engine.persistence.database import Database
from engine.persistence.models import SignInFailure, User
from engine.persistence.prepared import Tx
from engine.views import UserView

FREE_ATTEMPTS = 5
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
WRONG = "Wrong user name or password."


class Accounts:
    """Passwords and sign-in for local accounts.

    Args:
        db: the database.
        hasher: argon2 parameters (the library's RFC 9106 low-memory profile by default).
    """

    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()
        self._dummy = self.hasher.hash("an account that does not exist")

    def hash_password(self, password: str) -> str:
        """An argon2id hash of ``password`` after checking it is acceptable.

        Raises:
            InputRejected: too short or too long.
        """
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InputRejected(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InputRejected(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
        return self.hasher.hash(password)

    def set_password(self, actor: str, username: str, password: str) -> None:
        """Set a user's password: the user themself, an admin, or the system (seeding).

        Raises:
            PermissionDenied: someone else's password, and the actor is no admin.
            UserNotFound: no such user.
            InputRejected: the password is not acceptable.
        """
        hashed = self.hash_password(password)
        with self.db.write() as session:
            if actor not in (username, SYSTEM_ACTOR) and not _is_admin(session, actor):
                raise PermissionDenied(f"{actor} may not set the password of {username}", actor=actor)
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise UserNotFound(f"no user '{username}'", user=username)
            store_password_hash(session, user, hashed)

    def has_password(self, username: str) -> bool:
        """Whether ``username`` exists and has a password set."""
        with self.db.read() as session:
            hashed = session.scalar(select(User.password_hash).where(User.username == username))
        return bool(hashed)

    def authenticate(self, username: str, password: str, now: datetime) -> UserView:
        """The active user whose password this is.

        Raises:
            SignInThrottled: too many recent failures for this name; wait ``retry_after`` s.
            SignInFailed: unknown or inactive user, no password set, or a wrong password.
        """
        now = as_utc(now)
        key = _key(username)
        with self.db.write() as session:
            failure = session.get(SignInFailure, key)
            if failure is not None and failure.throttled_until is not None:
                wait = stored_instant(failure.throttled_until) - now
                if wait > timedelta(0):
                    seconds = int(wait.total_seconds() + 0.999)
                    raise SignInThrottled(
                        f"Too many failed attempts. Try again in {seconds} seconds.", retry_after=seconds
                    )
            user = session.scalar(select(User).where(User.username == username.strip()))
            hashed = user.password_hash if user is not None and user.active else None
            # Verify even when there is no account, so both cases take the same time.
            if self._verifies(hashed or self._dummy, password) and user is not None and hashed:
                if failure is not None:
                    session.delete(failure)
                if self.hasher.check_needs_rehash(hashed):
                    user.password_hash = self.hasher.hash(password)
                return user_view(session, user)
            _count_failure(session, failure, key, now)
        raise SignInFailed(WRONG)

    def _verifies(self, hashed: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(hashed, password[:MAX_PASSWORD_LENGTH]))
        except (VerificationError, InvalidHashError):
            return False


def store_password_hash(session: Session, user: User, hashed: str) -> None:
    """Give ``user`` the password hashed as ``hashed`` and forget their failed sign-ins."""
    user.password_hash = hashed
    session.execute(delete(SignInFailure).where(SignInFailure.username == _key(user.username)))


def _count_failure(session: Session, failure: SignInFailure | None, key: str, now: datetime) -> None:
    if failure is None:
        failure = SignInFailure(username=key, failures=0)
        session.add(failure)
    failure.failures += 1
    failure.last_failure_at = now
    beyond = failure.failures - FREE_ATTEMPTS
    if beyond >= 0:
        pause = min(FIRST_PAUSE * (2 ** min(beyond, 16)), LONGEST_PAUSE)
        failure.throttled_until = now + pause


def _key(username: str) -> str:
    return username.strip().casefold()[:100]


def _is_admin(session: Session, username: str) -> bool:
    principal = load_principal(Tx.of(session.connection()), username)
    return "admin" in principal.roles
