"""Upload: drop a procedure package, see its findings and its diagram, import it as a draft."""

from __future__ import annotations

import streamlit as st

from designer.packages import open_upload
from designer.validation import has_errors, validate_source
from engine.errors import ProcedureInvalid
from engine.views import Finding
from runtime.package_views import draw_diagram, draw_findings, import_and_open
from runtime.services import get_onestop
from runtime.sessions import gettext, require_user

_ = gettext()
user = require_user()
onestop = get_onestop()

st.title(_("Upload a procedure"))
st.caption(
    _(
        "A package is a .zip of the procedure folder (process.bpmn, forms/*.json, manual.yaml), "
        "a single .bpmn file, or those files chosen together."
    )
)
uploads = st.file_uploader(
    _("Procedure package"),
    type=["zip", "bpmn", "dmn", "json", "yaml", "yml"],
    accept_multiple_files=True,
    key="studio.upload",
)
if not uploads:
    st.stop()

try:
    source = open_upload([(upload.name, upload.getvalue()) for upload in uploads])
except ProcedureInvalid as exc:
    st.error(exc.message)
    draw_findings([f for f in exc.findings if isinstance(f, Finding)], _)
    st.stop()

files = source.files
findings = validate_source(
    source, known_roles=onestop.directory.granted_roles(), connectors=onestop.connectors.names()
)
st.subheader(_("Findings"))
draw_findings(findings, _)
st.subheader(_("Diagram"))
draw_diagram(files)

st.subheader(_("Import"))
st.write(_("Procedure code: {code}").format(code=files.code))
publish = st.checkbox(
    _("Publish at once (new cases use this version)"),
    key="studio.upload_publish",
    disabled=has_errors(findings),
    help=_("Publishing is refused while any error remains."),
)
if st.button(_("Import as a new version"), key="studio.import", type="primary"):
    import_and_open(onestop, user, files, publish, _)
