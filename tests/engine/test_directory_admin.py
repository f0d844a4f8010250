"""Admin commands on users, role grants and org units: who may, what is valid, what is logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from engine import SYSTEM_ACTOR, OneStop
from engine.authorization import load_principal
from engine.errors import (
    InputRejected,
    OneStopError,
    OrgUnitNotFound,
    PermissionDenied,
    SignInFailed,
    UserNotFound,
)
from engine.persistence.prepared import Tx
from tests.conftest import T0, make_onestop

PASSWORD = "a long enough password"
LATER = T0 + timedelta(minutes=5)


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units and users: 'admin' is the only admin, 'lan' an auditor, 'somchai' a clerk."""
    instance = make_onestop(database_url)
    yield instance
    instance.close()


def directory_state(onestop: OneStop) -> tuple[Any, ...]:
    admin = onestop.administration
    return (admin.users(SYSTEM_ACTOR), admin.units(SYSTEM_ACTOR), admin.directory_changes(SYSTEM_ACTOR))


def refused_without_change(onestop: OneStop, error: type[OneStopError], call: Callable[[], object]) -> str:
    """Run ``call``, expect ``error``, check that the directory and its log did not change."""
    before = directory_state(onestop)
    with pytest.raises(error) as raised:
        call()
    assert directory_state(onestop) == before
    return raised.value.message


def grants_of(onestop: OneStop, username: str) -> set[tuple[str, str]]:
    user = next(u for u in onestop.administration.users(SYSTEM_ACTOR) if u.username == username)
    return {(g.role, g.unit_code) for g in user.grants}


def holds_role(onestop: OneStop, username: str, role: str, unit_path: str) -> bool:
    with onestop.db.engine.connect() as connection:
        return load_principal(Tx.of(connection), username).holds(role, unit_path)


# --- users -----------------------------------------------------------------------------------------


def test_an_admin_creates_a_user_who_can_sign_in(onestop: OneStop) -> None:
    created = onestop.administration.create_user(
        "admin", T0, "pim.s", "Pim S.", locale="th", password=PASSWORD
    )

    assert (created.username, created.display_name, created.locale, created.active) == (
        "pim.s",
        "Pim S.",
        "th",
        True,
    )
    assert created.grants == ()
    assert onestop.accounts.authenticate("pim.s", PASSWORD, T0).username == "pim.s"
    change = onestop.administration.directory_changes("admin", limit=1)[0]
    assert (change.at, change.actor, change.action, change.subject) == (T0, "admin", "create_user", "pim.s")
    assert change.before is None
    assert change.after == {"display_name": "Pim S.", "locale": "th", "active": True, "password_set": True}


def test_a_user_created_without_a_password_cannot_sign_in_yet(onestop: OneStop) -> None:
    onestop.administration.create_user("admin", T0, "no-pass", "No Password")

    assert not onestop.accounts.has_password("no-pass")
    with pytest.raises(SignInFailed):
        onestop.accounts.authenticate("no-pass", PASSWORD, T0)


@pytest.mark.parametrize("actor", ["somchai", "lan", "nobody"])
def test_only_an_admin_may_create_a_user(onestop: OneStop, actor: str) -> None:
    message = refused_without_change(
        onestop,
        PermissionDenied,
        lambda: onestop.administration.create_user(actor, T0, "pim.s", "Pim", password=PASSWORD),
    )
    assert actor in message


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"username": "ab"}, "'ab'"),
        ({"username": "Pim"}, "'Pim'"),
        ({"username": "pim s"}, "'pim s'"),
        ({"username": "pim/s"}, "'pim/s'"),
        ({"username": "x" * 101}, "x" * 101),
        ({"username": "system"}, "'system'"),
        ({"username": "somchai"}, "'somchai' is taken"),
        ({"display_name": "   "}, "display_name"),
        ({"locale": "fr"}, "'fr'"),
        ({"password": "short"}, "at least 10"),
    ],
)
def test_a_bad_new_user_is_refused_naming_the_field(
    onestop: OneStop, fields: dict[str, str], named: str
) -> None:
    values = {"username": "pim.s", "display_name": "Pim", "locale": "en", "password": PASSWORD, **fields}

    message = refused_without_change(
        onestop,
        InputRejected,
        lambda: onestop.administration.create_user(
            "admin",
            T0,
            values["username"],
            values["display_name"],
            locale=values["locale"],
            password=values["password"],
        ),
    )
    assert named in message


