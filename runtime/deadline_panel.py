"""The deadline section of the case page: dates, how the case stands, the clock's history,
and the extension and pause forms for the roles that may use them (the engine decides)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import streamlit as st

from engine import OneStop
from engine.errors import OneStopError
from engine.views import CaseView, UserView
from runtime.event_labels import event_labels
from runtime.i18n import format_date, format_datetime
from runtime.sessions import now, roles_of

EXTEND_ROLES = {"approver"}
PAUSE_ROLES = {"intake_officer", "approver"}


def standing_labels(_: Callable[[str], str]) -> dict[str, str]:
    """Labels of how a case stands against its deadline, open or closed."""
    return {
        "late": _("Overdue"),
        "nearly_late": _("Due soon"),
        "not_yet_due": _("On time"),
        "early": _("Closed early"),
        "on_time": _("Closed on time"),
        "no_deadline": "—",
    }


def draw_deadline(
    onestop: OneStop, user: UserView, case: CaseView, locale: str, zone: str, _: Callable[[str], str]
) -> None:
    """Draw the section (``case`` as just read; a change reruns the page)."""
    st.subheader(_("Deadline"))
    labels = standing_labels(_)
    nearly = timedelta(hours=onestop.settings.nearly_late_hours)
    standing = case.timeliness_at(now(), nearly) if case.status == "running" else case.outcome_timeliness
    columns = st.columns(4)
    columns[0].metric(_("Promised at receipt"), _day(case.appointment_date, locale))
    columns[1].metric(_("Current deadline"), _day(case.due_date, locale))
    columns[2].metric(_("Standing"), labels.get(standing, standing))
    columns[3].metric(
        _("Clock"),
        _("stopped since {when}").format(when=format_datetime(case.paused_since, locale, zone))
        if case.paused_since
        else _("running"),
    )
    try:
        history = onestop.cases.clock_history(user.username, case.dossier_code)
    except OneStopError as exc:
        st.error(exc.message)
        return
    if history:
        kinds = event_labels(_)
        st.dataframe(
            [
                {
                    _("When"): format_datetime(h.at, locale, zone),
                    _("User name"): h.actor,
                    _("Event"): kinds.get(h.kind, h.kind),
                    _("Deadline"): _day(h.due_date, locale) if h.due_date else "",
                    _("Before"): _day(h.previous_due_date, locale) if h.previous_due_date else "",
                    _("Reason"): h.reason or "",
                    _("Apology letter"): h.apology_ref or "",
                }
                for h in history
            ],
            hide_index=True,
            width="stretch",
        )
    if case.status != "running" or case.due_date is None:
        return
    roles = roles_of(user)
    if roles & EXTEND_ROLES:
        _extension_form(onestop, user, case, _)
    if roles & PAUSE_ROLES:
        _pause_form(onestop, user, case, _)


def _extension_form(onestop: OneStop, user: UserView, case: CaseView, _: Callable[[str], str]) -> None:
    assert case.due_date is not None
    with st.form("case.extend"):
        st.markdown(_("**Extend the deadline** — the applicant is told the new date and the reason."))
        new_date = st.date_input(
            _("New deadline"),
            value=case.due_date + timedelta(days=7),
            min_value=case.due_date + timedelta(days=1),
        )
        reason = st.text_area(_("Reason"), max_chars=1000)
        apology = st.text_input(_("Apology letter reference"), max_chars=100)
        if st.form_submit_button(_("Extend")):
            _run(
                lambda: onestop.cases.extend_deadline(
                    user.username,
                    case.dossier_code,
                    new_date,  # type: ignore[arg-type]
                    reason,
                    now(),
                    apology_ref=apology or None,
                    expected_version=case.version,
                ),
                _("Deadline extended."),
            )


def _pause_form(onestop: OneStop, user: UserView, case: CaseView, _: Callable[[str], str]) -> None:
    if case.paused_since is not None:
        if st.button(_("Restart the clock"), key="case.resume"):
            _run(
                lambda: onestop.cases.resume_clock(user.username, case.dossier_code, now(), case.version),
                _("The clock runs again."),
            )
        return
    with st.form("case.pause"):
        reason = st.text_input(_("Why the clock stops"), max_chars=1000)
        if st.form_submit_button(_("Stop the clock")):
            _run(
                lambda: onestop.cases.pause_clock(
                    user.username, case.dossier_code, reason, now(), case.version
                ),
                _("The clock is stopped."),
            )


def _run(command: Callable[[], object], done: str) -> None:
    try:
        command()
    except OneStopError as exc:
        st.error(exc.message)
    else:
        st.session_state["case.notice"] = done
        st.rerun()


def _day(value: object, locale: str) -> str:
    return format_date(value, locale) if isinstance(value, date) else "—"
