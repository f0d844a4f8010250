"""Calendars: each jurisdiction's weekends, working hours and public holidays, edited by
administrators. Every save is a new revision with its reason; cases keep the revision
their deadlines were computed on, so an edit changes deadlines from then on only."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import streamlit as st

from engine.calendar_files import WEEKDAY_NAMES, CalendarData, parse_calendar_text
from engine.errors import OneStopError
from runtime.i18n import format_date, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user, roles_of

_ = gettext()
user = require_user()
if "admin" not in roles_of(user):
    st.error(_("You have no role that can see this page."))
    st.stop()
onestop = get_onestop()
locale = current_locale()
st.title(_("Calendars"))
st.caption(
    _(
        "Weekends, working hours and public holidays of each country. A save adds a revision; "
        "cases keep the revision their deadlines were computed on."
    )
)
if notice := st.session_state.pop("calendars.notice", None):
    st.success(notice)

stored = {view.country: view for view in onestop.calendars.countries()}
countries = sorted(set(stored) | {unit.country for unit in onestop.directory.units()})
country = st.selectbox(_("Country"), countries, key="calendars.country")
current = stored.get(country)
if current is None:
    st.warning(
        _("No calendar is stored for {country}: deadlines count Monday to Friday only.").format(
            country=country
        )
    )
else:
    st.caption(
        _("Revision {id} saved by {who} on {when}: {reason}").format(
            id=current.id,
            who=current.created_by,
            when=format_datetime(current.created_at, locale, current.data.timezone),
            reason=current.reason,
        )
    )


def _rows(days: Any) -> list[dict[str, Any]]:
    return [
        {
            "date": day.date,
            "en": day.name.get("en", ""),
            "th": day.name.get("th", ""),
            "vi": day.name.get("vi", ""),
        }
        for day in sorted(days, key=lambda d: d.date)
    ]


def _days(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    days = []
    for row in rows:
        when = row.get("date")
        if not when:
            continue
        names = {lang: str(row.get(lang) or "").strip() for lang in ("en", "th", "vi")}
        days.append({"date": str(when)[:10], "name": {k: v for k, v in names.items() if v}})
    return days


def _day_table(days: Any, key: str) -> list[dict[str, Any]]:
    """An editable table of days (date and names in three languages); rows may be added."""
    edited = st.data_editor(
        _rows(days),
        num_rows="dynamic",
        column_config={"date": st.column_config.DateColumn(_("Date"), required=True)},
        key=key,
        width="stretch",
    )
    return list(edited)


def _save(data: dict[str, Any] | CalendarData, reason: str) -> None:
    try:
        revision = onestop.calendars.save(user.username, data, reason, now())
    except OneStopError as exc:
        st.error(exc.message)
        for problem in exc.details.get("problems", [])[1:]:
            st.caption(problem)
    else:
        st.session_state["calendars.notice"] = _("Saved revision {id}.").format(id=revision.id)
        st.rerun()


data = current.data if current is not None else None
edit, check, upload, history = st.tabs([_("Edit"), _("Try a date"), _("Import a file"), _("Revisions")])
with edit:
    if data is None:
        st.info(_("Import a calendar file for this country first."))
    else:
        opening, closing = st.columns(2)
        start = opening.time_input(
            _("Offices open"), time.fromisoformat(data.working_hours.start), key="calendars.open"
        )
        end = closing.time_input(
            _("Offices close"), time.fromisoformat(data.working_hours.end), key="calendars.close"
        )
        weekend = st.multiselect(
            _("Weekend"), WEEKDAY_NAMES, default=list(data.weekend), key="calendars.weekend"
        )
        st.markdown(_("**Public holidays** (add a row for a newly declared day off)"))
        holidays = _day_table(data.holidays, "calendars.holidays")
        st.markdown(_("**Working days on a weekend** (swapped days)"))
        working = _day_table(data.working_days, "calendars.working")
        reason = st.text_input(_("Reason for the change"), key="calendars.reason", max_chars=500)
        if st.button(_("Save a new revision"), key="calendars.save", disabled=not reason.strip()):
            edited = data.model_dump(mode="json")
            edited.update(
                weekend=weekend,
                working_hours={"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")},
                holidays=_days(holidays),
                working_days=_days(working),
            )
            _save(edited, reason)
with check:
    if data is None:
        st.info(_("Import a calendar file for this country first."))
    else:
        calendar = data.to_calendar()
        left, middle, right = st.columns(3)
        received_day = left.date_input(_("Received on"), value=date.today(), key="calendars.try_day")
        received_time = middle.time_input(_("at"), value=time(10, 0), key="calendars.try_time")
        days = right.number_input(_("Days"), min_value=0, max_value=365, value=15, key="calendars.try_days")
        day_type = st.radio(
            _("Counting"),
            ["working", "calendar"],
            format_func=lambda t: _("working days") if t == "working" else _("calendar days"),
            horizontal=True,
            key="calendars.try_type",
        )
        received = datetime.combine(received_day, received_time, tzinfo=calendar.zone)  # type: ignore[arg-type]
        due = calendar.due_date(received, int(days), day_type)  # type: ignore[arg-type]
        st.metric(_("Due on"), format_date(due, locale))
        st.caption(
            _("Counting starts on {day}.").format(day=format_date(calendar.counting_start(received), locale))
        )
with upload:
    file = st.file_uploader(_("Calendar file (YAML)"), type=["yaml", "yml"], key="calendars.file")
    reason = st.text_input(_("Reason for the change"), key="calendars.file_reason", max_chars=500)
    if file is not None and st.button(_("Import"), key="calendars.import", disabled=not reason.strip()):
        try:
            parsed = parse_calendar_text(file.getvalue().decode("utf-8", errors="replace"), file.name)
        except OneStopError as exc:
            st.error(exc.message)
        else:
            _save(parsed, reason)
with history:
    st.dataframe(
        [
            {
                "#": view.id,
                _("When"): format_datetime(view.created_at, locale, view.data.timezone),
                _("User name"): view.created_by,
                _("Reason"): view.reason,
                _("Holidays"): len(view.data.holidays),
            }
            for view in onestop.calendars.history(country)
        ],
        hide_index=True,
        width="stretch",
    )
