"""Sign-in through an OpenID Connect provider with Streamlit's ``st.login`` and ``st.user``.

Streamlit runs the provider's login flow, checks the identity token and keeps its claims
in a signed cookie; ``st.user`` shows them. The engine decides who that is in OneStop
(:meth:`engine.federation.Federation.sign_in_federated`); this module only connects the two.

The provider is offered when the engine has an OIDC mapping (``ONESTOP_OIDC_MAPPING``)
*and* ``.streamlit/secrets.toml`` has the ``[auth]`` settings for the mapping's provider.
Session-state keys are prefixed ``auth.``, so signing out clears them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import streamlit as st

from engine import OneStop
from engine.claim_mapping import ClaimMapping
from engine.errors import OneStopError
from engine.views import UserView
from runtime.sessions import sign_in

FEDERATED_KEY = "auth.federated"
REFUSAL_KEY = "auth.federated_refusal"
SHARED_AUTH_SETTINGS = ("redirect_uri", "cookie_secret")
PROVIDER_SETTINGS = ("client_id", "client_secret", "server_metadata_url")
NOT_CLAIMS = frozenset({"is_logged_in", "tokens"})

_log = logging.getLogger(__name__)


def offered_provider(onestop: OneStop) -> ClaimMapping | None:
    """The mapping of the provider to offer on the sign-in page, or None when OIDC is off."""
    federation = onestop.federation
    if federation is None or not is_auth_configured(st.secrets, federation.mapping.provider):
        return None
    return federation.mapping


def is_auth_configured(secrets: Any, provider: str | None) -> bool:
    """Whether ``secrets`` holds what ``st.login(provider)`` needs: ``redirect_uri`` and
    ``cookie_secret`` in ``[auth]``, and the client settings in ``[auth.<provider>]`` (or in
    ``[auth]`` itself when there is no provider name)."""
    if not secrets.load_if_toml_exists():
        return False
    auth = secrets.get("auth")
    if not isinstance(auth, Mapping) or not all(auth.get(key) for key in SHARED_AUTH_SETTINGS):
        return False
    client = auth.get(provider) if provider else auth
    return isinstance(client, Mapping) and all(client.get(key) for key in PROVIDER_SETTINGS)


def identity_claims() -> dict[str, Any] | None:
    """The claims of the person signed in at the provider in this browser, or None."""
    if not st.user.get("is_logged_in"):
        return None
    return {key: value for key, value in st.user.to_dict().items() if key not in NOT_CLAIMS}


def sign_in_with_claims(onestop: OneStop, claims: Mapping[str, Any], now: datetime) -> UserView | None:
    """Sign the session in as the user ``claims`` map to.

    On refusal the engine's message is kept for the sign-in page (see :func:`refusal`) and
    None is returned; the same claims are not tried again in this session.
    """
    federation = onestop.federation
    if federation is None:
        return None
    try:
        result = federation.sign_in_federated(claims, now)
    except OneStopError as exc:
        _log.warning("OIDC sign-in refused: %s (%s)", exc.message, "; ".join(exc.details.get("warnings", ())))
        st.session_state[REFUSAL_KEY] = exc.message
        return None
    for warning in result.warnings:
        _log.warning("OIDC sign-in of %s: %s", result.user.username, warning)
    sign_in(result.user)
    st.session_state[FEDERATED_KEY] = True
    return result.user


def sign_in_from_provider(onestop: OneStop, now: datetime) -> UserView | None:
    """For the router: sign in the person the provider vouches for, once per session."""
    if onestop.federation is None or REFUSAL_KEY in st.session_state:
        return None
    claims = identity_claims()
    return sign_in_with_claims(onestop, claims, now) if claims is not None else None


def refusal() -> str | None:
    """Why the provider's person could not be signed in, in this session."""
    message = st.session_state.get(REFUSAL_KEY)
    return message if isinstance(message, str) else None


def is_signed_in_at_provider() -> bool:
    """Whether this browser holds the provider's identity cookie (to end with ``st.logout``)."""
    return bool(st.session_state.get(FEDERATED_KEY)) or bool(st.user.get("is_logged_in"))
