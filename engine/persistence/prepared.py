"""Statements compiled once and run straight on the driver's cursor.

A command runs six or seven small statements. Through SQLAlchemy's full execution path each
costs 60-100 µs of bookkeeping on top of well under 20 µs of database work, which made the
statements, not the workflow engine, the bulk of a command. A :class:`Prepared` statement is
an ordinary Core statement compiled once per dialect; running it converts the parameters
and result values with the column types' own processors, exactly as SQLAlchemy would, and
hands the SQL to the driver cursor of the connection's current transaction.

Only constructs whose compiled form is fixed may be prepared: no expanding ``IN`` and no
parameters rendered at execution time (checked when the statement is first compiled).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

log = logging.getLogger("engine.sql")

Row = dict[str, Any]


@dataclass(frozen=True)
class Tx:
    """A driver connection inside one open transaction, and the dialect its statements are
    compiled for. Commands get one from :meth:`Database.command`; code holding a SQLAlchemy
    connection gets one with :meth:`Tx.of`."""

    dialect: Dialect
    driver: Any

    @classmethod
    def of(cls, connection: Connection) -> Tx:
        """The transaction of a SQLAlchemy connection (begun now if none is open)."""
        if not connection.in_transaction():
            connection.begin()
        return cls(connection.dialect, connection.connection.driver_connection)


_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binders: dict[str, Callable[[Any], Any]]
    keys: tuple[str, ...]
    readers: tuple[_Processor, ...]


class Prepared:
    """A Core statement prepared for the hot path (see the module docstring).

    Args:
        statement: a ``select``, ``insert``, ``update`` or ``delete`` whose parameters are
            all ``bindparam`` s (or literal values, which become fixed parameters).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def rows(self, tx: Tx, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run the statement and return its rows as dicts keyed by column label."""
        plan = self._plan(tx.dialect)
        cursor = tx.driver.cursor()
        try:
            cursor.execute(plan.sql, self._bind(plan, params or {}))
            if not plan.keys:
                return []
            readers, keys = plan.readers, plan.keys
            return [
                {
                    key: (value if reader is None or value is None else reader(value))
                    for key, reader, value in zip(keys, readers, raw, strict=True)
                }
                for raw in cursor.fetchall()
            ]
        finally:
            cursor.close()

    def first(self, tx: Tx, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row, or None."""
        found = self.rows(tx, params)
        return found[0] if found else None

    def run(self, tx: Tx, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement that returns no rows; returns the number of rows it changed."""
        plan = self._plan(tx.dialect)
        cursor = tx.driver.cursor()
        try:
            cursor.execute(plan.sql, self._bind(plan, params or {}))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, tx: Tx, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set (``executemany``)."""
        if not rows:
            return
        plan = self._plan(tx.dialect)
        cursor = tx.driver.cursor()
        try:
            cursor.executemany(plan.sql, [self._bind(plan, row) for row in rows])
        finally:
            cursor.close()

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _bind(plan: _Plan, params: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {}
        binders, defaults = plan.binders, plan.defaults
        for name in plan.names:
            value = params[name] if name in params else defaults[name]
            binder = binders.get(name)
            values[name] = binder(value) if binder is not None and value is not None else value
        if plan.positional:
            return tuple(values[name] for name in plan.names)
        return values

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect.name) or _compile(self.statement, dialect)
                self._plans[dialect.name] = plan
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", plan.sql)
        return plan


def _compile(statement: ClauseElement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError(f"statement cannot be prepared (parameters rendered at run time): {compiled}")
    if dialect.positional:
        names = tuple(compiled.positiontup or ())
    else:
        names = tuple(dict.fromkeys(compiled.bind_names.values()))
    by_name = {compiled.bind_names[bind]: bind for bind in compiled.binds.values()}
    defaults: dict[str, Any] = {}
    binders: dict[str, Callable[[Any], Any]] = {}
    for name in names:
        bind = by_name[name]
        if not bind.required:
            defaults[name] = bind.effective_value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binders[name] = processor
    columns = getattr(statement, "exported_columns", None)
    keys: tuple[str, ...] = ()
    readers: tuple[_Processor, ...] = ()
    if columns is not None and len(columns):
        keys = tuple(columns.keys())
        readers = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
    return _Plan(compiled.string, dialect.positional, names, defaults, binders, keys, readers)


def insert_values(table: Table, columns: str) -> Insert:
    """``INSERT INTO table (columns...) VALUES (...)`` with one parameter per column, named
    like the column (``columns`` is a space-separated list)."""
    return insert(table).values({name: bindparam(name) for name in columns.split()})
