"""Sign-in through an OpenID Connect provider, through AppTest: ``AppTest.user`` stands in for
the claims Streamlit keeps after ``st.login`` and ``AppTest.secrets`` for ``secrets.toml``.

No identity provider runs here: ``st.login`` and ``st.logout`` are replaced by recorders,
so these tests cover what OneStop does before the redirect and after the provider's answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from engine import OneStop
from engine.views import UserView
from runtime.identity_provider import FEDERATED_KEY, is_auth_configured
from tests.runtime.conftest import seed

APP = str(Path(__file__).resolve().parents[2] / "runtime" / "app.py")
ISSUER = "https://sso.example.go.th/realms/onestop"
MAPPING: dict[str, Any] = {
    "provider": "keycloak",
    "provider_label": "Keycloak",
    "issuer": ISSUER,
    "rules": [{"claim": "groups", "pattern": r"^/onestop/(?P<unit>[^/]+)/(?P<role>[^/]+)$"}],
}
SECRETS: dict[str, Any] = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a long random secret for the tests",
        "keycloak": {
            "client_id": "onestop",
            "client_secret": "s3cret",
            "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
        },
    }
}


def claims(groups: list[str]) -> dict[str, Any]:
    return {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": "0b6f7a40-1111-4000-8000-000000000002",
        "iat": int(datetime.now(UTC).timestamp()),
        "preferred_username": "ploy",
        "name": "Ploy Srisuk",
        "locale": "en",
        "groups": groups,
        "tokens": {},
    }


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    recorded: list[tuple[str, str | None]] = []
    monkeypatch.setattr(streamlit, "login", lambda provider=None: recorded.append(("login", provider)))
    monkeypatch.setattr(streamlit, "logout", lambda: recorded.append(("logout", None)))
    return recorded


@pytest.fixture
def federated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OneStop]:
    mapping = tmp_path / "oidc.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    yield from seed(tmp_path, monkeypatch, ONESTOP_OIDC_MAPPING=str(mapping))


@pytest.fixture
def local_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OneStop]:
    yield from seed(tmp_path, monkeypatch)


def app_with(secrets: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.secrets = dict(secrets or {})
    app.user = dict(user or {})
    app.session_state["auth.locale"] = "en"
    return app


def labels(app: AppTest) -> list[str]:
    return [button.label for button in app.button]


def test_without_a_mapping_only_local_sign_in_is_offered(local_only: OneStop) -> None:
    app = app_with(SECRETS).run()

    assert not app.exception
    assert labels(app) == ["Sign in"]
    assert app.text_input(key="sign_in.username") is not None


def test_without_auth_secrets_the_provider_is_not_offered(federated: OneStop) -> None:
    app = app_with({}).run()

    assert not app.exception
    assert labels(app) == ["Sign in"]


def test_with_mapping_and_secrets_the_button_starts_the_provider_login(
    federated: OneStop, calls: list[tuple[str, str | None]]
) -> None:
    app = app_with(SECRETS).run()
    assert labels(app) == ["Sign in with Keycloak", "Sign in"]

    app.button(key="sign_in.provider").click().run()

    assert not app.exception
    assert calls == [("login", "keycloak")]


def test_the_claims_of_the_provider_sign_the_session_in_with_the_mapped_grants(federated: OneStop) -> None:
    app = app_with(SECRETS, claims(["/onestop/TH.50.01/intake_officer"])).run()

    assert not app.exception
    user = app.session_state["auth.user"]
    assert isinstance(user, UserView)
    assert user.username == "ploy"
    assert [(g.role, g.unit_code) for g in user.grants] == [("intake_officer", "TH.50.01")]
    assert app.session_state[FEDERATED_KEY] is True
    assert app.title[0].value == "My work"


def test_a_refused_person_sees_why_and_can_sign_out_of_the_provider(
    federated: OneStop, calls: list[tuple[str, str | None]]
) -> None:
    app = app_with(SECRETS, claims(["/onestop/TH.99/approver"])).run()

    assert not app.exception
    assert "auth.user" not in app.session_state
    assert [e.value for e in app.error] == [
        "OneStop has no role for 'ploy': none of the groups or roles the identity provider sent maps "
        "to a role in an org unit; ask your administrator"
    ]
    app.button(key="sign_in.logout").click().run()
    assert calls == [("logout", None)]


def test_signing_out_of_a_federated_session_also_signs_out_of_the_provider(
    federated: OneStop, calls: list[tuple[str, str | None]]
) -> None:
    app = app_with(SECRETS, claims(["/onestop/TH.50.01/intake_officer"])).run()

    app.button(key="auth.sign_out").click().run()

    assert not app.exception
    assert calls == [("logout", None)]
    assert "auth.user" not in app.session_state


def test_local_sign_in_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = tmp_path / "oidc.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    for _ in seed(tmp_path, monkeypatch, ONESTOP_OIDC_MAPPING=str(mapping), ONESTOP_LOCAL_SIGN_IN="false"):
        app = app_with(SECRETS).run()
        assert not app.exception
        assert labels(app) == ["Sign in with Keycloak"]
        assert not app.text_input

        nothing = app_with({}).run()
        assert [e.value for e in nothing.error] == [
            "No way to sign in is configured. Ask your administrator."
        ]


class FakeSecrets(dict[str, Any]):
    def load_if_toml_exists(self) -> bool:
        return bool(self)


@pytest.mark.parametrize(
    ("secrets", "provider", "configured"),
    [
        (SECRETS, "keycloak", True),
        (SECRETS, "google", False),
        (SECRETS, None, False),
        ({"auth": {**SECRETS["auth"], **SECRETS["auth"]["keycloak"]}}, None, True),
        ({"auth": {"cookie_secret": "x", "keycloak": SECRETS["auth"]["keycloak"]}}, "keycloak", False),
        ({}, "keycloak", False),
    ],
)
def test_auth_counts_as_configured_only_with_every_setting_login_needs(
    secrets: dict[str, Any], provider: str | None, configured: bool
) -> None:
    assert is_auth_configured(FakeSecrets(secrets), provider) is configured