def test_an_admin_changes_a_users_name_and_language(onestop: OneStop) -> None:
    updated = onestop.administration.update_user(
        "admin", LATER, "somchai", display_name="  Somchai J.  ", locale="vi"
    )

    assert (updated.display_name, updated.locale) == ("Somchai J.", "vi")
    change = onestop.administration.directory_changes("admin", limit=1)[0]
    assert (change.action, change.subject, change.at) == ("update_user", "somchai", LATER)
    assert change.before == {"display_name": "Somchai (intake, Chiang Mai City)", "locale": "en"}
    assert change.after == {"display_name": "Somchai J.", "locale": "vi"}


def test_an_update_that_changes_nothing_records_nothing(onestop: OneStop) -> None:
    before = onestop.administration.directory_changes("admin")

    onestop.administration.update_user("admin", T0, "somchai", locale="en")

    assert onestop.administration.directory_changes("admin") == before


def test_a_bad_user_update_is_refused(onestop: OneStop) -> None:
    admin = onestop.administration
    assert "'th-TH'" in refused_without_change(
        onestop, InputRejected, lambda: admin.update_user("admin", T0, "somchai", locale="th-TH")
    )
    assert "display_name" in refused_without_change(
        onestop, InputRejected, lambda: admin.update_user("admin", T0, "somchai", display_name="")
    )
    assert "'ghost'" in refused_without_change(
        onestop, UserNotFound, lambda: admin.update_user("admin", T0, "ghost", display_name="Ghost")
    )
    refused_without_change(
        onestop, PermissionDenied, lambda: admin.update_user("somchai", T0, "somchai", display_name="Me")
    )


def test_an_admin_sets_a_password_and_the_log_holds_no_secret(onestop: OneStop) -> None:
    onestop.administration.set_password("admin", T0, "malee", PASSWORD)

    assert onestop.accounts.authenticate("malee", PASSWORD, T0).username == "malee"
    change = onestop.administration.directory_changes("admin", limit=1)[0]
    assert (change.action, change.subject) == ("set_password", "malee")
    assert (change.before, change.after) == ({"password_set": False}, {"password_set": True})
    with onestop.db.engine.connect() as connection:
        logged = " ".join(
            map(str, connection.execute(text("SELECT details FROM directory_changes")).scalars())
        )
    assert "argon2" not in logged and PASSWORD not in logged


def test_only_an_admin_sets_someone_elses_password(onestop: OneStop) -> None:
    admin = onestop.administration
    refused_without_change(
        onestop, PermissionDenied, lambda: admin.set_password("lan", T0, "malee", PASSWORD)
    )
    refused_without_change(onestop, InputRejected, lambda: admin.set_password("admin", T0, "malee", "short"))
    refused_without_change(onestop, UserNotFound, lambda: admin.set_password("admin", T0, "ghost", PASSWORD))


def test_a_deactivated_user_can_neither_sign_in_nor_act_until_reactivated(onestop: OneStop) -> None:
    admin = onestop.administration
    onestop.accounts.set_password(SYSTEM_ACTOR, "somchai", PASSWORD)

    assert not admin.deactivate_user("admin", T0, "somchai").active
    with pytest.raises(SignInFailed):
        onestop.accounts.authenticate("somchai", PASSWORD, T0)
    with pytest.raises(UserNotFound):
        holds_role(onestop, "somchai", "intake_officer", "TH.50/TH.50.01")

    reactivated = admin.reactivate_user("admin", LATER, "somchai")
    assert reactivated.active
    assert [(g.role, g.unit_code) for g in reactivated.grants] == [("intake_officer", "TH.50.01")]
    assert onestop.accounts.authenticate("somchai", PASSWORD, LATER).username == "somchai"
    actions = [(c.action, c.before, c.after) for c in admin.directory_changes("admin", limit=2)]
    assert actions == [
        ("reactivate_user", {"active": False}, {"active": True}),
        ("deactivate_user", {"active": True}, {"active": False}),
    ]


