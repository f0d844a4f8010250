"""Sign-in through an OpenID Connect provider: claims mapped to a user and exactly their grants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, text

from engine import SYSTEM_ACTOR, OneStop, Settings
from engine.claim_mapping import ClaimMapping, load_claim_mapping
from engine.errors import ConfigurationError, InputRejected, SignInFailed, SignInRefused
from engine.federation import Federation
from engine.persistence.models import FederatedIdentity, User
from tests.conftest import T0, make_onestop

ISSUER = "https://sso.example.go.th/realms/onestop"
GROUPS = r"^/onestop/(?P<unit>[^/]+)/(?P<role>[^/]+)$"
MAPPING: dict[str, Any] = {
    "provider": "keycloak",
    "provider_label": "Keycloak",
    "issuer": ISSUER,
    "rules": [
        {"claim": "groups", "pattern": GROUPS},
        {"claim": "realm_access.roles", "values": {"onestop-auditor": ["auditor@TH.50"]}},
    ],
}


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5f0c1c8e-0000-4000-8000-000000000001",
        "iat": int(T0.timestamp()) - 60,
        "preferred_username": "Ploy",
        "email": "ploy@example.go.th",
        "name": "Ploy Srisuk",
        "locale": "th-TH",
        "groups": ["/onestop/TH.50.01/intake_officer", "/staff/everyone"],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    instance = make_onestop(database_url)
    yield instance
    instance.close()


def federation(onestop: OneStop, **changes: Any) -> Federation:
    return Federation(onestop.db, ClaimMapping.model_validate({**MAPPING, **changes}))


def grants_of(result: Any) -> list[tuple[str, str]]:
    return [(g.role, g.unit_code) for g in result.user.grants]


def test_a_first_sign_in_creates_a_user_with_the_grants_the_groups_name(onestop: OneStop) -> None:
    result = federation(onestop).sign_in_federated(claims(), T0)

    assert result.created
    assert result.user.username == "ploy"
    assert result.user.display_name == "Ploy Srisuk"
    assert result.user.locale == "th"
    assert grants_of(result) == [("intake_officer", "TH.50.01")]
    assert result.warnings == ()


def test_a_federated_user_has_no_password_and_cannot_sign_in_locally(onestop: OneStop) -> None:
    federation(onestop).sign_in_federated(claims(), T0)

    assert not onestop.accounts.has_password("ploy")
    with pytest.raises(SignInFailed):
        onestop.accounts.authenticate("ploy", "", T0)


def test_an_explicit_table_maps_a_nested_claim_to_grants(onestop: OneStop) -> None:
    result = federation(onestop).sign_in_federated(
        claims(groups=None, realm_access={"roles": ["onestop-auditor", "offline_access"]}), T0
    )

    assert grants_of(result) == [("auditor", "TH.50")]


def test_a_second_sign_in_replaces_the_grants_and_updates_the_name(onestop: OneStop) -> None:
    mapped = federation(onestop)
    mapped.sign_in_federated(claims(), T0)

    later = T0 + timedelta(days=3)
    result = mapped.sign_in_federated(
        claims(
            iat=int(later.timestamp()),
            name="Ploy Srisuk-Chai",
            groups=["/onestop/TH.50.02/intake_officer", "/onestop/TH.50/engineer"],
        ),
        later,
    )

    assert not result.created
    assert result.user.display_name == "Ploy Srisuk-Chai"
    assert grants_of(result) == [("engineer", "TH.50"), ("intake_officer", "TH.50.02")]
    with onestop.db.read() as session:
        link = session.scalars(select(FederatedIdentity)).one()
        assert link.last_sign_in_at.replace(tzinfo=None) == later.replace(tzinfo=None)
        assert link.first_sign_in_at.replace(tzinfo=None) == T0.replace(tzinfo=None)


def test_the_account_follows_the_subject_when_the_user_name_changes(onestop: OneStop) -> None:
    mapped = federation(onestop)
    mapped.sign_in_federated(claims(), T0)

    result = mapped.sign_in_federated(claims(preferred_username="ploy.s"), T0)

    assert result.user.username == "ploy"
    assert any("keeps its name" in warning for warning in result.warnings)


def test_the_user_name_falls_back_to_the_email_claim(onestop: OneStop) -> None:
    result = federation(onestop).sign_in_federated(claims(preferred_username=None), T0)

    assert result.user.username == "ploy@example.go.th"


def test_claims_without_any_user_name_claim_are_refused(onestop: OneStop) -> None:
    mapped = federation(onestop, username_claims=["preferred_username", "email"])

    with pytest.raises(SignInRefused, match="preferred_username, email"):
        mapped.sign_in_federated(claims(preferred_username=None, email=None), T0)


def test_a_grant_in_an_unknown_unit_is_skipped_with_a_warning(onestop: OneStop) -> None:
    result = federation(onestop).sign_in_federated(
        claims(groups=["/onestop/TH.50.01/intake_officer", "/onestop/TH.99/approver"]), T0
    )

    assert grants_of(result) == [("intake_officer", "TH.50.01")]
    assert result.warnings == ("no org unit has the code 'TH.99'; its grants were skipped",)


def test_a_person_without_any_grant_is_refused_and_nothing_is_created(onestop: OneStop) -> None:
    with pytest.raises(SignInRefused, match="no role for 'ploy'") as refused:
        federation(onestop).sign_in_federated(claims(groups=["/onestop/TH.99/approver", "/staff"]), T0)

    assert refused.value.details["warnings"] == ["no org unit has the code 'TH.99'; its grants were skipped"]
    with onestop.db.read() as session:
        assert session.scalar(select(User).where(User.username == "ploy")) is None


def test_a_malformed_role_is_skipped_with_a_warning(onestop: OneStop) -> None:
    result = federation(onestop).sign_in_federated(
        claims(groups=["/onestop/TH.50.01/intake_officer", "/onestop/TH.50.01/Bad Role"]), T0
    )

    assert grants_of(result) == [("intake_officer", "TH.50.01")]
    assert len(result.warnings) == 1 and "Bad Role" in result.warnings[0]


def test_groups_never_grant_admin_unless_the_mapping_allows_it(onestop: OneStop) -> None:
    groups = ["/onestop/TH.50/admin", "/onestop/TH.50/auditor"]

    result = federation(onestop).sign_in_federated(claims(groups=groups), T0)
    assert grants_of(result) == [("auditor", "TH.50")]
    assert "allow_admin is false" in result.warnings[0]

    allowed = federation(onestop, allow_admin=True).sign_in_federated(claims(groups=groups), T0)
    assert grants_of(allowed) == [("admin", "TH.50"), ("auditor", "TH.50")]


def test_allowed_roles_limit_what_claims_may_grant(onestop: OneStop) -> None:
    mapped = federation(onestop, allowed_roles=["intake_officer"])

    result = mapped.sign_in_federated(
        claims(groups=["/onestop/TH.50.01/intake_officer", "/onestop/TH.50/auditor"]), T0
    )

    assert grants_of(result) == [("intake_officer", "TH.50.01")]
    assert "allowed_roles" in result.warnings[0]


def test_a_deactivated_user_is_refused(onestop: OneStop) -> None:
    mapped = federation(onestop)
    mapped.sign_in_federated(claims(), T0)
    with onestop.db.write() as session:
        session.execute(text("UPDATE users SET active = :no WHERE username = 'ploy'"), {"no": False})

    with pytest.raises(SignInRefused, match="deactivated"):
        mapped.sign_in_federated(claims(), T0)
    with onestop.db.read() as session:
        assert session.scalar(select(User.active).where(User.username == "ploy")) is False


def test_a_local_account_of_the_same_name_is_not_taken_over(onestop: OneStop) -> None:
    onestop.accounts.set_password(SYSTEM_ACTOR, "somchai", "a local password")

    with pytest.raises(SignInRefused, match="already belongs to another OneStop account"):
        federation(onestop).sign_in_federated(claims(preferred_username="somchai"), T0)
    assert onestop.accounts.authenticate("somchai", "a local password", T0).username == "somchai"


def test_linking_existing_accounts_binds_the_account_and_removes_its_password(onestop: OneStop) -> None:
    onestop.accounts.set_password(SYSTEM_ACTOR, "somchai", "a local password")

    result = federation(onestop, link_existing_accounts=True).sign_in_federated(
        claims(preferred_username="somchai", groups=["/onestop/TH.50.02/intake_officer"]), T0
    )

    assert not result.created
    assert grants_of(result) == [("intake_officer", "TH.50.02")]
    assert not onestop.accounts.has_password("somchai")


def test_an_account_bound_to_another_identity_is_never_linked(onestop: OneStop) -> None:
    mapped = federation(onestop, link_existing_accounts=True)
    mapped.sign_in_federated(claims(), T0)

    with pytest.raises(SignInRefused, match="already belongs"):
        mapped.sign_in_federated(claims(sub="someone-else"), T0)


def test_another_issuer_is_refused(onestop: OneStop) -> None:
    with pytest.raises(SignInRefused, match="accepts only"):
        federation(onestop).sign_in_federated(claims(iss="https://evil.example.com"), T0)


def test_claims_without_a_subject_are_refused(onestop: OneStop) -> None:
    with pytest.raises(SignInRefused, match="'sub'"):
        federation(onestop).sign_in_federated(claims(sub=None), T0)


def test_old_claims_are_refused_so_that_changes_at_the_provider_take_effect(onestop: OneStop) -> None:
    stale = claims(iat=int((T0 - timedelta(hours=9)).timestamp()))

    with pytest.raises(SignInRefused, match="older than 480 minutes"):
        federation(onestop).sign_in_federated(stale, T0)
    assert federation(onestop, max_age_minutes=None).sign_in_federated(stale, T0).created


def test_sign_ins_that_change_the_directory_are_logged(onestop: OneStop) -> None:
    mapped = federation(onestop)
    mapped.sign_in_federated(claims(), T0)
    mapped.sign_in_federated(claims(groups=["/onestop/TH.50.02/intake_officer"]), T0)
    mapped.sign_in_federated(claims(groups=["/onestop/TH.50.02/intake_officer"]), T0)

    with onestop.db.read() as session:
        rows = session.execute(
            text("SELECT actor, action FROM directory_changes WHERE subject = 'ploy' ORDER BY id")
        ).all()
    actor = f"oidc:{ISSUER}"
    assert [tuple(row) for row in rows] == [
        (actor, "create_user"),
        (actor, "link_identity"),
        (actor, "grant_role"),
        (actor, "revoke_role"),
        (actor, "grant_role"),
    ]


# --- the mapping file ------------------------------------------------------------------------------------

TOML = f"""
provider = "keycloak"
provider_label = "Keycloak"
issuer = "{ISSUER}"

