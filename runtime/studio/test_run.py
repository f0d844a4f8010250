"""Test-run: drive a draft (or any stored version, or the builder's procedure) through a
chosen path with sample data, step by step, in memory — no case is created or changed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import streamlit as st

from designer.diagram import ElementState
from designer.sample_data import path_choices, sample_data
from engine import PackageFiles
from engine.errors import FormInvalid, OneStopError
from engine.trial_run import next_timer_due
from engine.views import TrialTask, TrialView
from runtime.event_labels import event_labels
from runtime.form_widgets import draw_form
from runtime.i18n import format_datetime
from runtime.package_views import draw_diagram, home_zone, status_names
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user

BUILDER = "builder"
STEP_PAUSE = timedelta(minutes=5)  # the trial clock moves this much per completed step

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
zone = home_zone(onestop, user)
labels = event_labels(_)
statuses = status_names(_)

st.title(_("Test-run"))
st.caption(_("Runs in memory with sample data: no case is created and nothing is recorded."))

built: PackageFiles | None = st.session_state.get("studio.trial_files")
versions = {f"{v.procedure_code}:{v.version}": v for v in onestop.procedures.list_versions()}
options = ([BUILDER] if built is not None else []) + list(versions)
if not options:
    st.info(_("No procedure has been imported yet."))
    st.stop()
target = st.session_state.pop("studio.trial_target", None)
if target is not None and f"{target[0]}:{target[1]}" in versions:
    st.session_state["studio.trial_choice"] = f"{target[0]}:{target[1]}"
choice = st.selectbox(
    _("Procedure version"),
    options,
    key="studio.trial_choice",
    format_func=lambda o: (
        _("The procedure in the builder")
        if o == BUILDER
        else f"{o.replace(':', ' v')} · {statuses[versions[o].status]}"
    ),
)
try:
    if choice == BUILDER and built is not None:
        files = built
    else:
        code, number = choice.rsplit(":", 1)
        files = onestop.procedures.package_files(user.username, code, int(number))
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

held = st.session_state.get("studio.trial")
trial: TrialView | None = held if isinstance(held, TrialView) and held.sha256 == files.sha256 else None


def run(command: Callable[[], TrialView]) -> None:
    """Apply one trial command; the page shows the new state, or why it was refused."""
    try:
        st.session_state["studio.trial"] = command()
    except FormInvalid as exc:
        by_field: dict[str, list[str]] = {}
        for error in exc.errors:
            by_field.setdefault(error.field.split(".")[0], []).append(error.message)
        st.session_state["studio.trial_errors"] = by_field
    except OneStopError as exc:
        st.session_state["studio.trial_refused"] = exc.message
    else:
        st.session_state.pop("studio.trial_errors", None)
    st.rerun()


if refused := st.session_state.pop("studio.trial_refused", None):
    st.error(refused)
if trial is None:
    if st.button(_("Start the test run"), key="studio.trial_start", type="primary"):
        run(lambda: onestop.trials.start(user.username, files, now(), {}))
    st.stop()
assert trial is not None


def diagram_states(trial: TrialView) -> dict[str, ElementState]:
    states: dict[str, ElementState] = {s.element_id: "completed" for s in trial.steps if s.element_id}
    for waiting in [*(t.element_id for t in trial.open_tasks), *(t.element_id for t in trial.pending_timers)]:
        states[waiting] = "active"
    return states


visits = Counter(s.element_id for s in trial.steps if s.kind == "task_ready" and s.element_id)
draw_diagram(files, states=diagram_states(trial), numbers={k: n for k, n in visits.items() if n > 1})
st.caption(_("Numbers on a step: how many times the run reached it."))

if trial.completed:
    st.success(_("The run reached its end: {ends}").format(ends=", ".join(trial.end_events) or "—"))


def draw_task(trial: TrialView, task: TrialTask) -> None:
    schema = task.form_schema or {"type": "object", "properties": {}}
    choices = path_choices(schema)
    if choices:
        st.caption(
            _("Fields that choose the path: {fields}").format(
                fields="; ".join(
                    f"{name} ({', '.join(map(str, values))})" for name, values in choices.items()
                )
            )
        )
    errors: dict[str, list[str]] = st.session_state.get("studio.trial_errors", {})
    with st.form(f"studio.trial_form.{task.ref}"):
        entry = draw_form(
            schema, key=f"studio.trial.{task.ref}", locale=locale, prefill=sample_data(schema), errors=errors
        )
        submitted = st.form_submit_button(_("Complete this step"), type="primary")
    if entry.files:
        st.caption(_("Files are not stored in a test run; sample references stand in for them."))
    if submitted:
        at = trial.clock + STEP_PAUSE
        run(partial(onestop.trials.complete, user.username, files, trial, task.ref, at, entry.values))


if trial.open_tasks:
    st.subheader(_("Open steps"))
    refs = {t.ref: t for t in trial.open_tasks}
    ref = st.radio(
        _("Step"),
        list(refs),
        key="studio.trial_task",
        format_func=lambda r: f"{refs[r].name} · {refs[r].role}",
        horizontal=True,
    )
    draw_task(trial, refs[ref or next(iter(refs))])

due = next_timer_due(trial)
waiting = st.columns(2)
if due is not None:
    when = format_datetime(due, locale, zone)
    if waiting[0].button(
        _("Move the clock to {when} and fire the timers").format(when=when), key="studio.trial_clock"
    ):
        run(partial(onestop.trials.fire_timers, user.username, files, trial, max(due, trial.clock)))
for message in trial.waiting_messages:
    label = _("Deliver the message '{message}'").format(message=message)
    if waiting[1].button(label, key=f"studio.trial_message.{message}"):
        run(
            partial(
                onestop.trials.deliver, user.username, files, trial, message, trial.clock + STEP_PAUSE, {}
            )
        )

st.subheader(_("Steps so far"))
st.dataframe(
    [
        {
            "#": s.seq,
            _("When"): format_datetime(s.at, locale, zone),
            _("Event"): labels.get(s.kind, s.kind),
            _("Step"): s.name or s.element_id or "",
            _("Role"): s.lane or "",
            _("Details"): json.dumps(s.detail, ensure_ascii=False, default=str) if s.detail else "",
        }
        for s in trial.steps
    ],
    hide_index=True,
    width="stretch",
)
with st.expander(_("Case data")):
    st.json(trial.data)
if st.button(_("Start again"), key="studio.trial_restart"):
    st.session_state.pop("studio.trial", None)
    st.session_state.pop("studio.trial_errors", None)
    st.rerun()