def test_deactivating_or_reactivating_twice_is_refused(onestop: OneStop) -> None:
    admin = onestop.administration
    assert "already active" in refused_without_change(
        onestop, InputRejected, lambda: admin.reactivate_user("admin", T0, "somchai")
    )
    admin.deactivate_user("admin", T0, "somchai")
    assert "already inactive" in refused_without_change(
        onestop, InputRejected, lambda: admin.deactivate_user("admin", T0, "somchai")
    )


def test_only_an_admin_deactivates_or_reactivates(onestop: OneStop) -> None:
    admin = onestop.administration
    refused_without_change(onestop, PermissionDenied, lambda: admin.deactivate_user("lan", T0, "somchai"))
    admin.deactivate_user("admin", T0, "malee")
    refused_without_change(onestop, PermissionDenied, lambda: admin.reactivate_user("somchai", T0, "malee"))
    refused_without_change(onestop, UserNotFound, lambda: admin.deactivate_user("admin", T0, "ghost"))


def test_an_admin_cannot_deactivate_themselves(onestop: OneStop) -> None:
    onestop.administration.grant_role("admin", T0, "kanya", "admin", "TH.50")

    message = refused_without_change(
        onestop, InputRejected, lambda: onestop.administration.deactivate_user("admin", T0, "admin")
    )
    assert "your own account 'admin'" in message


def test_the_last_active_admin_can_be_neither_deactivated_nor_stripped_of_admin(onestop: OneStop) -> None:
    admin = onestop.administration
    admin.revoke_role("admin", T0, "admin", "admin", "VN.01")  # one of two grants: allowed
    assert "last active admin" in refused_without_change(
        onestop, InputRejected, lambda: admin.deactivate_user(SYSTEM_ACTOR, T0, "admin")
    )
    assert "last admin grant" in refused_without_change(
        onestop, InputRejected, lambda: admin.revoke_role("admin", T0, "admin", "admin", "TH.50")
    )
    # An admin grant held by an inactive user does not count.
    admin.grant_role("admin", T0, "kanya", "admin", "TH.50")
    admin.deactivate_user("admin", T0, "kanya")
    refused_without_change(
        onestop, InputRejected, lambda: admin.revoke_role("admin", T0, "admin", "admin", "TH.50")
    )
    # With a second active admin, either of them may go.
    admin.reactivate_user("admin", T0, "kanya")
    admin.revoke_role("admin", T0, "admin", "admin", "TH.50")
    assert grants_of(onestop, "admin") == set()
    with pytest.raises(PermissionDenied):
        admin.create_user("admin", T0, "pim.s", "Pim")
    assert "last" in refused_without_change(
        onestop, InputRejected, lambda: admin.revoke_role("kanya", T0, "kanya", "admin", "TH.50")
    )


