"""The SLA dashboard page through AppTest, and ``onestop sla export``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from engine import SYSTEM_ACTOR, OneStop
from engine.open_data import OPEN_DATA_COLUMNS
from runtime.cli import main
from runtime.demo import PASSWORD
from tests.runtime.conftest import APP, open_page

PAGE = "workbench/dashboard.py"


def nearly_late_case(onestop: OneStop) -> str:
    """A permit received 44 days ago: due tomorrow, so due within the 48-hour threshold."""
    case = onestop.cases.start_case(
        "somchai", "building_permit", "TH.50.01", datetime.now(UTC) - timedelta(days=44)
    )
    return case.dossier_code


def test_the_auditor_sees_figures_the_nearly_late_table_and_downloads(seeded: OneStop) -> None:
    code = nearly_late_case(seeded)
    app = open_page(seeded, PAGE, "lan")
    assert not app.error
    labels = {m.label for m in app.metric}
    assert {"Received", "Carried over", "Processed", "Early", "On time", "Late"} <= labels
    assert {"On-time rate", "Late rate"} <= labels
    assert len(app.get("vega_lite_chart")) == 2
    table = app.dataframe[0].value
    assert list(table["Dossier code"]) == [code]
    assert "applicant" not in " ".join(table.columns).lower()
    assert len(app.get("download_button")) == 2


def test_choosing_a_procedure_draws_its_step_durations(seeded: OneStop) -> None:
    nearly_late_case(seeded)
    app = open_page(seeded, PAGE, "lan")
    app.selectbox(key="dashboard.procedure").set_value("building_permit").run()
    assert not app.exception and not app.error
    assert any("onestop-bpmn" in m.value for m in app.markdown)
    steps = app.dataframe[-1].value
    assert "Median hours" in steps.columns


def test_staff_see_their_units_and_bad_dates_are_reported(seeded: OneStop) -> None:
    app = open_page(seeded, PAGE, "somchai")
    app.selectbox(key="dashboard.unit").set_value("TH.50.02").run()
    assert not app.exception
    assert app.error  # no grant covers San Sai: said politely
    app.selectbox(key="dashboard.unit").set_value("").run()
    app.selectbox(key="dashboard.period").set_value("custom").run()
    app.date_input(key="dashboard.from").set_value(date(2026, 3, 10))
    app.date_input(key="dashboard.to").set_value(date(2026, 3, 1)).run()
    assert not app.exception
    assert "end after it starts" in app.error[0].value


def test_a_user_without_any_grant_is_not_offered_the_dashboard(seeded: OneStop) -> None:
    seeded.directory.ensure_user(username="visitor", display_name="Visitor", grants=[])
    seeded.accounts.set_password(SYSTEM_ACTOR, "visitor", PASSWORD)
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["auth.user"] = seeded.accounts.authenticate("visitor", PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = "en"
    app.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)


def test_sla_export_writes_open_data_csv(seeded: OneStop, tmp_path: Path) -> None:
    nearly_late_case(seeded)
    received = datetime.now(UTC) - timedelta(days=44)
    month = f"{received.astimezone(ZoneInfo('Asia/Bangkok')):%Y-%m}"
    out = tmp_path / "sla.csv"
    assert main(["sla", "export", "--from", month, "--to", month, "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(OPEN_DATA_COLUMNS)
    assert lines[1].startswith(f"{month},building_permit,TH.50.01,<5,")
    assert main(["sla", "export", "--from", "2026-13", "--to", month]) == 1
