"""Task: one work item — its case, instructions and form; submit, then on to the next."""

from __future__ import annotations

import streamlit as st

from engine.errors import CaseConflict, FormInvalid, OneStopError, TaskNotReady
from runtime.documents import draw_documents
from runtime.form_widgets import draw_form
from runtime.i18n import format_date, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

MY_WORK_PAGE = "workbench/my_work.py"

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()

item_id = st.session_state.get("task.item")
if item_id is None and "item" in st.query_params:
    try:
        item_id = int(st.query_params["item"])
    except ValueError:
        item_id = None
if item_id is None:
    st.info(_("Choose a work item on My work."))
    st.stop()

try:
    task = onestop.tasks.task(user.username, int(item_id), now())
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

item, case = task.item, task.case
zones = {unit.code: unit.timezone for unit in onestop.directory.units()}
st.title(item.name)
header = st.columns(4)
header[0].metric(_("Dossier code"), case.dossier_code)
header[1].metric(_("Procedure"), f"{case.procedure_code} v{case.procedure_version}")
header[2].metric(_("Received"), format_datetime(case.received_at, locale, zones[case.unit_code]))
header[3].metric(
    _("Appointment date"), format_date(case.appointment_date, locale) if case.appointment_date else "—"
)
for note in st.session_state.pop("task.notes", []):
    st.warning(note)
if item.state not in ("open", "claimed"):
    if item.closed_by and item.closed_by != user.username:
        st.warning(_("This task was completed by someone else in the meantime. The page has been reloaded."))
        st.caption(_("Completed by {user}").format(user=item.closed_by))
    else:
        st.info(_("This work item is {state}.").format(state=_(item.state)))
    st.stop()
if item.assignee and item.assignee != user.username:
    st.warning(_("Held by {user}").format(user=item.assignee))
if task.instructions:
    with st.expander(_("Instructions"), expanded=True):
        st.markdown(task.instructions)

with st.expander(_("Documents") + f" ({len(task.documents)})", expanded=bool(task.documents)):
    purpose = f"work item {item.id} ({item.name})"
    draw_documents(
        task.documents,
        lambda d: onestop.queries.document(user.username, case.dossier_code, d.id, purpose, now()).content,
        key=f"task.document.{item.id}",
        locale=locale,
        zone=zones[case.unit_code],
        _=_,
    )

errors: dict[str, list[str]] = st.session_state.get("task.errors", {}).get(item.id, {})
general = errors.get("", [])
with st.form(f"task.form.{item.id}"):
    entry = (
        draw_form(
            task.form_schema,
            key=f"task.{item.id}",
            locale=locale,
            prefill=task.prefill,
            errors=errors,
            file_names={f"sha256:{d.sha256}": d.filename for d in task.documents},
        )
        if task.form_schema
        else None
    )
    submitted = st.form_submit_button(_("Submit"), type="primary")
for message in general:
    st.error(message)

if submitted:
    try:
        after = onestop.cases.complete(
            user.username,
            item.id,
            now(),
            entry.values if entry else {},
            expected_version=item.case_version,
            files=entry.files if entry else None,
        )
    except FormInvalid as exc:
        by_field: dict[str, list[str]] = {}
        for error in exc.errors:
            by_field.setdefault(error.field.split(".")[0], []).append(error.message)
        st.session_state["task.errors"] = {item.id: by_field}
        st.session_state["task.notes"] = [_("Please correct the highlighted fields.")]
        st.rerun()
    except (CaseConflict, TaskNotReady):
        st.session_state.pop("task.errors", None)
        st.session_state["task.notes"] = [
            _("This task was completed by someone else in the meantime. The page has been reloaded.")
        ]
        st.rerun()
    except OneStopError as exc:
        st.error(exc.message)
    else:
        st.session_state.pop("task.errors", None)
        nxt = next(
            (
                i
                for i in after.open_items
                if i.role in {g.role for g in user.grants} and i.assignee in (None, user.username)
            ),
            None,
        )
        st.session_state["work.notes"] = [_("Saved.")]
        if nxt is not None:
            st.session_state["task.item"] = nxt.id
            st.session_state["task.notes"] = [_("Saved.")]
            st.rerun()
        st.session_state.pop("task.item", None)
        st.switch_page(MY_WORK_PAGE)