def test_two_admins_removing_each_other_at_once_leave_one_admin(onestop: OneStop) -> None:
    if onestop.db.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; the row lock matters on PostgreSQL")
    admin = onestop.administration
    admin.grant_role("admin", T0, "kanya", "admin", "TH.50")
    outcome: list[OneStopError] = []

    def kanya_deactivates_admin() -> None:
        try:
            admin.deactivate_user("kanya", T0, "admin")
        except OneStopError as exc:
            outcome.append(exc)

    with onestop.db.engine.connect() as first:
        transaction = first.begin()
        # 'admin' deactivates 'kanya' the way the command does: lock the admin grants, then change.
        first.execute(
            text(
                "SELECT g.id FROM role_grants g JOIN users u ON u.id = g.user_id "
                "WHERE g.role = 'admin' AND u.active FOR UPDATE"
            )
        )
        first.execute(text("UPDATE users SET active = false WHERE username = 'kanya'"))
        second = threading.Thread(target=kanya_deactivates_admin)
        second.start()
        deadline = time.monotonic() + 30
        while not _waits_for_a_row_lock(onestop) and second.is_alive():
            assert time.monotonic() < deadline, "the second command never reached the admin lock"
            time.sleep(0.01)
        transaction.commit()
        second.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], InputRejected), outcome
    assert "last active admin" in outcome[0].message
    assert {u.username: u.active for u in admin.users(SYSTEM_ACTOR)}.get("admin") is True


def _waits_for_a_row_lock(onestop: OneStop) -> bool:
    # A fresh connection each time: PostgreSQL keeps one activity snapshot per transaction.
    with onestop.db.engine.connect() as probe:
        waiting = probe.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%role_grants%FOR UPDATE%' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def test_a_deactivated_admin_may_no_longer_administer(onestop: OneStop) -> None:
    admin = onestop.administration
    admin.grant_role("admin", T0, "kanya", "admin", "TH.50")
    admin.deactivate_user("admin", T0, "kanya")

    refused_without_change(onestop, PermissionDenied, lambda: admin.create_user("kanya", T0, "pim.s", "Pim"))


# --- grants ----------------------------------------------------------------------------------------


def test_a_grant_on_a_province_covers_its_communes(onestop: OneStop) -> None:
    admin = onestop.administration
    admin.create_user("admin", T0, "pim.s", "Pim")

    view = admin.grant_role("admin", T0, "pim.s", "building_inspector", "TH.50")

    assert [(g.role, g.unit_code) for g in view.grants] == [("building_inspector", "TH.50")]
    assert holds_role(onestop, "pim.s", "building_inspector", "TH.50/TH.50.02")
    change = admin.directory_changes("admin", limit=1)[0]
    assert (change.action, change.subject, change.before, change.after) == (
        "grant_role",
        "pim.s",
        None,
        {"role": "building_inspector", "unit": "TH.50"},
    )


def test_a_revoked_grant_no_longer_counts(onestop: OneStop) -> None:
    admin = onestop.administration

    view = admin.revoke_role("admin", LATER, "somchai", "intake_officer", "TH.50.01")

    assert view.grants == ()
    assert not holds_role(onestop, "somchai", "intake_officer", "TH.50/TH.50.01")
    change = admin.directory_changes("admin", limit=1)[0]
    assert (change.action, change.at, change.before, change.after) == (
        "revoke_role",
        LATER,
        {"role": "intake_officer", "unit": "TH.50.01"},
        None,
    )


@pytest.mark.parametrize("role", ["Approver", "a", "1st_officer", "intake-officer", "x" * 65, ""])
def test_a_malformed_role_is_refused(onestop: OneStop, role: str) -> None:
    message = refused_without_change(
        onestop,
        InputRejected,
        lambda: onestop.administration.grant_role("admin", T0, "somchai", role, "TH.50"),
    )
    assert f"role '{role}'" in message


def test_bad_grants_and_revocations_are_refused(onestop: OneStop) -> None:
    admin = onestop.administration
    assert "already holds" in refused_without_change(
        onestop, InputRejected, lambda: admin.grant_role("admin", T0, "somchai", "intake_officer", "TH.50.01")
    )
    assert "'TH.99'" in refused_without_change(
        onestop, OrgUnitNotFound, lambda: admin.grant_role("admin", T0, "somchai", "approver", "TH.99")
    )
    assert "'ghost'" in refused_without_change(
        onestop, UserNotFound, lambda: admin.grant_role("admin", T0, "ghost", "approver", "TH.50")
    )
    assert "nothing to revoke" in refused_without_change(
        onestop, InputRejected, lambda: admin.revoke_role("admin", T0, "somchai", "approver", "TH.50.01")
    )