[[rules]]
claim = "groups"
pattern = '{GROUPS}'

[[rules]]
claim = "realm_access.roles"
values = {{ "onestop-auditor" = ["auditor@TH.50"] }}
"""


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".json"])
def test_the_mapping_reads_the_same_from_toml_yaml_and_json(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"oidc{suffix}"
    if suffix == ".toml":
        path.write_text(TOML, encoding="utf-8")
    elif suffix == ".yaml":
        path.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    else:
        path.write_text(json.dumps(MAPPING), encoding="utf-8")

    assert load_claim_mapping(path) == ClaimMapping.model_validate(MAPPING)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[[rules]]\nclaim = "groups"\npattern = "(unclosed"\n', "not a regular expression"),
        ('[[rules]]\nclaim = "groups"\npattern = "^/g/(?P<unit>.+)$"\n', "named groups"),
        ('[[rules]]\nclaim = "groups"\n', "needs a pattern, values, or both"),
        ('[[rules]]\nclaim = "r"\nvalues = { "x" = ["intake_officer"] }\n', "role@unit"),
        ('[[rules]]\nclaim = "r"\nvalues = { "boss" = ["admin@TH.50"] }\n', "allow_admin is false"),
        ('provder = "typo"\n[[rules]]\nclaim = "r"\nvalues = {}\n', "provder"),
        ("allow_admin = false\n", "rules"),
        ("rules = [", "is not valid toml"),
    ],
)
def test_a_bad_mapping_file_is_refused_naming_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "oidc.toml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigurationError, match="OIDC mapping") as refused:
        load_claim_mapping(path)
    assert problem in refused.value.message
    assert refused.value.details["file"] == str(path)


def test_a_missing_or_unknown_kind_of_mapping_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_claim_mapping(tmp_path / "absent.toml")
    with pytest.raises(ConfigurationError, match=r"use a \.toml, \.yaml or \.json file"):
        load_claim_mapping(tmp_path / "oidc.ini")


def test_the_setting_turns_oidc_sign_in_on(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "oidc.toml"
    path.write_text(TOML, encoding="utf-8")

    off = OneStop(Settings(database_url=sqlite_url))
    on = OneStop(Settings(database_url=sqlite_url, oidc_mapping=path))
    try:
        assert off.federation is None
        assert on.federation is not None
        assert on.federation.mapping.provider == "keycloak"
    finally:
        off.close()
        on.close()


def test_an_admin_cannot_give_a_federated_user_a_password_or_change_their_grants(onestop: OneStop) -> None:
    federation(onestop).sign_in_federated(claims(), T0)
    admin = onestop.administration
    with pytest.raises(InputRejected, match=r"signs in through .*change it at the identity provider"):
        admin.set_password("admin", T0, "ploy", "a long enough password")
    with pytest.raises(InputRejected, match="sets their grants"):
        admin.grant_role("admin", T0, "ploy", "approver", "TH.50.01")
    with pytest.raises(InputRejected, match="sets their grants"):
        admin.revoke_role("admin", T0, "ploy", "intake_officer", "TH.50.01")
    assert not onestop.accounts.has_password("ploy")
