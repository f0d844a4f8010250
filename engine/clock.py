"""The injected clock.

Nothing inside the engine reads the wall clock: every command carries its ``now`` and
runs inside :func:`frozen_at`, so scripts, timer expressions and SpiffWorkflow's own timer
checks all see the same, recorded instant. Replay runs the same code with the recorded
instant and therefore gets the same results.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from engine.errors import ConfigurationError

_injected: ContextVar[datetime | None] = ContextVar("onestop_now", default=None)


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive datetime is refused (it has no meaning here).

    Raises:
        ConfigurationError: ``moment`` has no time zone.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigurationError(f"time {moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)


def stored_instant(moment: datetime) -> datetime:
    """A timestamp read back from storage, in UTC.

    A naive value is UTC: we only ever store UTC, and SQLite hands timestamps back without
    their zone.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    """Run the body with the engine clock stopped at ``moment`` (converted to UTC)."""
    token = _injected.set(as_utc(moment))
    try:
        yield as_utc(moment)
    finally:
        _injected.reset(token)


def current_now() -> datetime:
    """The instant of the command being run.

    Raises:
        ConfigurationError: called outside :func:`frozen_at` (a determinism bug).
    """
    moment = _injected.get()
    if moment is None:
        raise ConfigurationError(
            "the engine clock was read outside a command; wrap the call in frozen_at(now)"
        )
    return moment


def injected_or_wall_clock() -> datetime:
    """The injected instant when inside a command, else the wall clock (UTC).

    Only for library hooks that must answer even outside a command; engine logic uses
    :func:`current_now`.
    """
    return _injected.get() or datetime.now(UTC)