@pytest.mark.parametrize("actor", ["somchai", "lan"])
def test_only_an_admin_grants_or_revokes(onestop: OneStop, actor: str) -> None:
    admin = onestop.administration
    refused_without_change(
        onestop, PermissionDenied, lambda: admin.grant_role(actor, T0, actor, "admin", "TH.50")
    )
    refused_without_change(
        onestop,
        PermissionDenied,
        lambda: admin.revoke_role(actor, T0, "somchai", "intake_officer", "TH.50.01"),
    )


# --- org units -------------------------------------------------------------------------------------


def test_an_admin_creates_a_province_and_a_commune_under_it(onestop: OneStop) -> None:
    admin = onestop.administration
    names = {"th": "จังหวัดลำพูน", "vi": "Tỉnh Lamphun", "en": " Lamphun Province "}

    province = admin.create_unit("admin", T0, "TH.51", "Lamphun Province", "province", names=names)
    commune = admin.create_unit(
        "admin", T0, "TH.51.01", "Lamphun Town", "commune", parent_code="TH.51", timezone="Asia/Bangkok"
    )

    assert (province.parent_code, province.names["en"]) == (None, "Lamphun Province")
    assert (commune.parent_code, commune.level, commune.timezone) == ("TH.51", "commune", "Asia/Bangkok")
    assert [u.code for u in admin.units("lan") if u.code.startswith("TH.51")] == ["TH.51", "TH.51.01"]
    admin.grant_role("admin", T0, "kanya", "engineer", "TH.51")
    assert holds_role(onestop, "kanya", "engineer", "TH.51/TH.51.01")
    change = admin.directory_changes("admin", limit=3)[2]
    assert (change.action, change.subject, change.before) == ("create_unit", "TH.51", None)
    assert change.after is not None and change.after["names"]["en"] == "Lamphun Province"


@pytest.mark.parametrize(
    ("fields", "error", "named"),
    [
        ({"code": "TH/51"}, InputRejected, "'TH/51'"),
        ({"code": "TH 51"}, InputRejected, "'TH 51'"),
        ({"code": ""}, InputRejected, "''"),
        ({"code": "TH.50.01"}, InputRejected, "'TH.50.01' is taken"),
        ({"name": " "}, InputRejected, "name"),
        ({"level": "district"}, InputRejected, "'district'"),
        ({"parent_code": None}, InputRejected, "parent province"),
        ({"parent_code": "TH.50.02"}, InputRejected, "'TH.50.02' is a commune"),
        ({"parent_code": "TH.99"}, OrgUnitNotFound, "'TH.99'"),
        ({"level": "province"}, InputRejected, "cannot have the parent 'TH.50'"),
        ({"timezone": "Mars/Olympus"}, InputRejected, "'Mars/Olympus'"),
        ({"timezone": "../etc/passwd"}, InputRejected, "'../etc/passwd'"),
        ({"country": "tha"}, InputRejected, "'tha'"),
        ({"names": {"fr": "Lamphun"}}, InputRejected, "'fr'"),
    ],
)
def test_a_bad_new_unit_is_refused_naming_the_field(
    onestop: OneStop, fields: dict[str, Any], error: type[OneStopError], named: str
) -> None:
    values: dict[str, Any] = {
        "code": "TH.50.03",
        "name": "Mae Rim",
        "level": "commune",
        "parent_code": "TH.50",
        "timezone": "Asia/Bangkok",
        "country": "TH",
        "names": {},
        **fields,
    }
    code, name, level = values.pop("code"), values.pop("name"), values.pop("level")

    message = refused_without_change(
        onestop, error, lambda: onestop.administration.create_unit("admin", T0, code, name, level, **values)
    )
    assert named in message


