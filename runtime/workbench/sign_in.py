"""Sign in: through the OpenID Connect provider when one is configured, and with a local
account unless local sign-in is turned off (one message for every local failure; the
engine throttles)."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError, SignInFailed, SignInThrottled
from runtime.identity_provider import offered_provider, refusal
from runtime.services import get_onestop
from runtime.sessions import gettext, now, sign_in

_ = gettext()
onestop = get_onestop()
provider = offered_provider(onestop)
local = onestop.settings.local_sign_in

st.title("OneStop")
if provider is not None:
    refused = refusal()
    if refused is not None:
        st.error(refused)
        if st.button(
            _("Sign out of {provider}").format(provider=provider.provider_label), key="sign_in.logout"
        ):
            st.logout()
            st.stop()
    label = _("Sign in with {provider}").format(provider=provider.provider_label)
    if st.button(label, key="sign_in.provider", type="primary"):
        st.login(provider.provider)
        st.stop()
elif not local:
    st.error(_("No way to sign in is configured. Ask your administrator."))

if local:
    if provider is not None:
        st.caption(_("Local account"))
    with st.form("sign_in.form"):
        username = st.text_input(_("User name"), key="sign_in.username")
        password = st.text_input(_("Password"), type="password", key="sign_in.password")
        submitted = st.form_submit_button(_("Sign in"), type="primary" if provider is None else "secondary")

    if submitted:
        try:
            user = onestop.accounts.authenticate(username, password, now())
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
