"""Database connections, transactions and schema migration.

SQLite runs in WAL mode; a command transaction starts with ``BEGIN IMMEDIATE`` so that two
writers never interleave, while reads use a deferred ``BEGIN``. PostgreSQL commands lock
the case row with ``SELECT ... FOR UPDATE`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import ConfigurationError
from engine.persistence.checkpoint import SAFETY_NET_PAGES, WalCheckpointer
from engine.persistence.prepared import Tx

_BEGIN_OPTION = "onestop_sqlite_begin"


class Database:
    """One database: an SQLAlchemy engine plus read and write session factories.

    Args:
        url: SQLAlchemy URL (``sqlite:///var/onestop.db``, ``postgresql+psycopg://...``).
        echo: log SQL.
        checkpoint_interval: for a SQLite file, seconds between background WAL
            checkpoints (see :mod:`engine.persistence.checkpoint`); 0 leaves checkpoints to
            SQLite's automatic ones inside commits.

    Raises:
        ConfigurationError: the URL cannot be used.
    """

    def __init__(self, url: str, *, echo: bool = False, checkpoint_interval: float = 1.0) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigurationError(f"database URL {url!r} is not valid: {exc}") from exc
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self._checkpointer: WalCheckpointer | None = None
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            if checkpoint_interval > 0:
                self._checkpointer = WalCheckpointer(str(parsed.database), checkpoint_interval)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine, background_checkpoints=self._checkpointer is not None)
        if self._checkpointer is not None:
            self._checkpointer.start()
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end (reads never write)."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one command: committed if the body returns, rolled back if it raises."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def command(self) -> Iterator[Tx]:
        """A write transaction on a pooled driver connection, for the command hot path:
        committed if the body returns, rolled back if it raises.

        Commands run only :class:`Prepared` statements, so they skip SQLAlchemy's
        connection and session layers; SQLite still begins with ``BEGIN IMMEDIATE``.
        """
        pooled = self.engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            if self.is_sqlite:
                driver.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self.engine.dialect, driver)
            except BaseException:
                driver.rollback()
                raise
            driver.commit()
        finally:
            pooled.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent).

        Raises:
            ConfigurationError: the database cannot be reached.
        """
        try:
            with self.engine.begin() as connection:
                config = alembic_config()
                config.attributes["connection"] = connection
                alembic_command.upgrade(config, "head")
        except OperationalError as exc:
            raise ConfigurationError(f"cannot reach the database {self.safe_url}: {exc.orig}") from exc

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Stop background work and close every pooled connection."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


def alembic_config() -> AlembicConfig:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    config = AlembicConfig()
    location = resources.files("engine.persistence") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def _install_sqlite_hooks(engine: Engine, *, background_checkpoints: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if background_checkpoints:
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        # Straight to the driver: this runs once per transaction, on the command hot path.
        connection.connection.driver_connection.execute(f"BEGIN {mode}")
