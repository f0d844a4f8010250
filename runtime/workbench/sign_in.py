"""Sign in with a local account (one message for every failure; throttled by the engine)."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError, SignInFailed, SignInThrottled
from runtime.services import get_onestop
from runtime.sessions import gettext, now, sign_in

_ = gettext()

st.title("OneStop")
with st.form("sign_in.form"):
    username = st.text_input(_("User name"), key="sign_in.username")
    password = st.text_input(_("Password"), type="password", key="sign_in.password")
    submitted = st.form_submit_button(_("Sign in"), type="primary")

if submitted:
    try:
        user = get_onestop().accounts.authenticate(username, password, now())
    except SignInThrottled as exc:
        st.error(
            _("Too many failed attempts. Try again in {seconds} seconds.").format(
                seconds=exc.details.get("retry_after", 60)
            )
        )
    except SignInFailed:
        st.error(_("Wrong user name or password."))
    except OneStopError as exc:
        st.error(exc.message)
    else:
        sign_in(user)
        st.rerun()
