"""Local accounts: argon2 hashes, one message for every failure, throttling by user name."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import SYSTEM_ACTOR, OneStop
from engine.accounts import FREE_ATTEMPTS, WRONG
from engine.errors import InputRejected, PermissionDenied, SignInFailed, SignInThrottled
from tests.conftest import T0

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(onestop: OneStop) -> OneStop:
    onestop.accounts.set_password(SYSTEM_ACTOR, "somchai", PASSWORD)
    return onestop


def test_the_right_password_signs_in_and_returns_the_user_with_grants(accounts: OneStop) -> None:
    user = accounts.accounts.authenticate("somchai", PASSWORD, T0)
    assert user.username == "somchai"
    assert [(g.role, g.unit_code) for g in user.grants] == [("intake_officer", "TH.50.01")]


def test_passwords_are_stored_as_argon2id_hashes(accounts: OneStop) -> None:
    from sqlalchemy import text

    with accounts.db.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE username = 'somchai'")
        ).scalar()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password"),
    [("somchai", "wrong password!"), ("nobody", PASSWORD), ("malee", PASSWORD), ("somchai", "")],
)
def test_every_failure_gives_the_same_message(accounts: OneStop, username: str, password: str) -> None:
    with pytest.raises(SignInFailed) as raised:
        accounts.accounts.authenticate(username, password, T0)
    assert type(raised.value) is SignInFailed
    assert raised.value.message == WRONG


def test_repeated_failures_are_throttled_then_the_pause_doubles(accounts: OneStop) -> None:
    now = T0
    for _ in range(FREE_ATTEMPTS - 1):
        with pytest.raises(SignInFailed):
            accounts.accounts.authenticate("somchai", "guess guess", now)
    with pytest.raises(SignInFailed):
        accounts.accounts.authenticate("somchai", "guess guess", now)  # the 5th sets a 30 s pause
    with pytest.raises(SignInThrottled) as raised:
        accounts.accounts.authenticate("somchai", PASSWORD, now + timedelta(seconds=10))
    assert raised.value.details["retry_after"] == 20
    # After the pause one more failure doubles it; the right password still works later.
    now += timedelta(seconds=31)
    with pytest.raises(SignInFailed):
        accounts.accounts.authenticate("somchai", "guess again", now)
    with pytest.raises(SignInThrottled) as raised:
        accounts.accounts.authenticate("somchai", PASSWORD, now + timedelta(seconds=30))
    assert raised.value.details["retry_after"] == 30
    assert (
        accounts.accounts.authenticate("somchai", PASSWORD, now + timedelta(seconds=61)).username == "somchai"
    )
    # A success clears the count: four more failures are free again.
    for _ in range(FREE_ATTEMPTS - 1):
        with pytest.raises(SignInFailed) as failed:
            accounts.accounts.authenticate("somchai", "guess guess", now + timedelta(seconds=62))
        assert type(failed.value) is SignInFailed


def test_unknown_names_are_throttled_like_real_ones(accounts: OneStop) -> None:
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(SignInFailed):
            accounts.accounts.authenticate("Nobody ", "x" * 12, T0)
    with pytest.raises(SignInThrottled):
        accounts.accounts.authenticate("nobody", "x" * 12, T0 + timedelta(seconds=1))


def test_only_the_user_or_an_admin_may_set_a_password(accounts: OneStop) -> None:
    with pytest.raises(PermissionDenied):
        accounts.accounts.set_password("malee", "somchai", "a new password")
    accounts.accounts.set_password("admin", "somchai", "set by the admin")
    accounts.accounts.set_password("somchai", "somchai", "set by myself!")
    assert accounts.accounts.authenticate("somchai", "set by myself!", T0).username == "somchai"


def test_short_passwords_are_refused(accounts: OneStop) -> None:
    with pytest.raises(InputRejected, match="at least 10"):
        accounts.accounts.set_password("somchai", "somchai", "short")
