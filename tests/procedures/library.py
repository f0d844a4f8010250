"""Shared pieces of the procedures' scenario tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from designer.packages import read_package
from engine import OneStop
from tests.conftest import T0, make_onestop


def published(database_url: str, package: Path) -> Iterator[OneStop]:
    """Demo units, users and calendars with only ``package`` published (for a fixture)."""
    instance = make_onestop(database_url)
    instance.procedures.import_package("admin", read_package(package), T0, publish=True)
    yield instance
    instance.close()
