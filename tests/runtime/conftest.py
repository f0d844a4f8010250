"""Fixtures of the page tests: a seeded SQLite database the app under test builds its engine on."""

from __future__ import annotations

from collections.abc import Iterator
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


def seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[OneStop]:
    """Seed the demo data into a fresh database named by the environment (plus ``env``)."""
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(PROCEDURES))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["seed-demo"]) == 0
    get_onestop.clear()  # the app builds its engine once per process: from this test's settings
    onestop = OneStop(Settings())
    yield onestop
    onestop.close()
    get_onestop.clear()


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OneStop]:
    """Demo units, users and the bundled procedures, as ``make run`` seeds them."""
    yield from seed(tmp_path, monkeypatch)


def open_page(onestop: OneStop, path: str, username: str, **state: object) -> AppTest:
    """The app signed in as ``username`` (English), on page ``path``, with ``state`` set first."""
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["auth.user"] = onestop.accounts.authenticate(username, PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = "en"
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    app.switch_page(path).run()
    assert not app.exception, app.exception
    return app
