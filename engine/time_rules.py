"""A procedure version's time rules, read once from its service manual and BPMN.

The manual's ``time_limit`` (``value``, ``day_type``, optional same-day ``cutoff``,
and ``max_extensions``), its steps' ``allowance_days`` and
``supplement_pauses_clock``. Whether the model calls the deadline helpers decides whether
its commands must record the clock they ran under (see :mod:`engine.sla_clock`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Literal

_HELPER_CALL = re.compile(rb"\b(working_days|deadline)\s*\(")


@dataclass(frozen=True)
class TimeRules:
    """How a procedure version counts time.

    Attributes:
        limit_days: the legal time limit, or None when the manual sets none.
        day_type: ``working`` or ``calendar`` days (the manual's default is calendar).
        cutoff: receipts after this local time count from the next working day (None:
            the close of office hours).
        allowances: days allowed per step, by BPMN element id.
        pause_while_waiting: the clock stops while the case waits for the applicant (a
            message), when the manual says ``supplement_pauses_clock``.
        max_extensions: how many extensions the law allows (None: no limit set).
        uses_calendar: the model's expressions call ``working_days`` or ``deadline``.
    """

    limit_days: int | None = None
    day_type: Literal["working", "calendar"] = "calendar"
    cutoff: time | None = None
    allowances: Mapping[str, int] = field(default_factory=dict)
    pause_while_waiting: bool = False
    max_extensions: int | None = None
    uses_calendar: bool = False

    @classmethod
    def of(cls, manual: Mapping[str, Any], bpmn: Iterable[bytes] = ()) -> TimeRules:
        """Read the rules; the manual was validated on import, so odd values are skipped."""
        limit = manual.get("time_limit") if isinstance(manual.get("time_limit"), dict) else {}
        assert isinstance(limit, dict)
        value = limit.get("value")
        cutoff = limit.get("cutoff")
        steps = manual.get("steps") if isinstance(manual.get("steps"), list) else []
        assert isinstance(steps, list)
        return cls(
            limit_days=int(value) if isinstance(value, int) and value >= 0 else None,
            day_type="working" if limit.get("day_type") == "working" else "calendar",
            cutoff=time.fromisoformat(cutoff) if isinstance(cutoff, str) and _is_clock(cutoff) else None,
            allowances={
                str(step["id"]): int(step["allowance_days"])
                for step in steps
                if isinstance(step, dict) and "id" in step and isinstance(step.get("allowance_days"), int)
            },
            pause_while_waiting=bool(manual.get("supplement_pauses_clock")),
            max_extensions=limit.get("max_extensions")
            if isinstance(limit.get("max_extensions"), int)
            else None,
            uses_calendar=any(_HELPER_CALL.search(data) for data in bpmn),
        )


def _is_clock(text: str) -> bool:
    return re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", text) is not None
