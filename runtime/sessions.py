"""Who is signed in, and in which language, for one browser session.

Keys in ``st.session_state`` are prefixed ``auth.``; pages read them through these
functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import streamlit as st

from engine.views import UserView
from runtime.i18n import DEFAULT_LOCALE, LOCALES, translator

USER_KEY = "auth.user"
LOCALE_KEY = "auth.locale"


def signed_in_user() -> UserView | None:
    """The signed-in user, or None."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, UserView) else None


def require_user() -> UserView:
    """The signed-in user; stops the page when nobody is (the router prevents that)."""
    user = signed_in_user()
    if user is None:
        st.stop()
    assert user is not None
    return user


def sign_in(user: UserView) -> None:
    st.session_state[USER_KEY] = user
    if LOCALE_KEY not in st.session_state:
        st.session_state[LOCALE_KEY] = user.locale if user.locale in LOCALES else DEFAULT_LOCALE


def sign_out() -> None:
    for key in [
        k
        for k in st.session_state
        if str(k).startswith(("auth.", "task.", "work.", "case.", "studio.", "audit."))
    ]:
        del st.session_state[key]


def current_locale() -> str:
    locale = st.session_state.get(LOCALE_KEY, DEFAULT_LOCALE)
    return locale if locale in LOCALES else DEFAULT_LOCALE


def set_locale(locale: str) -> None:
    if locale in LOCALES:
        st.session_state[LOCALE_KEY] = locale


def gettext() -> Callable[[str], str]:
    """``_`` for the session's language."""
    return translator(current_locale()).gettext


def now() -> datetime:
    """The time of this request (pages pass it to every engine call)."""
    return datetime.now(UTC)


def roles_of(user: UserView) -> set[str]:
    return {grant.role for grant in user.grants}
