"""Dashboard: on-time figures, nearly-late cases, step durations and open data.

Every figure comes from ``onestop.sla`` (which decides what the user may see); this page
only picks the period and draws.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import streamlit as st

from designer.diagram import render_svg
from designer.diagram_shapes import heat_colour
from engine.errors import OneStopError
from engine.open_data import open_data_csv, summary_csv
from engine.views import SlaRow, SlaSummary, StepDuration
from runtime.audit.periods import home_zone
from runtime.i18n import format_date
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

OUTCOME_COLOURS = {"early": "#1e8e3e", "on_time": "#8ab4f8", "late": "#d93025"}

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
moment = now()

st.title(_("Dashboard"))
if not user.grants:
    st.warning(_("The dashboard needs a role in some unit; ask an administrator for one."))
    st.stop()

units = onestop.directory.units()
zone = home_zone(user, units)
today = moment.astimezone(ZoneInfo(zone)).date()
outcome_names = {"early": _("Early"), "on_time": _("On time"), "late": _("Late")}
period_names = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_year": _("This year"),
    "custom": _("Custom dates"),
}


def period_bounds(choice: str) -> tuple[date, date]:
    """``[start, end)`` local days of the chosen period."""
    first_of_month = today.replace(day=1)
    if choice == "this_month":
        return first_of_month, (first_of_month + timedelta(days=32)).replace(day=1)
    if choice == "last_month":
        return (first_of_month - timedelta(days=1)).replace(day=1), first_of_month
    if choice == "this_year":
        return date(today.year, 1, 1), date(today.year + 1, 1, 1)
    first = st.session_state.get("dashboard.from") or first_of_month
    last = st.session_state.get("dashboard.to") or today
    return first, last + timedelta(days=1)


def outcome_chart(rows: tuple[SlaRow, ...], axis: str, title: str) -> alt.Chart:
    """Stacked early / on time / late bars, one per row (month or unit)."""
    data = [
        {axis: row.label, _("Outcome"): outcome_names[key], _("Cases"): getattr(row, key), "order": index}
        for row in rows
        for index, key in enumerate(OUTCOME_COLOURS)
    ]
    colour = alt.Color(
        f"{_('Outcome')}:N",
        scale=alt.Scale(
            domain=[outcome_names[k] for k in OUTCOME_COLOURS], range=list(OUTCOME_COLOURS.values())
        ),
    )
    return (
        alt.Chart(alt.Data(values=data), title=title)
        .mark_bar()
        .encode(x=f"{axis}:N", y=f"sum({_('Cases')}):Q", color=colour, order="order:Q")
    )


def show_metrics(summary: SlaSummary) -> None:
    total = summary.total
    first = st.columns(4)
    first[0].metric(_("Received"), total.received)
    first[1].metric(_("Carried over"), total.carried_over)
    first[2].metric(_("Processed"), total.processed)
    first[3].metric(_("Withdrawn"), total.withdrawn)
    second = st.columns(4)
    second[0].metric(_("Early"), total.early)
    second[1].metric(_("On time"), total.on_time)
    second[2].metric(_("Late"), total.late)
    second[3].metric(_("Late and still open"), total.late_open)
    third = st.columns(4)
    third[0].metric(_("On-time rate"), percent(total.on_time_rate))
    third[1].metric(_("Late rate"), percent(total.late_rate))
    third[2].metric(_("To process"), total.to_process)
    third[3].metric(_("No deadline"), total.no_deadline)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def show_steps(steps: list[StepDuration], procedure: str) -> None:
    """The step table and the procedure drawn with median hours as badges and heat."""
    st.dataframe(
        [
            {
                _("Step"): s.name,
                _("Completed"): s.completed,
                _("Median hours"): s.median_hours,
                _("90th percentile hours"): s.p90_hours,
                _("Open now"): s.open_now,
                _("Late now"): s.late_open_now,
            }
            for s in steps
        ],
        hide_index=True,
        use_container_width=True,
    )
    medians = {s.element_id: s.median_hours for s in steps if s.median_hours is not None}
    slowest = max(medians.values(), default=0.0)
    try:
        diagram = onestop.sla.process_diagram(user.username, procedure)
        svg = render_svg(
            diagram.bpmn,
            file=diagram.file,
            numbers=medians,
            heat={k: v / slowest for k, v in medians.items()} if slowest > 0 else None,
            title=procedure,
        )
    except OneStopError as exc:
        st.info(exc.message)
        return
    st.markdown(svg, unsafe_allow_html=True)
    legend = (
        f'<div style="display:flex;gap:8px;align-items:center;font-size:0.85em">'
        f'<span style="width:18px;height:12px;background:{heat_colour(0)}"></span>'
        f'<span style="width:18px;height:12px;background:{heat_colour(0.5)}"></span>'
        f'<span style="width:18px;height:12px;background:{heat_colour(1)}"></span></div>'
    )
    st.markdown(legend, unsafe_allow_html=True)
    st.caption(_("Badges: median hours per step. Colour: pale yellow for the fastest, red for the slowest."))


procedures = sorted({v.procedure_code for v in onestop.procedures.list_versions()})
filters = st.columns(3)
procedure = filters[0].selectbox(
    _("Procedure"), ["", *procedures], key="dashboard.procedure", format_func=lambda p: p or _("All")
)
unit = filters[1].selectbox(
    _("Unit"), ["", *(u.code for u in units)], key="dashboard.unit", format_func=lambda c: c or _("All")
)
period = filters[2].selectbox(
    _("Period"), list(period_names), key="dashboard.period", format_func=period_names.__getitem__
)
if period == "custom":
    dates = st.columns(2)
    dates[0].date_input(_("From"), value=today.replace(day=1), key="dashboard.from")
    dates[1].date_input(_("To"), value=today, key="dashboard.to")
start, end = period_bounds(period)
st.caption(
    _("From {start} to {end}, days in {zone}.").format(
        start=format_date(start, locale), end=format_date(end - timedelta(days=1), locale), zone=zone
    )
)

try:
    summary = onestop.sla.summary(
        user.username,
        start=start,
        end=end,
        zone=zone,
        now=moment,
        procedure=procedure or None,
        unit=unit or None,
    )
    nearly = onestop.sla.nearly_late(
        user.username,
        now=moment,
        threshold=timedelta(hours=onestop.settings.nearly_late_hours),
        procedure=procedure or None,
        unit=unit or None,
    )
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

show_metrics(summary)
charts = st.columns(2)
charts[0].altair_chart(
    outcome_chart(summary.by_month, _("Month"), _("Processed per month")), use_container_width=True
)
charts[1].altair_chart(
    outcome_chart(summary.by_unit, _("Unit"), _("Processed per unit")), use_container_width=True
)
st.download_button(
    _("Download the summary by unit (CSV)"),
    summary_csv(summary.by_unit),
    file_name=f"sla-{start.isoformat()}-{end.isoformat()}.csv",
    mime="text/csv",
    key="dashboard.summary_csv",
)

st.subheader(_("Nearly late"))
if nearly:
    st.dataframe(
        [
            {
                _("Dossier code"): c.dossier_code,
                _("Procedure"): c.procedure,
                _("Unit"): c.unit,
                _("Step"): c.current_step,
                _("Due date"): format_date(c.due_date, locale) if c.due_date else "",
                _("Hours left"): c.hours_left,
            }
            for c in nearly
        ],
        hide_index=True,
        use_container_width=True,
    )
else:
    st.info(_("No open case is nearly late."))

st.subheader(_("Step durations"))
if not procedure:
    st.info(_("Choose a procedure to see how long its steps take."))
else:
    try:
        steps = onestop.sla.step_durations(
            user.username, start=start, end=end, zone=zone, now=moment, procedure=procedure, unit=unit or None
        )
    except OneStopError as exc:
        st.error(exc.message)
    else:
        show_steps(steps, procedure)

st.subheader(_("Open data"))
st.caption(_("Monthly figures per procedure and unit; counts below 5 are hidden (written <5)."))
last_day = end - timedelta(days=1)
try:
    open_rows = onestop.sla.monthly_open_data(
        user.username, first_month=start, last_month=last_day, procedure=procedure or None
    )
except OneStopError as exc:
    st.error(exc.message)
else:
    st.download_button(
        _("Download the monthly open data (CSV)"),
        open_data_csv(open_rows),
        file_name=f"sla-open-data-{start:%Y-%m}-{last_day:%Y-%m}.csv",
        mime="text/csv",
        key="dashboard.open_data_csv",
    )
