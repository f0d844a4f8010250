"""Canonical JSON and the per-case sha256 hash chain of events.

``hash = sha256(canonical_json(row without hash) + prev_hash)``; the first event of a case
chains to :data:`GENESIS`. Canonical JSON: sorted keys, no insignificant white space,
UTF-8, timestamps as ISO-8601 UTC with microseconds and a ``Z``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.clock import stored_instant

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be stored in an event")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the one way the hash chain expects.

    Raises:
        TypeError: ``value`` holds something that is not JSON data.
    """
    return _ENCODER.encode(value)


def format_instant(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z`` — the only time format in events."""
    return stored_instant(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_hash(
    *,
    case_uid: str,
    seq: int,
    at: datetime,
    actor: str,
    kind: str,
    element_id: str | None,
    payload: str,
    prev_hash: str,
) -> str:
    """The hash of one event row (every column except the hash itself)."""
    row = {
        "case": case_uid,
        "seq": seq,
        "at": format_instant(at),
        "actor": actor,
        "kind": kind,
        "element_id": element_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256((canonical_json(row) + prev_hash).encode("utf-8")).hexdigest()
