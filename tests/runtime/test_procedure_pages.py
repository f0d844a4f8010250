"""The procedure pages through Streamlit's AppTest: the list, an upload, a version."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from designer.package_archive import write_archive
from designer.packages import read_package
from engine import OneStop
from runtime.demo import PASSWORD
from tests.conftest import PROCEDURES
from tests.runtime.conftest import APP, open_page

PERMIT = PROCEDURES / "building_permit"


def page(onestop: OneStop, path: str, username: str = "dao", **state: object) -> AppTest:
    return open_page(onestop, path, username, **state)


def permit_zip(*, without_form: str | None = None, without_time_limit: bool = False) -> bytes:
    """The permit as a zip, with a form or the manual's time limit left out."""
    package = read_package(PERMIT)
    forms = {name: data for name, data in package.forms.items() if name != without_form}
    manual = {k: v for k, v in package.manual.items() if not (without_time_limit and k == "time_limit")}
    return write_archive(replace(package, forms=forms, manual=manual))


def _loose_files(time_limit: int) -> list[tuple[str, bytes]]:
    """The permit's files as a browser sends them, with another time limit in its manual."""
    manual = (PERMIT / "manual.yaml").read_text(encoding="utf-8")
    assert "  value: 45\n" in manual
    manual = manual.replace("  value: 45\n", f"  value: {time_limit}\n")
    forms = [(p.name, p.read_bytes()) for p in sorted((PERMIT / "forms").iterdir())]
    return [
        ("process.bpmn", (PERMIT / "process.bpmn").read_bytes()),
        *[(p.name, p.read_bytes()) for p in sorted(PERMIT.glob("*.dmn"))],
        ("manual.yaml", manual.encode()),
        *forms,
    ]


def test_the_list_shows_each_procedure_with_its_versions_and_running_cases(seeded: OneStop) -> None:
    seeded.cases.start_case("somchai", "building_permit", "TH.50.01", datetime.now(UTC))
    app = page(seeded, "studio/procedures.py")

    overview = app.dataframe[0].value
    row = list(overview["Code"]).index("building_permit")
    assert len(overview) == len({v.procedure_code for v in seeded.procedures.list_versions()})
    assert overview["Name"][row] == "Building construction permit"
    assert (overview["Published version"][row], overview["Cases running"][row]) == (1, 1)
    versions = app.dataframe[1].value
    assert (versions["Status"][0], versions["Imported by"][0]) == ("Published", "admin")


@pytest.mark.parametrize(("username", "offered"), [("somchai", False), ("lan", True), ("dao", True)])
def test_procedure_pages_are_offered_to_designers_admins_and_auditors_only(
    seeded: OneStop, username: str, offered: bool
) -> None:
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["auth.user"] = seeded.accounts.authenticate(username, PASSWORD, datetime.now(UTC))
    app.run()
    if offered:
        app.switch_page("studio/procedures.py").run()
        assert app.title[0].value == "Procedures"
    else:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page("studio/procedures.py")


def upload(app: AppTest, data: bytes) -> AppTest:
    return app.file_uploader(key="studio.upload").set_value(("permit.zip", data, "application/zip")).run()


def test_an_uploaded_package_shows_findings_and_diagram_and_imports_as_a_draft(seeded: OneStop) -> None:
    app = upload(page(seeded, "studio/upload.py"), permit_zip(without_time_limit=True))

    assert not app.exception
    assert any(s.value.startswith("<svg") for s in app.markdown)  # the diagram
    findings = app.dataframe[0].value
    assert (findings["Code"][0], findings["Where"][0]) == ("manual-no-time-limit", "manual.yaml")
    assert app.checkbox(key="studio.upload_publish").disabled  # errors: no publishing
    app.button(key="studio.import").click().run()

    assert not app.exception
    assert app.title[0].value == "Building construction permit · v2"  # now on the version page
    assert "Imported as version 2 (Draft)." in [m.value for m in app.success]
    stored = [v for v in seeded.procedures.list_versions() if v.version == 2]
    assert stored and (stored[0].status, stored[0].created_by) == ("draft", "dao")
    assert app.session_state["studio.version"] == ("building_permit", 2)


