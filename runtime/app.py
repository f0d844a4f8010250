"""Streamlit entry: authenticates, builds services once, and offers pages by role.

Pages hold widgets and calls only; every rule (who may see, claim or complete what) is
enforced by the engine, whatever the page offers.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.errors import OneStopError
from runtime.i18n import LANGUAGE_NAMES, LOCALES
from runtime.identity_provider import is_signed_in_at_provider, sign_in_from_provider
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, roles_of, set_locale, sign_out, signed_in_user

# Page scripts live in workbench/, not pages/: a pages/ folder beside the entry file puts
# Streamlit into its older file-based navigation, which fights st.navigation.
PAGES = Path(__file__).resolve().parent / "workbench"
STUDIO = Path(__file__).resolve().parent / "studio"
AUDIT = Path(__file__).resolve().parent / "audit"
PUBLIC = Path(__file__).resolve().parent / "public"  # open to everyone, signed in or not
WORK_ROLES_EXCLUDED = {"admin", "auditor", "designer"}
STARTER_ROLES = {"intake_officer"}
DESIGN_ROLES = {"admin", "designer"}
PROCEDURE_READERS = DESIGN_ROLES | {"auditor"}
AUDIT_ROLES = {"admin", "auditor"}

st.set_page_config(page_title="OneStop", page_icon="🏛️", layout="wide")
try:
    onestop = get_onestop()
except OneStopError as exc:  # e.g. an unusable OIDC mapping file
    st.error(exc.message)
    st.stop()
user = signed_in_user() or sign_in_from_provider(onestop, now())
_ = gettext()


def choose_language() -> None:
    set_locale(st.session_state["auth.language"])


def draw_language_box() -> None:
    """The language picker, for signed-in users and anonymous visitors of the public pages."""
    # The picker shows the session's language, which signing in may have changed since the
    # picker was last drawn (a user's own language); a choice applies before the page runs.
    st.session_state["auth.language"] = current_locale()
    st.selectbox(
        _("Language"),
        LOCALES,
        format_func=lambda code: LANGUAGE_NAMES[code],
        key="auth.language",
        on_change=choose_language,
    )


catalogue_page = st.Page(PUBLIC / "catalogue.py", title=_("Procedures catalogue"), icon="📖")
if user is None:
    pages = [st.Page(PAGES / "sign_in.py", title=_("Sign in"), icon="🔑", default=True), catalogue_page]
    with st.sidebar:
        draw_language_box()
else:
    roles = roles_of(user)
    works = bool(roles - WORK_ROLES_EXCLUDED)
    pages = [st.Page(PAGES / "home.py", title=_("Home"), icon="🏠", default=not works)]
    if works:
        pages += [
            st.Page(PAGES / "my_work.py", title=_("My work"), icon="📥", default=True),
            st.Page(PAGES / "task.py", title=_("Task"), icon="📝"),
        ]
    if roles & STARTER_ROLES:
        pages.append(st.Page(PAGES / "new_case.py", title=_("New case"), icon="➕"))
    pages += [
        st.Page(PAGES / "cases.py", title=_("Cases"), icon="🗂️"),
        st.Page(PAGES / "case.py", title=_("Case"), icon="📄"),
    ]
    if roles & PROCEDURE_READERS:
        pages += [
            st.Page(STUDIO / "procedures.py", title=_("Procedures"), icon="📚"),
            st.Page(STUDIO / "version.py", title=_("Version"), icon="🔖"),
        ]
    if roles & DESIGN_ROLES:
        pages += [
            st.Page(STUDIO / "upload.py", title=_("Upload a procedure"), icon="⬆️"),
            st.Page(STUDIO / "builder.py", title=_("Builder"), icon="🧱"),
            st.Page(STUDIO / "test_run.py", title=_("Test-run"), icon="🧪"),
        ]
    if roles & AUDIT_ROLES:
        pages += [
            st.Page(AUDIT / "replay.py", title=_("Replay"), icon="⏯️"),
            st.Page(AUDIT / "audit.py", title=_("Audit"), icon="🛡️"),
            st.Page(AUDIT / "access_log.py", title=_("Access log"), icon="👁️"),
        ]
    if roles:  # anyone holding a grant; the engine decides which units they see
        pages.append(st.Page(PAGES / "dashboard.py", title=_("Dashboard"), icon="📊"))
    if "admin" in roles:
        pages.append(st.Page(PAGES / "admin.py", title=_("Admin"), icon="⚙️"))
        pages.append(st.Page(PAGES / "calendars.py", title=_("Calendars"), icon="📅"))
    pages.append(catalogue_page)
    with st.sidebar:
        st.caption(_("Signed in as {user}").format(user=user.display_name))
        draw_language_box()
        if st.button(_("Sign out"), key="auth.sign_out"):
            at_provider = is_signed_in_at_provider()
            sign_out()
            if at_provider:
                st.logout()  # or the provider's cookie would sign the session straight back in
                st.stop()
            st.rerun()

st.navigation(pages).run()
