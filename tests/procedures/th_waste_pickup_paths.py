"""The paths of the Thai special waste pickup, driven as staff would: one case down each way
through the process (shared by the scenario tests and the coverage test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine import OneStop
from engine.attachments import Upload
from engine.views import CaseView
from tests.conftest import T0
from tests.procedures.driver import CaseDriver, actor_for

CODE = "th_waste_pickup"
UNIT = "TH.50.01"
KNOWN_ID = "1101700230074"  # นางสาวสมศรี ใจดี in demo/population.json
UNKNOWN_ID = "1234567890121"  # a valid check digit, but nobody the registry knows
# Tiny files with the right leading bytes (the engine reads the type from the content).
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24

REQUEST: dict[str, Any] = {
    "national_id": KNOWN_ID,
    "name_given": "Somsri Jaidee",
    "phone": "+66 81 234 5678",
    "pickup_address": "12 Soi 5, Nimmanhaemin Road, Suthep, Mueang Chiang Mai",
    "waste_type": "general",
    "estimated_volume": 0.4,
    "preferred_date": "2026-03-05",
}
BULKY = {**REQUEST, "waste_type": "bulky", "estimated_volume": 3.0, "notes": "Old sofa and a mattress."}
COMPLETE = {"documents_complete": True}
INCOMPLETE = {"documents_complete": False, "missing_items": ["Photo of the waste"]}
SUPPLEMENT_REQUEST = {"request_ref": "CM-SAN-2569-0011/1", "deadline_days": 7}
PAY_BULKY = {"receipt_no": "RC-2569-0420", "amount_paid": 400.0, "paid_on": "2026-03-03"}
SCHEDULE = {"pickup_date": "2026-03-05", "crew": "Truck 3"}
COLLECTED = {"collected_on": "2026-03-05", "collected_volume": 0.5, "notes": "Cleared."}

Path = Callable[[CaseDriver], None]


def complete_with_files(
    d: CaseDriver, element_id: str, data: dict[str, Any], files: dict[str, bytes]
) -> CaseView:
    """Like ``d.complete`` but uploading ``files`` (field -> content) with the form."""
    d._maybe_reload()
    d.tick()
    item = d.item(element_id)
    uploads = {
        field: [Upload(f"{field}.{'png' if content == PNG else 'jpg'}", content)]
        for field, content in files.items()
    }
    return d.onestop.cases.complete(actor_for(item.role, d.unit), item.id, d.now, data, files=uploads)


def start(d: CaseDriver, request: dict[str, Any] = REQUEST, *, photo: bool = True) -> None:
    d.start(CODE, unit=UNIT)
    if photo:
        complete_with_files(d, "receive_request", request, {"waste_photo": JPEG})
    else:
        d.complete("receive_request", request)


def collect(d: CaseDriver) -> None:
    d.complete("schedule_pickup", SCHEDULE)
    complete_with_files(d, "record_collection", COLLECTED, {"collection_photo": PNG})


def rate(d: CaseDriver, rating: int, comment: str = "") -> CaseView:
    return d.deliver("service_rated", {"rating": rating, "comment": comment})


def free_and_rated(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    collect(d)
    rate(d, 5, "Quick and clean.")


def paid_and_rated(d: CaseDriver) -> None:
    start(d, BULKY)
    d.complete("check_completeness", COMPLETE)
    d.complete("record_payment", PAY_BULKY)
    collect(d)
    rate(d, 4)


def supplied_then_unrated(d: CaseDriver) -> None:
    start(d, {**REQUEST, "waste_type": "garden", "estimated_volume": 1.5}, photo=False)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-04", "items": ["Photo of the waste"]})
    complete_with_files(d, "check_supplement", {"supplement_complete": True}, {"waste_photo": JPEG})
    d.complete(
        "record_payment", {"receipt_no": "RC-2569-0421", "amount_paid": 100.0, "paid_on": "2026-03-05"}
    )
    collect(d)
    assert d.wait(days=7, minutes=1) == ["gw_await_rating#1"]


def returned_without_supplement(d: CaseDriver) -> None:
    start(d, photo=False)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    assert d.wait(days=7, minutes=1) == ["gw_await_supplement#1"]


def returned_insufficient(d: CaseDriver) -> None:
    start(d, photo=False)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-04", "items": []})
    d.complete("check_supplement", {"supplement_complete": False, "notes": "Still no photo."})


def cancelled_unpaid(d: CaseDriver) -> None:
    start(d, BULKY)
    d.complete("check_completeness", COMPLETE)
    assert d.wait(days=7, minutes=1) == ["timer_payment_deadline#1"]


def reopened_then_closed(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    collect(d)
    rate(d, 1, "Half of the branches were left behind.")
    collect(d)
    rate(d, 2, "Better, still not swept.")  # a second poor rating closes the case


def withdrawn(d: CaseDriver) -> None:
    start(d)
    d.onestop.cases.cancel("somchai", d.code, "Requester took the waste to the recycling centre", d.now)


#: Every way through the procedure.
EVERY_PATH: tuple[Path, ...] = (
    free_and_rated,
    paid_and_rated,
    supplied_then_unrated,
    returned_without_supplement,
    returned_insufficient,
    cancelled_unpaid,
    reopened_then_closed,
    withdrawn,
)


def drive(onestop: OneStop, path: Path, start_at: datetime = T0) -> str:
    """One case down ``path``; its dossier code."""
    d = CaseDriver(onestop, start_at, reload_each_step=False)
    path(d)
    return d.code
