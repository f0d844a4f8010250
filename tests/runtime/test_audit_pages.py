"""The auditor pages through Streamlit's AppTest: replay, audit and the access log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from engine import OneStop
from runtime.cli import main
from runtime.demo import PASSWORD
from tests.runtime.conftest import APP, open_page
from tests.runtime.test_workbench import INTAKE

AUDIT_PAGES = ("audit/replay.py", "audit/audit.py", "audit/access_log.py")


def case_after_intake(onestop: OneStop) -> str:
    """A permit case whose intake step somchai completed with the applicant's data."""
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", datetime.now(UTC))
    onestop.cases.complete("somchai", case.open_items[0].id, datetime.now(UTC), INTAKE)
    return case.dossier_code


def replay_page(onestop: OneStop, code: str, username: str = "lan") -> AppTest:
    return open_page(onestop, "audit/replay.py", username, **{"audit.replay.code": code})


def state_of(app: AppTest, element: str) -> str:
    """The state class the drawn diagram gives ``element``."""
    svg = next(m.value for m in app.markdown if "onestop-bpmn" in m.value)
    found = re.search(rf'<g class="([^"]*)" data-element-id="{element}"', svg)
    assert found, element
    return next(s for s in ("not-reached", "active", "completed") if s in found.group(1).split())


def shown_data(app: AppTest) -> dict[str, object]:
    return json.loads(app.json[0].value)


@pytest.mark.parametrize(
    ("username", "offered"), [("somchai", False), ("dao", False), ("lan", True), ("admin", True)]
)
def test_audit_pages_are_offered_to_auditors_and_admins_only(
    seeded: OneStop, username: str, offered: bool
) -> None:
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["auth.user"] = seeded.accounts.authenticate(username, PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = "en"
    app.run()
    for path in AUDIT_PAGES:
        if offered:
            app.switch_page(path).run()
            assert not app.exception and not app.error, path
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                app.switch_page(path)


def test_the_slider_and_buttons_move_through_the_diagram_and_data(seeded: OneStop) -> None:
    code = case_after_intake(seeded)
    app = replay_page(seeded, code)

    assert app.subheader[0].value == "#1 · Case received"
    assert state_of(app, "check_completeness") == "not-reached"
    assert "floor_area" not in shown_data(app)
    kinds = [e.kind for e in seeded.queries.events("system", code)]
    ready, done = kinds.index("task_ready") + 1, kinds.index("task_completed") + 1

    app.select_slider(key="audit.replay.seq").set_value(ready).run()
    assert state_of(app, "check_completeness") == "active"
    app.button(key="audit.replay.next").click().run()
    assert app.select_slider(key="audit.replay.seq").value == ready + 1
    app.select_slider(key="audit.replay.seq").set_value(done).run()
    assert not app.exception
    assert state_of(app, "check_completeness") == "completed"
    assert shown_data(app)["floor_area"] == 120
    changes = app.dataframe[0].value
    row = changes[changes["Field"] == "floor_area"].iloc[0]
    assert (row["Before"], row["After"]) == ("—", "120")
    app.button(key="audit.replay.previous").click().run()
    assert app.select_slider(key="audit.replay.seq").value == done - 1


def test_personal_values_are_masked_until_revealed_with_a_purpose_and_the_read_is_logged(
    seeded: OneStop,
) -> None:
    code = case_after_intake(seeded)
    # An auditor who also works intake in the case's unit: the one kind of reader whose
    # role needs the applicant's identity and who is offered the audit pages.
    seeded.directory.ensure_user(
        username="lan", display_name="Lan", grants=[("auditor", "TH.50"), ("intake_officer", "TH.50.01")]
    )
    app = replay_page(seeded, code)
    app.select_slider(key="audit.replay.seq").set_value(len(seeded.queries.events("system", code))).run()
    assert shown_data(app)["national_id"] == "•••0074"
    assert app.button(key="audit.replay.reveal").disabled

    app.text_input(key="audit.replay.purpose").input("complaint about this permit").run()
    app.button(key="audit.replay.reveal").click().run()
    assert not app.exception
    assert shown_data(app)["national_id"] == INTAKE["national_id"]

    log = app.switch_page("audit/access_log.py").run()
    table = log.dataframe[0].value
    assert list(table["Dossier code"]) == [code]
    assert list(table["Purpose"]) == ["complaint about this permit"]
    assert "national_id" in table["Fields"][0] and list(table["Reader"]) == ["lan"]


def test_an_auditor_without_the_role_sees_masked_values_even_with_a_purpose(seeded: OneStop) -> None:
    code = case_after_intake(seeded)
    app = replay_page(seeded, code)
    app.text_input(key="audit.replay.purpose").input("annual audit").run()
    app.button(key="audit.replay.reveal").click().run()
    app.select_slider(key="audit.replay.seq").set_value(len(seeded.queries.events("system", code))).run()

    assert shown_data(app)["national_id"] == "•••0074"
    assert any("national_id" in c.value for c in app.caption)
    assert seeded.access_log.entries("lan").total == 0


def test_verify_this_case_shows_an_honest_case_verifies(seeded: OneStop) -> None:
    app = replay_page(seeded, case_after_intake(seeded))
    app.button(key="audit.replay.verify").click().run()

    assert not app.exception and not app.error
    assert [s.value for s in app.success] == ["The recorded history of this case verifies."]


def test_verify_all_cases_reports_what_it_checked(seeded: OneStop) -> None:
    case_after_intake(seeded)
    app = open_page(seeded, "audit/audit.py", "lan")
    app.button(key="audit.verify_all").click().run()

    assert not app.exception and not app.error
    assert "Every recorded history verifies." in app.success[0].value
    assert "Checked 1 case(s)" in app.success[0].value


def test_an_unknown_dossier_code_is_said_so(seeded: OneStop) -> None:
    app = replay_page(seeded, "TH.50.01-000000-9999")
    assert next(e.value for e in app.error).startswith("no case with dossier code")


def test_the_command_line_lists_the_access_log(seeded: OneStop, capsys: pytest.CaptureFixture[str]) -> None:
    code = case_after_intake(seeded)
    seeded.queries.case_data("somchai", code, "applicant at the counter", datetime.now(UTC))
    capsys.readouterr()

    assert main(["audit", "access", "--case", code, "--as", "lan"]) == 0
    out = capsys.readouterr().out
    assert "somchai" in out and code in out and "applicant at the counter" in out
    assert main(["audit", "access", "--as", "niran"]) == 1
    assert "may not read the access log" in capsys.readouterr().err


def test_an_event_log_export_is_offered_for_download(seeded: OneStop) -> None:
    case_after_intake(seeded)
    app = open_page(seeded, "audit/audit.py", "lan")
    app.selectbox(key="audit.export.format").set_value("csv")
    next(b for b in app.button if b.label == "Prepare the export").click().run()

    assert not app.exception and not app.error
    assert app.get("download_button")
    assert app.session_state["audit.export.file"][0] == "building_permit.csv"
    assert code_in(app.session_state["audit.export.file"][2], seeded)


def code_in(content: bytes, onestop: OneStop) -> bool:
    codes = [c.dossier_code for c in onestop.queries.recent_cases("system")]
    return all(code.encode() in content for code in codes)
