"""The home page through Streamlit's AppTest, on a seeded database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import OneStop, Settings
from runtime.cli import main
from runtime.demo import PASSWORD
from runtime.services import get_onestop
from tests.conftest import PROCEDURES

APP = str(Path(__file__).resolve().parents[2] / "runtime" / "app.py")


def test_home_lists_published_procedures_and_the_cases_the_user_may_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(PROCEDURES))
    assert main(["seed-demo"]) == 0
    assert main(["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "somchai"]) == 0

    onestop = OneStop(Settings())
    try:
        auditor = onestop.accounts.authenticate("lan", PASSWORD, datetime.now(UTC))
    finally:
        onestop.close()
    get_onestop.clear()
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["auth.user"] = auditor
    app.session_state["auth.locale"] = "en"
    app.run()

    assert not app.exception
    assert [s.value for s in app.subheader] == ["Published procedures", "Recent cases"]
    procedures = app.dataframe[0].value
    bundled = sorted(folder.name for folder in PROCEDURES.iterdir() if any(folder.glob("*.bpmn")))
    assert sorted(procedures["code"]) == bundled and "building_permit" in bundled
    cases = app.dataframe[1].value
    assert cases["dossier"][0].startswith("TH.50.01-")
    assert "applicant" not in " ".join(cases.columns)
