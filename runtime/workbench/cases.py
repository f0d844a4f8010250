"""Cases: search by dossier code, procedure, status, unit, receipt dates or applicant."""

from __future__ import annotations

import streamlit as st

from engine.case_search import CaseFilters
from engine.errors import OneStopError
from runtime.i18n import format_date, format_datetime
from runtime.paging import current_page, page_controls
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

CASE_PAGE = "workbench/case.py"
PAGE_SIZE = 50

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
units = onestop.directory.units()
zones = {unit.code: unit.timezone for unit in units}
status_names = {
    "": _("All"),
    "running": _("Running"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
}

st.title(_("Cases"))
with st.form("cases.filters"):
    top = st.columns(4)
    code = top[0].text_input(_("Dossier code"), key="cases.code")
    procedures = sorted({v.procedure_code for v in onestop.procedures.list_versions()})
    procedure = top[1].selectbox(
        _("Procedure"), ["", *procedures], key="cases.procedure", format_func=lambda p: p or _("All")
    )
    status = top[2].selectbox(
        _("Status"), list(status_names), key="cases.status", format_func=status_names.__getitem__
    )
    unit = top[3].selectbox(
        _("Unit"), ["", *(u.code for u in units)], key="cases.unit", format_func=lambda c: c or _("All")
    )
    middle = st.columns(4)
    received_from = middle[0].date_input(_("From"), value=None, key="cases.from")
    received_to = middle[1].date_input(_("To"), value=None, key="cases.to")
    applicant = middle[2].text_input(_("Applicant"), key="cases.applicant")
    purpose = middle[3].text_input(_("Purpose of access"), key="cases.purpose")
    if st.form_submit_button(_("Search"), type="primary"):
        st.session_state["cases.page"] = 0

page_number = current_page("cases.page")
home_zone = next((zones[g.unit_code] for g in user.grants if g.unit_code in zones), "Asia/Bangkok")
try:
    page = onestop.queries.search(
        user.username,
        CaseFilters(
            code=code or None,
            procedure=procedure or None,
            status=status or None,  # type: ignore[arg-type]
            unit=unit or None,
            received_from=received_from,
            received_to=received_to,
            applicant=applicant or None,
        ),
        now=now(),
        purpose=purpose,
        zone=home_zone,
        limit=PAGE_SIZE,
        offset=page_number * PAGE_SIZE,
    )
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

if not page.items:
    st.info(_("No cases found."))
    st.stop()
st.dataframe(
    [
        {
            _("Dossier code"): c.dossier_code,
            _("Procedure"): c.procedure_code,
            _("Unit"): c.unit_code,
            _("Status"): status_names[c.status] + (f" · {c.outcome}" if c.outcome else ""),
            _("Step"): c.current_step,
            _("Received"): format_datetime(c.received_at, locale, zones[c.unit_code]),
            _("Appointment date"): format_date(c.appointment_date, locale) if c.appointment_date else "",
        }
        for c in page.items
    ],
    hide_index=True,
    use_container_width=True,
)
page_controls("cases.page", page.total, PAGE_SIZE, _)

chosen = st.selectbox(_("Case"), [c.dossier_code for c in page.items], key="cases.chosen")
if st.button(_("Open"), key="cases.open", type="primary"):
    st.session_state["case.code"] = chosen
    st.switch_page(CASE_PAGE)