def test_an_admin_renames_a_unit_and_changes_its_zone_and_names(onestop: OneStop) -> None:
    admin = onestop.administration

    unit = admin.update_unit(
        "admin",
        LATER,
        "TH.50.02",
        name="San Sai Town",
        timezone="Asia/Ho_Chi_Minh",
        names={"th": "เทศบาลสันทราย", "vi": "", "en": "San Sai Town"},
    )

    assert (unit.name, unit.timezone, unit.parent_code) == ("San Sai Town", "Asia/Ho_Chi_Minh", "TH.50")
    assert unit.names == {"th": "เทศบาลสันทราย", "en": "San Sai Town"}
    assert next(u for u in onestop.directory.units() if u.code == "TH.50.02").timezone == "Asia/Ho_Chi_Minh"
    change = admin.directory_changes("admin", limit=1)[0]
    assert (change.action, change.subject, change.at) == ("update_unit", "TH.50.02", LATER)
    assert change.before == {"name": "San Sai Municipality", "timezone": "Asia/Bangkok", "names": {}}
    assert change.after == {
        "name": "San Sai Town",
        "timezone": "Asia/Ho_Chi_Minh",
        "names": {"th": "เทศบาลสันทราย", "en": "San Sai Town"},
    }


def test_a_bad_unit_update_is_refused(onestop: OneStop) -> None:
    admin = onestop.administration
    assert "'Asia/Nowhere'" in refused_without_change(
        onestop, InputRejected, lambda: admin.update_unit("admin", T0, "TH.50", timezone="Asia/Nowhere")
    )
    assert "name" in refused_without_change(
        onestop, InputRejected, lambda: admin.update_unit("admin", T0, "TH.50", name="")
    )
    assert "'TH.99'" in refused_without_change(
        onestop, OrgUnitNotFound, lambda: admin.update_unit("admin", T0, "TH.99", name="Nowhere")
    )
    refused_without_change(
        onestop, PermissionDenied, lambda: admin.update_unit("lan", T0, "TH.50", name="Lan's province")
    )
    refused_without_change(
        onestop,
        PermissionDenied,
        lambda: admin.create_unit("somchai", T0, "TH.50.03", "Mae Rim", "commune", parent_code="TH.50"),
    )


# --- reads and the log -----------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["admin", "lan"])
def test_admins_and_auditors_read_the_directory(onestop: OneStop, reader: str) -> None:
    onestop.administration.create_user("admin", T0, "pim.s", "Pim")

    users = onestop.administration.users(reader)

    assert "pim.s" in [u.username for u in users]
    assert [u.code for u in onestop.administration.units(reader)] == [
        "TH.50",
        "TH.50.01",
        "TH.50.02",
        "VN.01",
        "VN.01.001",
        "VN.01.002",
    ]
    assert [c.subject for c in onestop.administration.directory_changes(reader)] == ["pim.s"]


@pytest.mark.parametrize("reader", ["somchai", "nobody"])
def test_staff_may_not_read_the_directory(onestop: OneStop, reader: str) -> None:
    admin = onestop.administration
    for read in (admin.users, admin.units, admin.directory_changes):
        with pytest.raises(PermissionDenied):
            read(reader)


def test_the_change_log_is_newest_first_and_bounded(onestop: OneStop) -> None:
    admin = onestop.administration
    for n in range(3):
        admin.create_user("admin", T0 + timedelta(seconds=n), f"user{n}", f"User {n}")

    assert [c.subject for c in admin.directory_changes("admin", limit=2)] == ["user2", "user1"]
    for limit in (0, 1001):
        with pytest.raises(InputRejected, match=f"limit {limit}"):
            admin.directory_changes("admin", limit=limit)


def test_the_change_log_cannot_be_rewritten(onestop: OneStop) -> None:
    onestop.administration.create_user("admin", T0, "pim.s", "Pim")

    for statement in ("UPDATE directory_changes SET actor = 'someone'", "DELETE FROM directory_changes"):
        with pytest.raises(sqlalchemy.exc.DatabaseError), onestop.db.engine.begin() as connection:
            connection.execute(text(statement))
    assert [c.actor for c in onestop.administration.directory_changes("admin")] == ["admin"]
