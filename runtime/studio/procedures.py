"""Procedures: every procedure with its versions, their status and the cases running on them."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

import streamlit as st

from runtime.i18n import format_datetime
from runtime.package_views import home_zone, localised, status_names
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, require_user

VERSION_PAGE = "studio/version.py"

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
zone = home_zone(onestop, user)
statuses = status_names(_)

st.title(_("Procedures"))
versions = onestop.procedures.list_versions()
if not versions:
    st.info(_("No procedure has been imported yet."))
    st.stop()
procedures = {code: list(group) for code, group in groupby(versions, key=lambda v: v.procedure_code)}


def when(value: datetime | None) -> str:
    return format_datetime(value, locale, zone) if value is not None else ""


st.dataframe(
    [
        {
            _("Code"): code,
            _("Name"): localised(group[0].names, locale, code),
            _("Published version"): next((v.version for v in group if v.status == "published"), None),
            _("Versions"): len(group),
            _("Drafts"): sum(v.status == "draft" for v in group),
            _("Cases running"): sum(v.running_cases for v in group),
        }
        for code, group in procedures.items()
    ],
    hide_index=True,
    width="stretch",
)

code = st.selectbox(_("Procedure"), list(procedures), key="studio.procedure")
chosen = procedures[code]
st.subheader(localised(chosen[0].names, locale, code))
st.dataframe(
    [
        {
            _("Version"): v.version,
            _("Status"): statuses[v.status],
            _("Cases running"): v.running_cases,
            _("Imported by"): v.created_by,
            _("Imported"): when(v.created_at),
            _("Published by"): v.published_by or "",
            _("Published"): when(v.published_at),
            _("Retired by"): v.retired_by or "",
            _("Retired"): when(v.retired_at),
        }
        for v in chosen
    ],
    hide_index=True,
    width="stretch",
)
number = st.selectbox(
    _("Version"),
    [v.version for v in chosen],
    key="studio.procedure_version",
    format_func=lambda n: f"v{n} · {statuses[next(v.status for v in chosen if v.version == n)]}",
)
if st.button(_("Open version"), key="studio.open_version", type="primary"):
    st.session_state["studio.version"] = (code, number)
    st.switch_page(VERSION_PAGE)
