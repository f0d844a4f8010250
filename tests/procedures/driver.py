"""Drive a case through its steps the way staff would, with the clock moved by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine import OneStop
from engine.views import CaseView, WorkItemView

# Who does what in the demo unit TH.50.01.
ACTORS = {
    "intake_officer": "somchai",
    "engineer": "niran",
    "approver": "prasert",
    "clerk": "clerk1",
    "sanitation_officer": "boon",
    "cashier": "achara",
}
# Who does what in the Vietnamese demo units (runtime/demo.py): the ward's own staff, and the
# city's agencies, whose grants cover the wards below.
_HANOI_AGENCIES = {"police_officer": "giang", "insurance_officer": "hanh", "inspector": "thu"}
ACTORS_BY_UNIT = {
    "VN.01.001": {"intake_officer": "linh", "specialist": "minh", "approver": "hoa", **_HANOI_AGENCIES},
    "VN.01": {"intake_officer": "nam", "specialist": "quang", "approver": "son", **_HANOI_AGENCIES},
}


def actor_for(role: str, unit: str) -> str:
    """The demo user who holds ``role`` for cases of ``unit``."""
    return ACTORS_BY_UNIT.get(unit, {}).get(role) or ACTORS[role]


class CaseDriver:
    """One case, driven step by step; optionally reloaded from the database every step."""

    def __init__(self, onestop: OneStop, now: datetime, *, reload_each_step: bool = True) -> None:
        self.onestop = onestop
        self.now = now
        self.reload_each_step = reload_each_step
        self.code = ""
        self.unit = "TH.50.01"

    def tick(self, **delta: float) -> None:
        self.now += timedelta(**delta) if delta else timedelta(minutes=5)

    def start(self, procedure: str, unit: str = "TH.50.01", data: dict[str, Any] | None = None) -> CaseView:
        self.unit = unit
        case = self.onestop.cases.start_case(
            actor_for("intake_officer", unit), procedure, unit, self.now, data or {}
        )
        self.code = case.dossier_code
        return case

    def case(self) -> CaseView:
        return self.onestop.queries.case("system", self.code)

    def open_elements(self) -> list[str]:
        return sorted(item.element_id for item in self.case().open_items)

    def item(self, element_id: str) -> WorkItemView:
        items = [i for i in self.case().open_items if i.element_id == element_id]
        assert items, f"{element_id} is not open; open: {self.open_elements()}"
        return items[0]

    def complete(self, element_id: str, data: dict[str, Any], actor: str | None = None) -> CaseView:
        self._maybe_reload()
        self.tick()
        item = self.item(element_id)
        return self.onestop.cases.complete(actor or actor_for(item.role, self.unit), item.id, self.now, data)

    def deliver(self, message: str, payload: dict[str, Any], actor: str | None = None) -> CaseView:
        """Record a message as the unit's intake officer (or ``actor``, e.g. the lane that waits)."""
        self._maybe_reload()
        self.tick()
        who = actor or actor_for("intake_officer", self.unit)
        return self.onestop.cases.deliver_message(who, self.code, message, self.now, payload)

    def wait(self, **delta: float) -> list[str]:
        """Move the clock on and let the worker fire what is due."""
        self._maybe_reload()
        self.tick(**delta)
        fired = self.onestop.cases.fire_due_timers("system", self.now)
        return [ref for firing in fired if firing.dossier_code == self.code for ref in firing.refs]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.onestop.queries.events("system", self.code)]

    def _maybe_reload(self) -> None:
        if self.reload_each_step:
            self.onestop.workflows.clear()
