"""Replay: step through a case's recorded events and see the diagram and data of each moment."""

from __future__ import annotations

import json

import streamlit as st

from designer.diagram import render_svg
from engine.case_replay import CaseReplayView
from engine.case_search import CaseFilters
from engine.errors import OneStopError
from runtime.event_labels import event_labels
from runtime.i18n import format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

CODE = "audit.replay.code"
PICK = "audit.replay.pick"
SEQ = "audit.replay.seq"
VIEW = "audit.replay.view"
PURPOSE = "audit.replay.purpose"

_ = gettext()
EVENT_LABELS = event_labels(_)
user = require_user()
onestop = get_onestop()
locale = current_locale()


def load(code: str, purpose: str | None = None) -> CaseReplayView | None:
    """Fetch the replay once and keep it, so moving the slider reads (and logs) nothing."""
    try:
        view = onestop.replays.replay(user.username, code, now(), purpose)
    except OneStopError as exc:
        st.error(exc.message)
        return None
    st.session_state[VIEW] = view
    return view


def step(seqs: list[int], by: int) -> None:
    at = seqs.index(st.session_state[SEQ]) + by
    st.session_state[SEQ] = seqs[max(0, min(at, len(seqs) - 1))]


def pick_case() -> None:
    st.session_state[CODE] = st.session_state[PICK]


def text(value: object) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


st.title(_("Replay"))
try:
    recent = onestop.queries.search(user.username, CaseFilters(), now=now(), limit=50).items
except OneStopError as exc:
    st.error(exc.message)
    recent = ()
top = st.columns(2)
top[0].text_input(_("Dossier code"), key=CODE)
top[1].selectbox(_("Recent cases"), ["", *(c.dossier_code for c in recent)], key=PICK, on_change=pick_case)
code = str(st.session_state.get(CODE) or "").strip()
if not code:
    st.info(_("Enter the dossier code of the case to replay."))
    st.stop()

view = st.session_state.get(VIEW)
if not isinstance(view, CaseReplayView) or view.case.dossier_code != code:
    view = load(code)
    if view is None:
        st.stop()
    st.session_state[SEQ] = view.frames[0].seq
assert view is not None

seqs = [frame.seq for frame in view.frames]
if st.session_state.get(SEQ) not in seqs:
    st.session_state[SEQ] = seqs[0]
position = seqs.index(st.session_state[SEQ])
controls = st.columns([1, 6, 1])
controls[0].button(
    _("Previous"), key="audit.replay.previous", on_click=step, args=(seqs, -1), disabled=position == 0
)
if len(seqs) > 1:
    with controls[1]:
        st.select_slider(_("Event"), options=seqs, key=SEQ, format_func=lambda seq: f"#{seq}")
controls[2].button(
    _("Next"), key="audit.replay.next", on_click=step, args=(seqs, 1), disabled=position == len(seqs) - 1
)

frame = view.frames[seqs.index(st.session_state[SEQ])]
zone = {unit.code: unit.timezone for unit in onestop.directory.units()}[view.case.unit_code]
st.subheader(f"#{frame.seq} · {EVENT_LABELS.get(frame.kind, frame.kind)}")
facts = st.columns(3)
facts[0].metric(_("When"), format_datetime(frame.at, locale, zone))
facts[1].metric(_("User name"), frame.actor)
facts[2].metric(_("Step"), frame.step or frame.element_id or "—")
try:
    svg = render_svg(view.bpmn, file=view.file, states=frame.states, title=view.case.procedure_code)
except OneStopError as exc:
    st.info(exc.message)
else:
    st.markdown(svg, unsafe_allow_html=True)

left, right = st.columns(2)
with left:
    st.markdown("**" + _("Data at this step") + "**")
    st.json(frame.data)
with right:
    st.markdown("**" + _("Changed at this step") + "**")
    if frame.changes:
        st.dataframe(
            [
                {_("Field"): c.field, _("Before"): text(c.before), _("After"): text(c.after)}
                for c in frame.changes
            ],
            hide_index=True,
            use_container_width=True,
        )
    else:
        st.caption(_("No data changed at this step."))
if view.masked_fields:
    st.caption(_("Masked for your role: {fields}").format(fields=", ".join(view.masked_fields)))

purpose = st.text_input(_("Purpose of access"), key=PURPOSE)
revealing = st.button(_("Show personal data"), key="audit.replay.reveal", disabled=not purpose.strip())
if revealing and load(code, purpose) is not None:
    st.rerun()

if st.button(_("Verify this case"), key="audit.replay.verify"):
    try:
        report = onestop.verify(code)
    except OneStopError as exc:
        st.error(exc.message)
    else:
        if report.problems:
            st.error(_("The recorded history of this case does not verify."))
            st.dataframe(
                [{_("Case"): p.dossier_code, "#": p.seq, _("Reason"): p.reason} for p in report.problems],
                hide_index=True,
                use_container_width=True,
            )
        else:
            st.success(_("The recorded history of this case verifies."))
