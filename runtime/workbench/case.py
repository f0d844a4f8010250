"""Case: header, history and (on request, with a purpose) the case data."""

from __future__ import annotations

import json

import streamlit as st

from designer.diagram import render_svg
from engine.errors import OneStopError
from engine.views import FieldChange
from runtime.deadline_panel import draw_deadline
from runtime.documents import draw_documents
from runtime.event_labels import event_labels
from runtime.i18n import format_date, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

_ = gettext()


def describe_change(change: FieldChange) -> str:
    """``field: before → after`` (``field: after`` when it had no value)."""

    def text(value: object) -> str:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    if change.before is None:
        return f"{change.field}: {text(change.after)}"
    return f"{change.field}: {text(change.before)} → {text(change.after)}"


EVENT_LABELS = event_labels(_)
user = require_user()
onestop = get_onestop()
locale = current_locale()

code = st.session_state.get("case.code") or st.query_params.get("case")
if not code:
    st.info(_("Open a case from Cases or My work."))
    st.stop()
try:
    case = onestop.queries.case(user.username, str(code))
    timeline = onestop.queries.timeline(user.username, str(code), now=now())
    documents = onestop.queries.documents(user.username, str(code))
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
if notice := st.session_state.pop("case.notice", None):
    st.success(notice)
draw_deadline(onestop, user, case, locale, zone, _)

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
            "#": entry.seq,
            _("When"): format_datetime(entry.at, locale, zone),
            _("User name"): entry.actor,
            _("Event"): EVENT_LABELS.get(entry.kind, entry.kind),
            _("Step"): entry.step or entry.element_id or "",
            _("Changes"): "; ".join(describe_change(change) for change in entry.changes),
            _("Note"): ", ".join(filter(None, [entry.note, *entry.documents])),
        }
        for entry in timeline.entries
    ],
    hide_index=True,
    use_container_width=True,
)
if timeline.masked_fields:
    st.caption(_("Masked for your role: {fields}").format(fields=", ".join(timeline.masked_fields)))

st.subheader(_("Documents"))
st.caption(_("Give the purpose of access below to download documents."))
documents_place = st.container()
st.subheader(_("Case data"))
st.caption(_("Personal data is hidden."))
purpose = st.text_input(_("Purpose of access"), key="case.purpose")
with documents_place:
    draw_documents(
        documents,
        (lambda d: onestop.queries.document(user.username, case.dossier_code, d.id, purpose, now()).content)
        if purpose.strip()
        else None,
        key="case.document",
        locale=locale,
        zone=zone,
        _=_,
    )
if st.button(_("Show personal data"), key="case.show_data", disabled=not purpose.strip()):
    try:
        data = onestop.queries.case_data(user.username, case.dossier_code, purpose, now())
    except OneStopError as exc:
        st.error(exc.message)
    else:
        if data.masked_fields:
            st.caption(_("Masked for your role: {fields}").format(fields=", ".join(data.masked_fields)))
        st.json(data.data)
