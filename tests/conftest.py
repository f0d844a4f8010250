"""Shared fixtures: real databases (SQLite files; PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from designer.packages import read_package
from engine import OneStop, Settings
from runtime import demo

ROOT = Path(__file__).resolve().parent.parent
PROCEDURES = ROOT / "procedures"
CALENDARS = ROOT / "calendars"
DATA = Path(__file__).resolve().parent / "data"
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # a Monday, 09:30 in Bangkok

PG_URL = os.environ.get("ONESTOP_TEST_DATABASE_URL")
# Password hashing at test strength: the real cost (64 MiB, 3 passes) is ~0.1 s per hash.
os.environ.setdefault("ONESTOP_ARGON2_TIME_COST", "1")
os.environ.setdefault("ONESTOP_ARGON2_MEMORY_KIB", "256")
os.environ.setdefault("ONESTOP_ARGON2_PARALLELISM", "1")
TEST_CLERKS = {"clerk1": "TH.50.01", "clerk2": "TH.50.02"}


def import_test_procedure(onestop: OneStop, path: Path) -> None:
    """Import and publish a procedure from tests/data."""
    onestop.procedures.import_package("admin", read_package(path), T0, publish=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    if os.environ.get("ONESTOP_REQUIRE_POSTGRES"):
        raise pytest.UsageError("ONESTOP_REQUIRE_POSTGRES is set but ONESTOP_TEST_DATABASE_URL is not")
    skip = pytest.mark.skip(reason="set ONESTOP_TEST_DATABASE_URL to run PostgreSQL tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def postgres_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test using this runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onestop.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'onestop.db'}"


def make_onestop(url: str, **overrides: object) -> OneStop:
    onestop = OneStop(Settings(database_url=url, **overrides))  # type: ignore[arg-type]
    onestop.upgrade()
    for unit in demo.UNITS:
        onestop.directory.ensure_unit(**unit)
    for user in demo.USERS:
        onestop.directory.ensure_user(
            username=user.username, display_name=user.display_name, grants=list(user.grants)
        )
    for username, unit in TEST_CLERKS.items():
        onestop.directory.ensure_user(username=username, display_name=username, grants=[("clerk", unit)])
    onestop.calendars.seed(CALENDARS, T0)
    return onestop


@pytest.fixture
def onestop(database_url: str) -> Iterator[OneStop]:
    """Demo units and users on a fresh database, with the building permit published."""
    instance = make_onestop(database_url)
    instance.procedures.import_package(
        "admin", read_package(PROCEDURES / "building_permit"), T0, publish=True
    )
    yield instance
    instance.close()
