"""Make SpiffWorkflow deterministic for the length of a command.

SpiffWorkflow gives every task a random ``uuid4`` and a wall-clock ``last_state_change``,
and compares timers with ``datetime.now()``. Inside :func:`deterministic` those three read
our sources instead: task ids come from a per-case counter (the case uid with its last 32
bits replaced by the counter) and both
clocks read the command's injected instant. Replaying the same commands therefore rebuilds
the same workflow, byte for byte. Outside a command the library behaves as shipped.

The hooks replace module attributes of SpiffWorkflow once, at import; the library version
is pinned (3.2.x) and ``tests/engine/test_determinism.py`` fails if the hooks stop biting.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from engine.clock import frozen_at, injected_or_wall_clock


@dataclass
class TaskIdSource:
    """Deterministic task ids for one case: the case uid's first 96 bits, then a counter.

    Ids only need to be unique within a case and identical on replay; building them from
    an integer costs a fifth of hashing a ``uuid5`` and cases create dozens per command.
    """

    case_uid: uuid.UUID
    issued: int = 0

    def next_id(self) -> uuid.UUID:
        self.issued += 1
        if self.issued > _COUNTER_MASK:
            raise OverflowError("a case cannot create more than 2**32 tasks")
        return uuid.UUID(int=(self.case_uid.int & ~_COUNTER_MASK) | self.issued)


_COUNTER_MASK = 0xFFFFFFFF

_ids: ContextVar[TaskIdSource | None] = ContextVar("onestop_task_ids", default=None)


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the injected instant inside a command."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _EngineDatetime:
        moment = injected_or_wall_clock()
        moment = moment.astimezone().replace(tzinfo=None) if tz is None else moment.astimezone(tz)
        return cls.combine(moment.date(), moment.time(), moment.tzinfo)


class _EngineTime:
    """Stands in for the ``time`` module inside SpiffWorkflow's task module."""

    @staticmethod
    def time() -> float:
        return injected_or_wall_clock().timestamp()


def _next_task_id() -> uuid.UUID:
    source = _ids.get()
    return source.next_id() if source is not None else uuid.uuid4()


def _install() -> None:
    spiff_timer.datetime = _EngineDatetime  # type: ignore[misc]
    spiff_task.uuid4 = _next_task_id  # type: ignore[assignment]
    spiff_task.time = _EngineTime  # type: ignore[assignment]


_install()


@contextmanager
def deterministic(now: datetime, ids: TaskIdSource) -> Iterator[None]:
    """Run SpiffWorkflow with the clock at ``now`` and task ids drawn from ``ids``."""
    token = _ids.set(ids)
    try:
        with frozen_at(now):
            yield
    finally:
        _ids.reset(token)
