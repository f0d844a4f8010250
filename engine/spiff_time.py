"""Due times as SpiffWorkflow stores them (ISO strings), turned into aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_due(value: str) -> datetime:
    """Parse a stored due time; a value without zone is taken as UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
