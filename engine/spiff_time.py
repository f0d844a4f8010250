"""Due times as SpiffWorkflow stores them (ISO strings), turned into aware datetimes."""

from __future__ import annotations

from datetime import datetime

from engine.clock import stored_instant


def parse_due(value: str) -> datetime:
    """Parse a stored due time; a value without zone is taken as UTC."""
    return stored_instant(datetime.fromisoformat(value))
