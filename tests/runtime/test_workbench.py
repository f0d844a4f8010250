"""The staff workbench through Streamlit's AppTest, on a seeded SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from streamlit.testing.v1 import AppTest

from engine import OneStop
from engine.attachments import Upload
from engine.views import UserView
from runtime.demo import PASSWORD

APP = str(Path(__file__).resolve().parents[2] / "runtime" / "app.py")
INTAKE = {
    "applicant_name": "Somchai Jaidee",
    "national_id": "1101700230074",
    "phone": "0812345678",
    "plot_address": "12 Moo 3, Chang Phueak",
    "plot_title_deed_no": "1234",
    "floor_area": 120,
    "storeys": 2,
    "building_use": "residential",
    "documents_complete": True,
}


def signed_in(onestop: OneStop, username: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["auth.user"] = onestop.accounts.authenticate(username, PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = "en"
    return app


def start_case(onestop: OneStop, unit: str = "TH.50.01", starter: str = "somchai") -> str:
    return onestop.cases.start_case(starter, "building_permit", unit, datetime.now(UTC)).dossier_code


def test_sign_in_with_the_demo_password(seeded: OneStop) -> None:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception
    app.text_input(key="sign_in.username").input("somchai")
    app.text_input(key="sign_in.password").input(PASSWORD)
    app.button[0].click().run()
    assert not app.exception
    assert isinstance(app.session_state["auth.user"], UserView)
    app.run()
    assert app.title[0].value == "งานของฉัน"  # somchai's language is Thai: "My work"


def test_a_wrong_password_says_so_without_saying_which_part(seeded: OneStop) -> None:
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    app.text_input(key="sign_in.username").input("somchai")
    app.text_input(key="sign_in.password").input("not the password")
    app.button[0].click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Wrong user name or password."]
    assert "auth.user" not in app.session_state


def test_my_work_shows_exactly_the_items_of_my_roles_and_units(seeded: OneStop) -> None:
    mine = start_case(seeded, "TH.50.01")
    other = start_case(seeded, "TH.50.02", starter="malee")
    app = signed_in(seeded, "somchai")
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table["Dossier code"]) == [mine]
    assert other not in " ".join(table["Dossier code"])


def test_claim_from_my_work_shows_who_holds_the_item(seeded: OneStop) -> None:
    code = start_case(seeded)
    app = signed_in(seeded, "somchai")
    app.run()
    app.button(key="work.claim").click().run()
    assert not app.exception
    assert list(app.dataframe[0].value["Held by"]) == ["somchai"]
    assert seeded.queries.case("somchai", code).open_items[0].assignee == "somchai"


def open_task(seeded: OneStop, username: str, item_id: int) -> AppTest:
    app = signed_in(seeded, username)
    app.session_state["task.item"] = item_id
    app.run()
    app.switch_page("workbench/task.py").run()
    assert not app.exception
    return app


def test_invalid_data_shows_every_field_error_and_saves_nothing(seeded: OneStop) -> None:
    code = start_case(seeded)
    item = seeded.queries.case("somchai", code).open_items[0]
    app = open_task(seeded, "somchai", item.id)
    app.text_input(key=f"task.{item.id}.national_id").input("1234567890123")
    app.button[0].click().run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error)
    assert "national" in errors.lower() or "ID" in errors
    assert len(app.error) >= 5  # every missing required field is named at once
    after = seeded.queries.case("somchai", code)
    assert after.version == 1 and after.open_items[0].id == item.id


def test_valid_data_advances_the_case(seeded: OneStop) -> None:
    code = start_case(seeded)
    item = seeded.queries.case("somchai", code).open_items[0]
    app = open_task(seeded, "somchai", item.id)
    for name in ("applicant_name", "national_id", "phone", "plot_title_deed_no"):
        app.text_input(key=f"task.{item.id}.{name}").input(str(INTAKE[name]))
    app.text_area(key=f"task.{item.id}.plot_address").input(str(INTAKE["plot_address"]))
    app.number_input(key=f"task.{item.id}.floor_area").set_value(120)
    app.number_input(key=f"task.{item.id}.storeys").set_value(2)
    app.selectbox(key=f"task.{item.id}.building_use").set_value("residential")
    app.checkbox(key=f"task.{item.id}.documents_complete").check()
    app.button[0].click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    after = seeded.queries.case("somchai", code)
    assert [i.element_id for i in after.open_items] != ["check_completeness"]
    assert after.version > 1


def test_a_stale_completion_says_someone_else_was_first(seeded: OneStop) -> None:
    code = start_case(seeded)
    item = seeded.queries.case("somchai", code).open_items[0]
    app = open_task(seeded, "somchai", item.id)
    # Meanwhile a colleague completes the same step.
    seeded.directory.ensure_user(
        username="somsri", display_name="Somsri", grants=[("intake_officer", "TH.50.01")]
    )
    seeded.cases.complete("somsri", item.id, datetime.now(UTC), INTAKE)
    app.button[0].click().run()
    assert not app.exception
    assert any("someone else" in w.value for w in app.warning)


def case_page_after_intake(
    seeded: OneStop, username: str, files: dict[str, list[Upload]] | None = None
) -> tuple[AppTest, str]:
    """The Case page, as ``username`` sees it, of a case whose intake step is complete."""
    code = start_case(seeded)
    item = seeded.queries.case("somchai", code).open_items[0]
    seeded.cases.complete("somchai", item.id, datetime.now(UTC), INTAKE, files=files)
    app = signed_in(seeded, username)
    app.session_state["case.code"] = code
    app.run()
    app.switch_page("workbench/case.py").run()
    return app, code


def test_the_case_page_draws_the_diagram_and_the_timeline(seeded: OneStop) -> None:
    app, code = case_page_after_intake(seeded, "somchai")
    assert not app.exception
    svg = next(m.value for m in app.markdown if m.value.startswith("<svg"))
    classes = {
        group.get("data-element-id"): group.get("class", "").split()
        for group in etree.fromstring(svg.encode()).iter("{*}g")
        if group.get("data-element-id")
    }
    assert "completed" in classes["check_completeness"]
    active = seeded.queries.case("somchai", code).open_items[0].element_id
    assert "active" in classes[active]
    assert "not-reached" in classes["issue_permit"]
    history = next(d.value for d in app.dataframe if "Changes" in d.value.columns)  # not the deadline's
    assert history["Event"].iloc[0] == "Case received"
    assert "Step completed" in list(history["Event"])
    changes = " ".join(history["Changes"])
    assert "floor_area: 120" in changes and "building_use: residential" in changes  # data diffs
    assert "national_id: •••0074" in changes  # personal values masked for everyone here
    assert "1101700230074" not in svg + " ".join(map(str, history.values.ravel()))


def test_the_case_page_lists_documents_and_keeps_personal_ones_from_roles_without_need(
    seeded: OneStop,
) -> None:
    files = {
        "id_card_copy": [Upload("card.pdf", b"%PDF-1.4 card")],
        "building_plans": [Upload("plan.pdf", b"%PDF-1.4 plan")],
    }
    app, _ = case_page_after_intake(seeded, "niran", files)
    assert not app.exception
    shown = " ".join(m.value for m in app.markdown)
    assert "card\\.pdf" in shown and "plan\\.pdf" in shown
    captions = [c.value for c in app.caption]
    assert captions.count("Personal data your role does not need") == 1
    assert any("Uploaded by somchai" in c and "building_plans" in c for c in captions)


def test_personal_data_needs_a_purpose_and_the_read_is_logged(seeded: OneStop) -> None:
    app, _ = case_page_after_intake(seeded, "somchai")
    assert app.button(key="case.show_data").disabled
    assert not app.json
    app.text_input(key="case.purpose").input("applicant phoned about progress").run()
    app.button(key="case.show_data").click().run()
    assert not app.exception
    assert "1101700230074" in app.json[0].value
    with seeded.db.engine.connect() as connection:
        from sqlalchemy import text

        purposes = connection.execute(text("SELECT purpose FROM access_log")).scalars().all()
    assert purposes == ["applicant phoned about progress"]


def test_cases_search_finds_only_visible_cases_and_applicant_search_needs_a_purpose(seeded: OneStop) -> None:
    mine = start_case(seeded)
    start_case(seeded, "TH.50.02", starter="malee")
    app = signed_in(seeded, "somchai")
    app.run()
    app.switch_page("workbench/cases.py").run()
    assert not app.exception
    assert list(app.dataframe[0].value["Dossier code"]) == [mine]
    app.text_input(key="cases.applicant").input("somchai")
    app.button[0].click().run()  # Search, without a purpose
    assert any("purpose" in e.value for e in app.error)
    app.text_input(key="cases.purpose").input("applicant at the counter")
    app.button[0].click().run()
    assert not app.exception
    assert not app.error


def test_personal_fields_are_masked_for_a_role_that_does_not_need_them(seeded: OneStop) -> None:
    app, _ = case_page_after_intake(seeded, "niran")  # an engineer: reviews plans, not identities
    app.text_input(key="case.purpose").input("plan review").run()
    app.button(key="case.show_data").click().run()
    assert not app.exception
    shown = json.loads(app.json[0].value)
    assert shown["national_id"] == "•••0074" and shown["phone"] == "•••5678"
    assert shown["applicant_name"] == "น•••"  # the registry's name (Thai), masked
    assert shown["plot_address"] == INTAKE["plot_address"]  # not personal data
    assert any("national_id" in c.value for c in app.caption)