def test_a_package_the_engine_cannot_run_is_not_imported(seeded: OneStop) -> None:
    before = len(seeded.procedures.list_versions())
    app = upload(page(seeded, "studio/upload.py"), permit_zip(without_form="site_visit.json"))
    assert "site_visit.json" in " ".join(app.dataframe[0].value["Message"])
    app.button(key="studio.import").click().run()

    assert not app.exception
    assert "names form 'site_visit.json', which is not in forms/" in app.error[-1].value
    assert len(seeded.procedures.list_versions()) == before


def test_an_unreadable_upload_says_why_and_stores_nothing(seeded: OneStop) -> None:
    before = len(seeded.procedures.list_versions())
    app = page(seeded, "studio/upload.py")
    app.file_uploader(key="studio.upload").set_value(
        ("evil.zip", b"PK\x03\x04 broken", "application/zip")
    ).run()

    assert not app.exception
    assert "not a readable zip archive" in app.error[0].value
    assert len(seeded.procedures.list_versions()) == before


def test_the_version_page_shows_manual_forms_findings_and_changes(seeded: OneStop) -> None:
    seeded.procedures.import_package("dao", read_package(PERMIT), datetime.now(UTC))  # identical: no v2
    app = page(seeded, "studio/version.py", **{"studio.version": ("building_permit", 1)})

    assert app.title[0].value == "Building construction permit · v1"
    assert [t.label for t in app.tabs] == ["Diagram", "Service manual", "Forms", "Findings", "Changes"]
    legal, steps = app.dataframe[0].value, app.dataframe[1].value
    assert "Building Control Act B.E. 2522 (1979), section 21" in legal["Legal basis"][0]
    assert "Review the plans (setbacks, height, fire safety, zoning)" in list(steps["Step"])
    assert app.selectbox(key="studio.form_preview").options[0] == "approval.json"
    assert any(i.value == "This is the only version." for i in app.info)
    keys = {b.key for b in app.button}
    assert "studio.retire" in keys and "studio.publish" not in keys  # it is the published one
    findings = [s.value for s in app.success]
    assert "No findings: the package is ready to publish." in findings or app.dataframe[-1].value is not None


def test_a_designer_publishes_a_draft_and_sees_what_changed(seeded: OneStop) -> None:
    upload = page(seeded, "studio/upload.py")
    upload.file_uploader(key="studio.upload").set_value(
        [(name, data, "application/octet-stream") for name, data in _loose_files(time_limit=30)]
    ).run()
    upload.button(key="studio.import").click().run()
    app = page(seeded, "studio/version.py", **{"studio.version": ("building_permit", 2)})
    app.selectbox(key="studio.compare").set_value(1).run()
    changes = next(c.value for c in app.code)
    assert "~ manual time_limit.value: 45 -> 30" in changes
    app.button(key="studio.publish").click().run()

    assert not app.error, [e.value for e in app.error]
    assert "Published." in [s.value for s in app.success]
    permit = [v for v in seeded.procedures.list_versions() if v.procedure_code == "building_permit"]
    assert {v.version: v.status for v in permit} == {1: "retired", 2: "published"}
    app.button(key="studio.retire").click().run()
    permit = [v for v in seeded.procedures.list_versions() if v.procedure_code == "building_permit"]
    assert {v.version: v.status for v in permit}[2] == "retired"


def test_an_auditor_reads_a_version_but_gets_no_actions(seeded: OneStop) -> None:
    app = page(seeded, "studio/version.py", username="lan", **{"studio.version": ("building_permit", 1)})
    assert app.title[0].value == "Building construction permit · v1"
    keys = {b.key for b in app.button}
    assert not keys & {"studio.publish", "studio.retire", "studio.test_run"}
