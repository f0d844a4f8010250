"""The migrated schema, the models and the prepared statements agree, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from engine import OneStop, Settings
from engine.case_records import lock_by_code
from engine.clock import stored_instant
from engine.persistence.database import alembic_config
from engine.persistence.models import Base, WorkItem, table_of
from engine.persistence.prepared import Prepared, Tx
from tests.conftest import T0


def _migrated(database_url: str) -> OneStop:
    onestop = OneStop(Settings(database_url=database_url))
    onestop.upgrade()
    return onestop


# SQLAlchemy cannot reflect the expression in the worklist index; the test below checks it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_build_exactly_the_models(database_url: str) -> None:
    onestop = _migrated(database_url)
    try:
        with onestop.db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = [
                diff
                for diff in compare_metadata(context, Base.metadata)
                if not (
                    isinstance(diff, tuple)
                    and diff[0] == "remove_table"
                    and diff[1].name == "alembic_version"
                )
            ]
        assert differences == []
    finally:
        onestop.close()


def test_the_worklist_index_holds_the_worklist_order(database_url: str) -> None:
    onestop = _migrated(database_url)
    try:
        with onestop.db.engine.connect() as connection:
            if onestop.db.is_sqlite:
                found = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ix_work_items_open'")
                ).scalar_one()
            else:
                found = connection.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes"
                        " WHERE indexname = 'ix_work_items_open' AND schemaname = current_schema()"
                    )
                ).scalar_one()
        normal = (
            " ".join(found.replace('"', "").split()).lower().replace("((due_at is null))", "(due_at is null)")
        )
        assert "(role, org_unit_id, (due_at is null), due_at, ready_at, assignee)" in normal
        assert "where" in normal and "open" in normal and "claimed" in normal
    finally:
        onestop.close()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    from alembic import command

    onestop = _migrated(database_url)
    try:
        with onestop.db.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
            command.upgrade(config, "head")
    finally:
        onestop.close()


def test_prepared_statements_convert_values_both_ways(onestop: OneStop) -> None:
    """Timestamps, dates, JSON and NULLs written by a command read back unchanged."""
    applicant = {"applicant_name": "สมชาย ใจดี", "national_id": "1101700230708", "phone": "0812345678"}
    view = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0, applicant)
    with onestop.db.command() as tx:
        locked = lock_by_code(tx, view.dossier_code)
    assert locked is not None
    case = locked.case
    assert case.applicant == applicant
    assert stored_instant(case.received_at) == T0
    assert case.appointment_date == view.appointment_date
    assert case.closed_at is None and case.outcome is None
    assert (locked.unit_code, locked.unit_path) == ("TH.50.01", "TH.50/TH.50.01")


def test_a_statement_with_run_time_parameters_is_refused() -> None:
    items = table_of(WorkItem)
    prepared = Prepared(select(items.c.id).where(items.c.state.in_(["open", "claimed"])))
    onestop = OneStop(Settings(database_url="sqlite://"))
    try:
        with onestop.db.engine.connect() as connection, pytest.raises(ValueError, match="cannot be prepared"):
            prepared.rows(Tx.of(connection))
    finally:
        onestop.close()
