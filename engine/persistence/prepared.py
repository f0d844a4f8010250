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


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binders: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in names, processor)
    keys: tuple[str, ...]
    readers: tuple[tuple[str, Callable[[Any], Any]], ...]  # (column key, processor)


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
            found = [dict(zip(plan.keys, raw, strict=True)) for raw in cursor.fetchall()]
            for row in found:
                for key, reader in plan.readers:
                    value = row[key]
                    if value is not None:
                        row[key] = reader(value)
            return found
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
        if plan.defaults:
            params = {**plan.defaults, **params}
        values = [params[name] for name in plan.names]
        for index, binder in plan.binders:
            value = values[index]
            if value is not None:
                values[index] = binder(value)
        if plan.positional:
            return values
        return dict(zip(plan.names, values, strict=True))

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
    binders: list[tuple[int, Callable[[Any], Any]]] = []
    for index, name in enumerate(names):
        bind = by_name[name]
        if not bind.required:
            defaults[name] = bind.effective_value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binders.append((index, processor))
    columns = getattr(statement, "exported_columns", None)
    keys: tuple[str, ...] = ()
    readers: list[tuple[str, Callable[[Any], Any]]] = []
    if columns is not None and len(columns):
        keys = tuple(columns.keys())
        for key, column in zip(keys, columns, strict=True):
            reader = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if reader is not None:
                readers.append((key, reader))
    return _Plan(compiled.string, dialect.positional, names, defaults, tuple(binders), keys, tuple(readers))


def insert_values(table: Table, columns: str) -> Insert:
    """``INSERT INTO table (columns...) VALUES (...)`` with one parameter per column, named
    like the column (``columns`` is a space-separated list)."""
    return insert(table).values({name: bindparam(name) for name in columns.split()})
