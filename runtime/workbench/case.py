"""Case: header, history and (on request, with a purpose) the case data."""

from __future__ import annotations

import streamlit as st

from designer.diagram import render_svg
from engine.errors import OneStopError
from runtime.i18n import format_date, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()

code = st.session_state.get("case.code") or st.query_params.get("case")
if not code:
    st.info(_("Open a case from Cases or My work."))
    st.stop()
try:
    case = onestop.queries.case(user.username, str(code))
    events = onestop.queries.events(user.username, str(code))
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

zone = {unit.code: unit.timezone for unit in onestop.directory.units()}[case.unit_code]
st.title(f"{_('Case')} {case.dossier_code}")
columns = st.columns(4)
columns[0].metric(_("Procedure"), f"{case.procedure_code} v{case.procedure_version}")
columns[1].metric(_("Unit"), case.unit_code)
columns[2].metric(_("Status"), case.outcome or case.status)
columns[3].metric(
    _("Appointment date"), format_date(case.appointment_date, locale) if case.appointment_date else "—"
)
st.caption(f"{_('Step')}: {case.current_step}")

st.subheader(_("Diagram"))
try:
    diagram = onestop.queries.diagram(user.username, case.dossier_code)
    svg = render_svg(diagram.bpmn, file=diagram.file, states=diagram.states, title=case.procedure_code)
except OneStopError as exc:
    st.info(exc.message)
else:
    st.markdown(svg, unsafe_allow_html=True)

st.subheader(_("History"))
st.dataframe(
    [
        {
            "#": e.seq,
            _("Received"): format_datetime(e.at, locale, zone),
            _("User name"): e.actor,
            _("Event"): e.kind,
            _("Step"): e.element_id or "",
            _("Data"): ", ".join(sorted((e.payload.get("data") or {}).keys()))
            if isinstance(e.payload.get("data"), dict)
            else "",
        }
        for e in events
    ],
    hide_index=True,
    use_container_width=True,
)

st.subheader(_("Case data"))
st.caption(_("Personal data is hidden."))
purpose = st.text_input(_("Purpose of access"), key="case.purpose")
if st.button(_("Show personal data"), key="case.show_data", disabled=not purpose.strip()):
    try:
        data = onestop.queries.case_data(user.username, case.dossier_code, purpose, now())
    except OneStopError as exc:
        st.error(exc.message)
    else:
        if data.masked_fields:
            st.caption(_("Masked for your role: {fields}").format(fields=", ".join(data.masked_fields)))
        st.json(data.data)
