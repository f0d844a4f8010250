"""The paths of the Vietnamese construction permit for an individual house, driven as the
ward's staff (linh at the one-stop desk, minh the specialist, hoa the chairwoman) and the
worker would, in ward VN.01.001 (Ba Dinh). Shared by the scenario tests and the coverage test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine import OneStop
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

CODE = "vn_house_permit"
WARD = "VN.01.001"

#: Nguyễn Văn An in demo/population.json.
KNOWN_ID = "001090012345"
#: A plausible citizen ID (Hanoi, male born 1980s) the demo registry does not hold.
UNKNOWN_ID = "001088999999"

APPLICATION: dict[str, Any] = {
    "national_id": KNOWN_ID,
    "phone": "+84 912 345 678",
    "email": "an.nguyen@example.vn",
    "plot_address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
    "land_certificate_no": "CS 123456",
    "plot_no": "45",
    "map_sheet_no": "12",
    "storeys": 4,
    "building_footprint": 60.0,
    "floor_area": 240.0,
    "channel": "counter",
}
BY_HAND = {
    "applicant_name": "Phạm Thị Dung",
    "birth_date": "1988-04-09",
    "applicant_address": "Số 3 ngõ 5 phố Liễu Giai, phường Ba Đình, Hà Nội",
}
COMPLETE = {"documents_complete": True}
MISSING = ["Bản sao giấy chứng nhận quyền sử dụng đất", "Bản vẽ mặt cắt móng"]
INCOMPLETE = {"documents_complete": False, "missing_items": MISSING}
NOTICE = {"notice_ref": "BD-YCBS-2026-0031", "notified_on": "2026-03-02", "notes": "Handed over at the desk."}
SUPPLIED = {"received_on": "2026-03-09", "items": MISSING}
SITE = {
    "inspected_on": "2026-03-04",
    "site_matches_dossier": True,
    "findings": "Ranh giới và diện tích khớp với giấy chứng nhận; lối đi 4 m.",
}
REVIEW_OK = {
    "planning_ok": True,
    "land_ok": True,
    "design_ok": True,
    "proposal": "approve",
    "appraisal_notes": "Phù hợp quy hoạch chi tiết 1/500; mật độ 80 %.",
}
REVIEW_BAD = {**REVIEW_OK, "planning_ok": False, "proposal": "refuse", "appraisal_notes": "Vượt chỉ giới."}
APPROVE = {"decision": "approve", "conditions": ["Che chắn công trường, không lấn chiếm vỉa hè"]}
REFUSE = {"decision": "refuse", "reasons": "Công trình vượt chỉ giới xây dựng của tuyến phố."}
PAY = {"receipt_no": "BL-2026-000815", "amount_paid": 75000, "paid_on": "2026-03-20"}
RETURN = {
    "permit_no": "15/GPXD-UBND",
    "issued_on": "2026-03-20",
    "returned_on": "2026-03-20",
    "return_channel": "counter",
}
REFUSAL = {"notice_ref": "BD-TL-2026-0007", "returned_on": "2026-03-20", "return_channel": "post"}

Path = Callable[[CaseDriver], None]


def start(d: CaseDriver, **application: Any) -> None:
    d.start(CODE, unit=WARD)
    d.complete("receive_application", {**APPLICATION, **application})


def inspect_and_appraise(d: CaseDriver, review: dict[str, Any] = REVIEW_OK) -> None:
    d.complete("site_inspection", SITE)
    d.complete("review_dossier", review)


def pay_and_return(d: CaseDriver) -> None:
    d.complete("record_payment", PAY)
    d.complete("return_result", RETURN)


def issued(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    inspect_and_appraise(d)
    d.complete("decide_permit", APPROVE)
    pay_and_return(d)


def unknown_applicant_refused(d: CaseDriver) -> None:
    start(d, national_id=UNKNOWN_ID)
    d.complete("enter_applicant_data", BY_HAND)
    d.complete("check_completeness", COMPLETE)
    inspect_and_appraise(d, REVIEW_BAD)
    d.complete("decide_permit", REFUSE)
    d.complete("notify_refusal", REFUSAL)


def supplied_then_issued(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", NOTICE)
    d.deliver("documents_supplied", SUPPLIED)
    d.complete("check_supplement", {"supplement_complete": True, "notes": "Đủ."})
    inspect_and_appraise(d)
    d.complete("decide_permit", APPROVE)
    pay_and_return(d)


def supplement_insufficient(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", NOTICE)
    d.deliver("documents_supplied", {"received_on": "2026-03-09", "items": MISSING[:1]})
    d.complete("check_supplement", {"supplement_complete": False, "notes": "Thiếu bản vẽ móng."})


def returned_without_supplement(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", NOTICE)
    d.now = datetime(2026, 3, 31, 1, 0, tzinfo=T0.tzinfo)  # past the 20th working day (30 March)
    assert d.wait() == ["gw_await_supplement#1"]


def overdue_appraisal_escalated(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    d.complete("site_inspection", SITE)
    d.now = datetime(2026, 3, 11, 17, 1, tzinfo=T0.tzinfo)  # 7 working days after 2 March
    assert d.wait() == ["timer_review_overdue#1"]
    d.complete(
        "expedite_review", {"direction": "Hoàn thành thẩm định trong 2 ngày.", "extension_needed": False}
    )
    d.complete("review_dossier", REVIEW_OK)
    d.complete("decide_permit", APPROVE)
    pay_and_return(d)


def withdrawn(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    d.onestop.cases.cancel("linh", d.code, "Người đề nghị rút hồ sơ", d.now)


def in_appraisal(d: CaseDriver) -> None:
    start(d)
    d.complete("check_completeness", COMPLETE)
    d.complete("site_inspection", SITE)


#: Every way through the permit: issued, unknown applicant refused, supplemented, returned
#: twice, escalated, withdrawn, and still in appraisal.
EVERY_PATH: tuple[Path, ...] = (
    issued,
    unknown_applicant_refused,
    supplied_then_issued,
    supplement_insufficient,
    returned_without_supplement,
    overdue_appraisal_escalated,
    withdrawn,
    in_appraisal,
)


def drive(onestop: OneStop, path: Path, start_at: datetime = T0, reload_each_step: bool = False) -> str:
    """One case down ``path``; its dossier code."""
    driver = CaseDriver(onestop, start_at, reload_each_step=reload_each_step)
    path(driver)
    return driver.code
