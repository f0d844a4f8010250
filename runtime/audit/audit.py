"""Audit: verify every case's recorded history, take a checkpoint, export event logs."""

from __future__ import annotations

import inspect
from datetime import date

import streamlit as st

from engine.errors import OneStopError
from engine.process_export import ExportFormat
from runtime.audit.periods import home_zone
from runtime.services import get_onestop
from runtime.sessions import gettext, now, require_user

EXPORT_FILE = "audit.export.file"
FORMATS: dict[ExportFormat, str] = {"xes": "application/xml", "csv": "text/csv", "ocel": "application/json"}

_ = gettext()
user = require_user()
onestop = get_onestop()


def verify_all() -> None:
    """Verify every case, with a progress bar when the engine reports progress."""
    bar = st.progress(0.0, text=_("Verifying…"))

    def advance(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=_("Verifying…"))

    accepts_progress = "progress" in inspect.signature(onestop.verify).parameters
    try:
        report = onestop.verify(progress=advance) if accepts_progress else onestop.verify()
    except OneStopError as exc:
        st.error(exc.message)
        return
    bar.progress(1.0, text=_("Done."))
    summary = _("Checked {cases} case(s) and {events} event(s).").format(
        cases=report.cases_checked, events=report.events_checked
    )
    if report.problems:
        st.error(summary + " " + _("Some cases do not verify."))
        st.dataframe(
            [{_("Case"): p.dossier_code, "#": p.seq, _("Reason"): p.reason} for p in report.problems],
            hide_index=True,
            use_container_width=True,
        )
    else:
        st.success(summary + " " + _("Every recorded history verifies."))


def take_checkpoint() -> None:
    try:
        checkpoint = onestop.checkpoint(user.username, now())
    except OneStopError as exc:
        st.error(exc.message)
        return
    st.success(_("Checkpoint taken."))
    st.json(checkpoint.model_dump(mode="json"))


def prepare_export(fmt: ExportFormat, procedure: str, first: date | None, last: date | None) -> None:
    """Build the export file once and keep it for the download button (days are read in
    the time zone of the auditor's unit)."""
    zone = home_zone(user, onestop.directory.units())
    try:
        chunks = onestop.exports.stream(
            user.username, fmt, procedure, since=first, until=last, now=now(), zone=zone
        )
        content = b"".join(chunks)
    except OneStopError as exc:
        st.error(exc.message)
        return
    st.session_state[EXPORT_FILE] = (f"{procedure}.{fmt}", fmt, content)


st.title(_("Audit"))
st.subheader(_("Verify the records"))
st.caption(_("Recomputes every case's hash chain and compares it with what is stored."))
if st.button(_("Verify all cases"), key="audit.verify_all", type="primary"):
    verify_all()
if hasattr(onestop, "checkpoint") and st.button(_("Take a checkpoint"), key="audit.checkpoint"):
    take_checkpoint()

st.subheader(_("Export event logs"))
if not hasattr(onestop, "exports"):
    st.info(_("Exports are not available on this server."))
    st.stop()
procedures = sorted({v.procedure_code for v in onestop.procedures.list_versions()})
with st.form("audit.export"):
    row = st.columns(4)
    procedure = row[0].selectbox(_("Procedure"), procedures, key="audit.export.procedure")
    first = row[1].date_input(_("From"), value=None, key="audit.export.from")
    last = row[2].date_input(_("To"), value=None, key="audit.export.to")
    fmt = row[3].selectbox(_("Format"), list(FORMATS), key="audit.export.format", format_func=str.upper)
    if st.form_submit_button(_("Prepare the export")) and procedure:
        prepare_export(fmt, procedure, first, last)
prepared = st.session_state.get(EXPORT_FILE)
if prepared:
    name, kind, content = prepared
    st.download_button(
        _("Download {file}").format(file=name),
        content,
        file_name=name,
        mime=FORMATS[kind],
        key="audit.export.download",
    )
