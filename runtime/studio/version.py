"""Version: one stored procedure version — diagram, service manual, forms, findings,
changes since another version — and, for designers, publish, retire, download, test-run."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from designer.manual import ServiceManual
from designer.package_archive import write_archive
from designer.validation import validate_package
from designer.version_diff import describe_diff, diff_packages
from engine import PackageFiles
from engine.errors import OneStopError
from engine.views import ProcedureVersionView
from runtime.form_widgets import draw_form
from runtime.i18n import format_datetime
from runtime.package_views import draw_diagram, draw_findings, home_zone, localised, status_names
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user, roles_of

TEST_RUN_PAGE = "studio/test_run.py"
MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~$:]")
MANAGERS = {"admin", "designer"}

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
zone = home_zone(onestop, user)
statuses = status_names(_)

chosen = st.session_state.get("studio.version")
if not chosen:
    st.info(_("Open a version from Procedures."))
    st.stop()
code, number = chosen
if flash := st.session_state.pop("studio.flash", None):
    st.success(flash)
try:
    files = onestop.procedures.package_files(user.username, code, number)
except OneStopError as exc:
    st.error(exc.message)
    st.stop()
versions = [v for v in onestop.procedures.list_versions() if v.procedure_code == code]
version = next(v for v in versions if v.version == number)


def stamp(who: str | None, when: Any) -> str:
    return f"{who} · {format_datetime(when, locale, zone)}" if who and when else "—"


st.title(f"{localised(version.names, locale, code)} · v{number}")
top = st.columns(4)
top[0].metric(_("Status"), statuses[version.status])
top[1].metric(_("Cases running"), version.running_cases)
top[2].metric(_("Lanes"), len(version.lanes))
top[3].metric(_("Forms"), len(files.forms))
stamps = [
    (_("Imported"), stamp(version.created_by, version.created_at)),
    (_("Published"), stamp(version.published_by, version.published_at)),
    (_("Retired"), stamp(version.retired_by, version.retired_at)),
    ("sha256", version.sha256[:12]),
]
st.caption(" · ".join(f"{label}: {value}" for label, value in stamps))


def draw_actions(version: ProcedureVersionView, files: PackageFiles) -> None:
    columns = st.columns(4)
    if version.status != "published" and columns[0].button(
        _("Publish"), key="studio.publish", type="primary"
    ):
        act(lambda: onestop.procedures.publish(user.username, code, number, now()), _("Published."))
    if version.status == "published" and columns[1].button(_("Retire"), key="studio.retire"):
        act(lambda: onestop.procedures.retire(user.username, code, number, now()), _("Retired."))
    columns[2].download_button(
        _("Download package"),
        data=write_archive(files),
        file_name=f"{code}-v{number}.zip",
        mime="application/zip",
        key="studio.download",
    )
    if columns[3].button(_("Test-run"), key="studio.test_run"):
        st.session_state["studio.trial_target"] = (code, number)
        st.switch_page(TEST_RUN_PAGE)


def act(command: Any, done: str) -> None:
    try:
        command()
    except OneStopError as exc:
        st.error(exc.message)
    else:
        st.session_state["studio.flash"] = done
        st.rerun()


if roles_of(user) & MANAGERS:
    draw_actions(version, files)

diagram, manual_tab, forms_tab, findings_tab, changes_tab = st.tabs(
    [_("Diagram"), _("Service manual"), _("Forms"), _("Findings"), _("Changes")]
)
with diagram:
    draw_diagram(files)


def fact(label: str, value: str = "") -> None:
    """A bold label and its value on one line (markdown in the value is shown as text)."""
    escaped = MARKDOWN_SPECIAL.sub(r"\\\g<0>", value)
    st.markdown(f"**{label}**" + (f": {escaped}" if value else ""))


def draw_manual(manual: ServiceManual) -> None:
    def text(value: Any) -> str:
        return localised(value, locale, "—") if value else "—"

    fact(_("National code"), manual.national_code or "—")
    fact(_("Responsible unit"), text(manual.responsible_unit))
    if manual.time_limit:
        days = _("working days") if manual.time_limit.day_type == "working" else _("calendar days")
        fact(_("Time limit"), f"{manual.time_limit.value} {days}")
    fact(_("Channels"), ", ".join(manual.channels) or "—")
    fact(_("Legal basis"))
    st.dataframe({_("Legal basis"): manual.legal_basis}, hide_index=True, width="stretch")
    fact(_("Steps"))
    st.dataframe(
        [
            {
                _("Step"): text(s.name) if s.name else s.id,
                _("Role"): s.role or "",
                _("Days allowed"): s.allowance_days,
            }
            for s in manual.steps
        ],
        hide_index=True,
        width="stretch",
    )
    fact(_("Documents"))
    st.dataframe(
        [
            {
                _("Document"): text(d.name),
                _("Required"): d.required,
                _("Held by the state"): d.held_by_state,
            }
            for d in manual.documents
        ],
        hide_index=True,
        width="stretch",
    )
    if manual.fees:
        fact(_("Fees"))
        st.dataframe(
            [
                {_("Fee"): text(fee.name), _("Amount"): fee.amount, _("Currency"): fee.currency or ""}
                for fee in manual.fees
            ],
            hide_index=True,
            width="stretch",
        )
    fact(_("Results"), ", ".join(text(r.name) for r in manual.results) or "—")
    fact(_("Complaints"), text(manual.complaint_channel))


with manual_tab:
    try:
        draw_manual(ServiceManual.model_validate(files.manual))
    except ValueError:
        st.warning(_("The service manual does not match its schema; see the findings."))
        st.json(files.manual)
with forms_tab:
    if not files.forms:
        st.info(_("This version has no forms."))
    else:
        form_name = st.selectbox(_("Form"), sorted(files.forms), key="studio.form_preview")
        try:
            schema = json.loads(files.forms[form_name])
        except ValueError:
            st.warning(_("This form is not valid JSON; see the findings."))
        else:
            st.caption(_("A preview: nothing entered here is saved."))
            with st.container(border=True):
                draw_form(schema, key=f"studio.preview.{form_name}", locale=locale, prefill={}, errors={})
            with st.expander(_("JSON Schema")):
                st.json(schema)
with findings_tab:
    draw_findings(
        validate_package(
            files, known_roles=onestop.directory.granted_roles(), connectors=onestop.connectors.names()
        ),
        _,
    )
with changes_tab:
    others = [v.version for v in versions if v.version != number]
    if not others:
        st.info(_("This is the only version."))
    else:
        against = st.selectbox(
            _("Compare with version"), others, key="studio.compare", format_func=lambda n: f"v{n}"
        )
        try:
            other = onestop.procedures.package_files(user.username, code, against)
        except OneStopError as exc:
            st.error(exc.message)
        else:
            old, new = (other, files) if against < number else (files, other)
            st.caption(_("From v{old} to v{new}").format(old=min(against, number), new=max(against, number)))
            st.code("\n".join(describe_diff(diff_packages(old, new))), language="diff")
