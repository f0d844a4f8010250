"""New case: receive a dossier, issue its code and hand the applicant a receipt."""

from __future__ import annotations

import html

import streamlit as st

from engine.errors import FormInvalid, OneStopError
from engine.views import CaseView
from runtime.i18n import format_date, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()

st.title(_("New case"))
published = [v for v in onestop.procedures.list_versions() if v.status == "published"]
if not published:
    st.info(_("No procedure is published yet."))
    st.stop()
units = onestop.directory.units()
mine = {g.unit_code for g in user.grants}
unit_choices = [u.code for u in units if u.code in mine or u.parent_code in mine]
names = {u.code: u.name for u in units}

with st.form("new_case.form"):
    version = st.selectbox(
        _("Procedure"),
        published,
        format_func=lambda v: (
            f"{v.names.get(locale) or v.names.get('en') or v.procedure_code}"
            + (f" — {v.time_limit['value']} {_('days')}" if v.time_limit else "")
        ),
        key="new_case.procedure",
    )
    unit = st.selectbox(
        _("Unit"), unit_choices, format_func=lambda c: f"{c} · {names[c]}", key="new_case.unit"
    )
    applicant_name = st.text_input(_("Applicant"), key="new_case.applicant_name")
    national_id = st.text_input(_("National ID number"), key="new_case.national_id")
    phone = st.text_input(_("Phone number"), key="new_case.phone")
    submitted = st.form_submit_button(_("Start case"), type="primary")

if submitted and version is not None and unit:
    data = {
        k: v.strip()
        for k, v in {"applicant_name": applicant_name, "national_id": national_id, "phone": phone}.items()
        if v.strip()
    }
    try:
        started = onestop.cases.start_case(user.username, version.procedure_code, unit, now(), data)
    except FormInvalid as exc:
        for error in exc.errors:
            st.error(f"{error.field}: {error.message}")
    except OneStopError as exc:
        st.error(exc.message)
    else:
        st.session_state["new_case.receipt"] = started

receipt: CaseView | None = st.session_state.get("new_case.receipt")
if receipt is not None:
    zone = {u.code: u.timezone for u in units}[receipt.unit_code]
    lines = [
        (_("Dossier code"), receipt.dossier_code),
        (_("Procedure"), f"{receipt.procedure_code} v{receipt.procedure_version}"),
        (_("Unit"), f"{receipt.unit_code} · {names.get(receipt.unit_code, '')}"),
        (_("Received"), format_datetime(receipt.received_at, locale, zone)),
        (
            _("Appointment date"),
            format_date(receipt.appointment_date, locale) if receipt.appointment_date else "—",
        ),
    ]
    st.success(_("Receipt"))
    st.table({label: [value] for label, value in lines})
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        + html.escape(receipt.dossier_code)
        + "</title></head><body><h1>"
        + html.escape(_("Receipt"))
        + "</h1><table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines)
        + "</table></body></html>"
    )
    st.download_button(
        _("Download receipt"),
        page,
        file_name=f"{receipt.dossier_code}.html",
        mime="text/html",
        key="new_case.download",
    )
