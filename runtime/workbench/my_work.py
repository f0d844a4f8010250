"""My work: the open and claimed items of my roles in my units, soonest due first."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError
from engine.views import WorkItemView
from runtime.deadline_panel import standing_labels
from runtime.i18n import format_datetime
from runtime.paging import current_page, page_controls
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

TASK_PAGE = "workbench/task.py"
BADGES = {"late": "🔴", "nearly_late": "🟠", "not_yet_due": "🟢", "no_deadline": "⚪"}

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
moment = now()

st.title(_("My work"))
for note in st.session_state.pop("work.notes", []):
    st.info(note)

PAGE_SIZE = 50
procedures = [v.procedure_code for v in onestop.procedures.list_versions() if v.status == "published"]
left, right = st.columns(2)


def _first_page() -> None:
    st.session_state["work.page"] = 0


chosen_procedure = left.selectbox(
    _("Procedure"),
    ["", *sorted(set(procedures))],
    key="work.procedure",
    format_func=lambda p: p or _("All"),
    on_change=_first_page,
)
mine_only = right.toggle(_("Only items I hold or can take"), key="work.mine_only", on_change=_first_page)
page_number = current_page("work.page")
try:
    page = onestop.queries.worklist(
        user.username,
        procedure=chosen_procedure or None,
        mine_only=mine_only,
        limit=PAGE_SIZE,
        offset=page_number * PAGE_SIZE,
    )
except OneStopError as exc:
    st.error(exc.message)
    st.stop()
shown: list[WorkItemView] = list(page.items)
timeliness_labels = {**standing_labels(_), "no_deadline": ""}

if not shown:
    if page_number > 0:  # the list shrank under this page
        _first_page()
        st.rerun()
    st.info(_("No work items."))
    st.stop()


def _holder(item: WorkItemView) -> str:
    if item.assignee is None:
        return ""
    return _("Held by {user}").format(user=item.assignee)


zones = {unit.code: unit.timezone for unit in onestop.directory.units()}
st.dataframe(
    [
        {
            "": BADGES[item.timeliness_at(moment)],
            _("Dossier code"): item.case_code,
            _("Procedure"): item.procedure_code,
            _("Step"): item.name,
            _("Waiting since"): format_datetime(item.ready_at, locale, zones[item.unit_code]),
            _("Due"): format_datetime(item.due_at, locale, zones[item.unit_code]) if item.due_at else "",
            _("Deadline"): timeliness_labels[item.timeliness_at(moment)],
            _("Held by"): item.assignee or "",
        }
        for item in shown
    ],
    hide_index=True,
    use_container_width=True,
)

page_controls("work.page", page.total, PAGE_SIZE, _)

labels = {
    item.id: f"{item.case_code} · {item.name}" + (f" ({_holder(item)})" if item.assignee else "")
    for item in shown
}
selected = st.selectbox(_("Work item"), list(labels), format_func=labels.__getitem__, key="work.item")
item = next(i for i in shown if i.id == selected)
claim, release, open_ = st.columns(3)
actions = [
    (claim, _("Claim"), "work.claim", item.assignee == user.username, onestop.cases.claim),
    (release, _("Release"), "work.release", item.assignee is None, onestop.cases.release),
]
for column, label, key, disabled, command in actions:
    if column.button(label, key=key, disabled=disabled):
        try:
            command(user.username, item.id, now(), expected_version=item.case_version)
        except OneStopError as exc:
            st.error(exc.message)
        else:
            st.rerun()
if open_.button(_("Open"), key="work.open", type="primary"):
    st.session_state["task.item"] = item.id
    st.switch_page(TASK_PAGE)
