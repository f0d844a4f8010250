"""Cases: find a case by dossier code, or pick one of the latest you may see."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError
from runtime.i18n import format_date
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, require_user

CASE_PAGE = "workbench/case.py"

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()

st.title(_("Cases"))
code = st.text_input(_("Dossier code"), key="cases.code").strip()
if st.button(_("Open"), key="cases.open"):
    if code:
        st.session_state["case.code"] = code
        st.switch_page(CASE_PAGE)
    st.warning(_("Enter a dossier code."))

try:
    cases = onestop.queries.recent_cases(user.username, limit=50)
except OneStopError as exc:
    st.error(exc.message)
    st.stop()
status_names = {"running": _("Running"), "completed": _("Completed"), "cancelled": _("Cancelled")}
st.dataframe(
    [
        {
            _("Dossier code"): c.dossier_code,
            _("Procedure"): c.procedure_code,
            _("Unit"): c.unit_code,
            _("Status"): status_names[c.status] + (f" · {c.outcome}" if c.outcome else ""),
            _("Step"): c.current_step,
            _("Appointment date"): format_date(c.appointment_date, locale) if c.appointment_date else "",
        }
        for c in cases
    ],
    hide_index=True,
    use_container_width=True,
)
