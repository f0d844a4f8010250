"""The public procedures catalogue through AppTest: reachable without signing in, in every language."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from designer.packages import read_package
from engine import OneStop
from tests.conftest import DATA, PROCEDURES
from tests.runtime.conftest import APP, open_page, seed

PAGE = "public/catalogue.py"


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OneStop]:
    """The demo seed with the building permit only (procedures still being written stay out)."""
    folder = tmp_path / "procedures"
    shutil.copytree(PROCEDURES / "building_permit", folder / "building_permit")
    yield from seed(tmp_path, monkeypatch, ONESTOP_PROCEDURES_DIR=str(folder))


def _anonymous(locale: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    if locale is not None:
        app.session_state["auth.locale"] = locale
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def _expander_labels(app: AppTest) -> list[str]:
    return [expander.label for expander in app.expander]


def test_anonymous_visitors_reach_the_catalogue_in_english(seeded: OneStop) -> None:
    app = _anonymous()

    assert app.title[0].value == "Procedures catalogue"
    assert "Building construction permit (version 1)" in _expander_labels(app)
    markdown = " ".join(m.value for m in app.markdown)
    assert "TH\\-LOCAL\\-BCA2522\\-S21\\-CONSTRUCTION" in markdown
    assert "45 days, counted in calendar days" in markdown
    assert "auth.user" not in app.session_state  # nobody was signed in to see it


def test_anonymous_visitors_switch_the_catalogue_to_thai(seeded: OneStop) -> None:
    app = _anonymous()

    app.selectbox(key="auth.language").set_value("th").run()

    assert not app.exception, app.exception
    assert app.title[0].value == "ทะเบียนกระบวนงาน"
    assert "การขออนุญาตก่อสร้างอาคาร (ฉบับที่ 1)" in _expander_labels(app)


def test_the_search_box_filters_procedures(seeded: OneStop) -> None:
    app = _anonymous()
    total = len(app.expander)

    app.text_input(key="catalogue.search").set_value("no such procedure").run()
    assert len(app.expander) == 0
    assert app.info[0].value == "No procedure matches the search."

    app.text_input(key="catalogue.search").set_value("BCA2522").run()
    assert _expander_labels(app) == ["Building construction permit (version 1)"]
    assert total >= 1


def test_the_catalogue_offers_json_and_csv_and_shows_nothing_internal(seeded: OneStop) -> None:
    app = _anonymous("vi")

    assert "Cấp giấy phép xây dựng công trình (Thái Lan) (phiên bản 1)" in _expander_labels(app)
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Tải JSON (mọi ngôn ngữ)", "Tải CSV (ngôn ngữ này)"]
    shown = " ".join(m.value for m in app.markdown) + json.dumps(
        [str(frame.value.to_dict()) for frame in app.dataframe], ensure_ascii=False
    )
    assert "Giấy chứng nhận đăng ký pháp nhân" in shown  # a document, in Vietnamese
    for internal in ("national\\_id", "national_id", "starter", "admin"):
        assert internal not in shown


def test_a_signed_in_user_also_has_the_catalogue(seeded: OneStop) -> None:
    app = open_page(seeded, PAGE, "somchai")

    assert app.title[0].value == "Procedures catalogue"
    assert "Building construction permit (version 1)" in _expander_labels(app)
    assert app.sidebar.caption[0].value.startswith("Signed in as")


def test_a_signed_in_user_switches_the_catalogue_language(seeded: OneStop) -> None:
    app = open_page(seeded, PAGE, "somchai")

    app.selectbox(key="auth.language").set_value("vi").run()

    assert not app.exception, app.exception
    assert app.title[0].value == "Danh mục thủ tục"
    assert app.session_state["auth.locale"] == "vi"


def test_a_sparse_manual_shows_dashes_instead_of_failing(seeded: OneStop) -> None:
    package = read_package(DATA / "review_loop")
    sparse = {"code": "review_loop", "name": {"th": "วงรอบการตรวจ"}, "steps": [{"id": "review"}], "fees": []}
    seeded.procedures.import_package(
        "admin", replace(package, manual=sparse), datetime.now(UTC), publish=True
    )

    app = _anonymous()

    assert "วงรอบการตรวจ (version 1)" in _expander_labels(app)  # the only name there is
    markdown = [m.value for m in app.markdown]
    assert "**Time limit:** —" in markdown
    assert "None: the procedure is free of charge\\." in markdown
