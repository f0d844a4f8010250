"""What the procedure pages share: the findings table, the diagram, localised names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import streamlit as st

from designer.diagram import ElementState, render_svg
from engine import OneStop, PackageFiles
from engine.errors import OneStopError
from engine.views import Finding, UserView
from runtime.sessions import now

VERSION_PAGE = "studio/version.py"
SEVERITY_ICONS = {"error": "⛔", "warning": "⚠️", "info": "ℹ️"}


def status_names(_: Callable[[str], str]) -> dict[str, str]:
    """A version's status, in the page's language."""
    return {"draft": _("Draft"), "published": _("Published"), "retired": _("Retired")}


def home_zone(onestop: OneStop, user: UserView) -> str:
    """The time zone of the first unit the user holds a role in (times are shown in it)."""
    zones = {unit.code: unit.timezone for unit in onestop.directory.units()}
    return next((zones[g.unit_code] for g in user.grants if g.unit_code in zones), "Asia/Bangkok")


def localised(names: Mapping[str, str] | str | None, locale: str, default: str = "") -> str:
    """A name in ``locale``, else in English, else any language given."""
    if isinstance(names, str):
        return names
    if not names:
        return default
    return names.get(locale) or names.get("en") or next(iter(names.values()), default)


def draw_findings(findings: Iterable[Finding], _: Callable[[str], str]) -> None:
    """Findings as a table, errors first, with counts per severity above it."""
    found = sorted(findings, key=lambda f: ("error", "warning", "info").index(f.severity))
    if not found:
        st.success(_("No findings: the package is ready to publish."))
        return
    counts = {
        severity: sum(f.severity == severity for f in found) for severity in ("error", "warning", "info")
    }
    summary = _("{errors} errors, {warnings} warnings, {infos} remarks").format(
        errors=counts["error"], warnings=counts["warning"], infos=counts["info"]
    )
    (st.error if counts["error"] else st.warning if counts["warning"] else st.info)(summary)
    st.dataframe(
        [
            {
                "": SEVERITY_ICONS[f.severity],
                _("Where"): f.location(),
                _("Code"): f.code,
                _("Message"): f.message,
                _("What to do"): f.hint or "",
            }
            for f in found
        ],
        hide_index=True,
        width="stretch",
    )


def draw_diagram(
    files: PackageFiles,
    *,
    numbers: Mapping[str, float | int | str] | None = None,
    states: Mapping[str, ElementState] | None = None,
) -> None:
    """The first BPMN file of the package, drawn; a file without a drawable layout says why."""
    name, data = next(iter(sorted(files.bpmn.items())))
    try:
        svg = render_svg(data, file=name, numbers=numbers, states=states, title=files.code)
    except OneStopError as exc:
        st.info(exc.message)
    else:
        st.markdown(svg, unsafe_allow_html=True)


def import_and_open(
    onestop: OneStop, user: UserView, files: PackageFiles, publish: bool, _: Callable[[str], str]
) -> None:
    """Import ``files`` as a new version (published at once when asked) and open its page;
    a refusal is shown where the button is."""
    try:
        result = onestop.procedures.import_package(user.username, files, now(), publish=publish)
    except OneStopError as exc:
        st.error(exc.message)
        return
    version = result.version
    if result.created:
        flash = _("Imported as version {version} ({status}).")
    else:
        flash = _("This package is already stored as version {version} ({status}).")
    status = status_names(_)[version.status]
    st.session_state["studio.flash"] = flash.format(version=version.version, status=status)
    st.session_state["studio.version"] = (version.procedure_code, version.version)
    st.switch_page(VERSION_PAGE)
