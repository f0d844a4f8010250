"""Fixtures of the page tests: a seeded SQLite database the app under test builds its engine on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import OneStop, Settings
from runtime.cli import main
from runtime.services import get_onestop
from tests.conftest import PROCEDURES


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
