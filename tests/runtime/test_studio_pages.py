"""The builder and test-run pages through Streamlit's AppTest."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from engine import OneStop
from runtime.demo import PASSWORD
from tests.runtime.conftest import APP, open_page

SMALL_SPEC = """\
code: street_vending
name: {en: Street vending permit, th: ใบอนุญาตจำหน่ายสินค้าในที่สาธารณะ}
time_limit_days: 5
steps:
  - {id: check_request, role: intake_officer, name_en: Check the request, fields: "complete:boolean!", allowance_days: 1}
  - {id: decide, kind: approval, role: approver, name_en: Decide, allowance_days: 2}
  - {id: hand_over, role: intake_officer, name_en: Hand over the permit}
"""


def page(onestop: OneStop, path: str, username: str = "dao", **state: object) -> AppTest:
    return open_page(onestop, path, username, **state)


def svg_of(app: AppTest) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("<svg"))


def apply_yaml(app: AppTest, text: str) -> AppTest:
    area = next(t for t in app.text_area if str(t.key).startswith("studio.builder.yaml."))
    area.input(text).run()
    app.button(key="studio.builder.apply_yaml").click().run()
    assert not app.exception, app.exception
    return app


# --- builder -------------------------------------------------------------------------------


def test_the_builder_opens_on_an_example_with_its_table_preview_and_no_errors(seeded: OneStop) -> None:
    app = page(seeded, "studio/builder.py")

    table = app.data_editor[0].value
    assert list(table["id"])[:2] == ["receive_dossier", "request_supplement"]
    assert set(table["kind"]) == {"task", "supplement", "decision", "approval"}
    assert not [e.value for e in app.error if "errors," in e.value]  # no error findings
    assert 'data-element-id="receive_dossier"' in svg_of(app)


def test_a_spec_written_as_yaml_becomes_a_published_procedure(seeded: OneStop) -> None:
    app = apply_yaml(page(seeded, "studio/builder.py"), SMALL_SPEC)

    assert list(app.data_editor[0].value["id"]) == ["check_request", "decide", "hand_over"]
    svg = svg_of(app)
    assert 'data-element-id="check_request"' in svg and 'data-element-id="decide"' in svg
    app.checkbox(key="studio.builder.publish").check().run()
    app.button(key="studio.builder.import").click().run()

    assert not app.exception
    assert app.title[0].value == "Street vending permit · v1"  # on the version page
    stored = [v for v in seeded.procedures.list_versions() if v.procedure_code == "street_vending"]
    assert [(v.status, v.created_by, v.published_by) for v in stored] == [("published", "dao", "dao")]
    case = seeded.cases.start_case("somchai", "street_vending", "TH.50.01", datetime.now(UTC))
    assert [i.element_id for i in case.open_items] == ["check_request"]


def test_a_broken_yaml_spec_shows_where_and_keeps_the_current_spec(seeded: OneStop) -> None:
    broken = SMALL_SPEC.replace("time_limit_days: 5", "time_limit_days: five")
    app = apply_yaml(page(seeded, "studio/builder.py"), broken)

    findings = app.dataframe[-1].value
    assert "spec.yaml:3" in " ".join(findings["Where"])
    assert "time_limit_days" in " ".join(findings["Message"])
    assert app.data_editor[0].value["id"].iloc[0] == "receive_dossier"  # the example is still there


def test_the_builder_hands_its_procedure_to_the_test_run_without_importing_it(seeded: OneStop) -> None:
    app = apply_yaml(page(seeded, "studio/builder.py"), SMALL_SPEC)
    app.button(key="studio.builder.test_run").click().run()

    assert app.title[0].value == "Test-run"
    assert app.selectbox(key="studio.trial_choice").value == "builder"
    app.switch_page("studio/test_run.py")  # AppTest stays on its page unless told
    app.button(key="studio.trial_start").click().run()
    assert app.radio(key="studio.trial_task").options == ["Check the request · intake_officer"]
    assert not [v for v in seeded.procedures.list_versions() if v.procedure_code == "street_vending"]


# --- test-run ------------------------------------------------------------------------------


def complete_step(app: AppTest, **values: bool) -> AppTest:
    for name, value in values.items():
        box = next(c for c in app.checkbox if str(c.key).endswith(f".{name}"))
        box.set_value(value)
    next(b for b in app.button if b.label == "Complete this step").click().run()
    assert not app.exception, app.exception
    return app


def test_a_version_is_driven_along_the_supplement_timeout_path_in_memory(seeded: OneStop) -> None:
    app = page(seeded, "studio/test_run.py", **{"studio.trial_target": ("building_permit", 1)})
    app.button(key="studio.trial_start").click().run()
    assert app.radio(key="studio.trial_task").options == ["Check completeness · intake_officer"]

    complete_step(app, documents_complete=False)
    assert app.radio(key="studio.trial_task").value == "request_supplement#1"
    complete_step(app)
    clock = app.button(key="studio.trial_clock")
    assert clock.label.startswith("Move the clock to")
    assert any(b.key == "studio.trial_message.documents_supplied" for b in app.button)
    clock.click().run()

    assert not app.exception
    assert any(s.value.startswith("The run reached its end: end_returned_no_supplement") for s in app.success)
    events = list(app.dataframe[-1].value["Event"])
    assert events.count("Step completed") == 2 and "Timers due" in events
    assert 'data-element-id="timer_supplement_deadline"' in svg_of(app)
    assert all(v.running_cases == 0 for v in seeded.procedures.list_versions())  # no case was made


def test_a_refused_submission_shows_the_fields_and_keeps_the_step_open(seeded: OneStop) -> None:
    app = page(seeded, "studio/test_run.py", **{"studio.trial_target": ("building_permit", 1)})
    app.button(key="studio.trial_start").click().run()
    name = next(t for t in app.text_input if str(t.key).endswith(".applicant_name"))
    name.set_value("")
    complete_step(app)

    assert any("applicant_name" in e.value or "required" in e.value.lower() for e in app.error)
    assert app.radio(key="studio.trial_task").value == "check_completeness#1"


def test_work_roles_do_not_get_the_builder_or_the_test_run(seeded: OneStop) -> None:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["auth.user"] = seeded.accounts.authenticate("lan", PASSWORD, datetime.now(UTC))
    app.run()
    for path in ("studio/builder.py", "studio/test_run.py", "studio/upload.py"):
        try:
            app.switch_page(path)
        except ValueError as exc:
            assert "Could not find a navigation page" in str(exc)
        else:
            raise AssertionError(f"{path} is offered to an auditor")
