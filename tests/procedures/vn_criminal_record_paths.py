"""The paths of the Vietnamese judicial-record certificate, driven as staff and the worker
would: one case down each way through the process (shared by the scenario tests and the
coverage test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from engine import OneStop
from engine.views import CaseView
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

CODE = "vn_criminal_record"
UNIT = "VN.01"  # the city public-service centre receives; the Department of Justice issues

KNOWN_ID = "001090012345"  # Nguyễn Văn An in demo/population.json
UNKNOWN_ID = "079095001234"  # well-formed (Ho Chi Minh City), but not in the registry

REQUEST: dict[str, Any] = {
    "citizen_id": KNOWN_ID,
    "phone": "+84 912 345 678",
    "email": "an.nguyen@example.vn",
    "certificate_type": "1",
    "purpose": "Nộp hồ sơ xin việc",
    "copies": 2,
    "lived_elsewhere_since_14": False,
}
WIDER_REQUEST = {**REQUEST, "lived_elsewhere_since_14": True}
#: What the citizen ID card of KNOWN_ID shows (and the population registry holds).
AN = {
    "applicant_name": "Nguyễn Văn An",
    "birth_date": "1990-03-12",
    "sex": "male",
    "address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
}
RESIDENCE = {"residence_history": "2004-nay: số 12 phố Đội Cấn, Ba Đình, Hà Nội"}
MISSING = ["Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp có chữ ký", "Văn bản ủy quyền"]
SUPPLEMENT_REQUEST = {"request_ref": "LLTP-BS-2026-0017", "deadline_days": 15, "notes": "Giao trực tiếp."}
WIDER = {
    "verification_requests": ["Công an tỉnh Đà Nẵng, CV 112/STP-HCTP", "Trung tâm LLTP quốc gia, CV 113/STP"]
}
CONVICTIONS = [
    "Bản án 45/2012/HSST ngày 18/6/2012, TAND quận Ba Đình: trộm cắp tài sản (Điều 138 BLHS 1999), 9 tháng tù treo"
]
POLICE_NONE = {"police_result": "records_none", "police_reply_ref": "CA-PV06-2026-0311"}
POLICE_FOUND = {
    "police_result": "records_found",
    "police_reply_ref": "CA-PV06-2026-0312",
    "convictions": CONVICTIONS,
    "police_notes": "Bản án đã thi hành xong năm 2013.",
}
POLICE_PENDING = {
    "police_result": "records_pending",
    "police_reply_ref": "CA-PV06-2026-0313",
    "police_notes": "Hồ sơ lưu tại Công an tỉnh Đà Nẵng, cần thêm thời gian.",
}
FOLLOW_UP = {
    "follow_up_ref": "STP-DD-2026-0009",
    "reply_expected_by": "2026-03-13",
    "follow_up_note": "Đôn đốc.",
}
ASSESS = {
    "conviction_assessment": "Bản án 45/2012/HSST: đã chấp hành xong, đủ 1 năm không phạm tội mới: đương nhiên được xóa án tích.",
    "all_convictions_expunged": True,
}
DRAFT_NONE = {
    "certificate_no": "LLTP-HN-2026-001234",
    "certificate_entry": "record_none",
    "drafted_on": "2026-03-10",
}
DRAFT_CONVICTIONS = {
    "certificate_no": "LLTP-HN-2026-001235",
    "certificate_entry": "record_convictions",
    "certificate_details": "Bản án 45/2012/HSST ngày 18/6/2012, TAND quận Ba Đình: trộm cắp tài sản, 9 tháng tù treo.",
    "drafted_on": "2026-03-16",
}
SIGN = {"decision": "sign", "signed_on": "2026-03-11"}
REFUSE = {
    "decision": "refuse",
    "refusal_ground": "identity_mismatch",
    "reasons": "Họ tên và ngày sinh trên tờ khai không khớp với hồ sơ lý lịch tư pháp.",
    "signed_on": "2026-03-11",
}
RETURN = {"returned_on": "2026-03-12", "return_channel": "counter", "received_by": "applicant"}
NOTIFY = {"notice_ref": "STP-TC-2026-0004", "notified_on": "2026-03-12"}

Path = Callable[[CaseDriver], None]


def new_driver(onestop: OneStop, start: datetime = T0, *, reload_each_step: bool = False) -> CaseDriver:
    d = CaseDriver(onestop, start, reload_each_step=reload_each_step)
    d.start(CODE, unit=UNIT)
    return d


def drive(onestop: OneStop, path: Path, start: datetime = T0) -> str:
    """One case down ``path``, started at ``start``; its dossier code."""
    d = new_driver(onestop, start)
    path(d)
    return d.code


def prefill(d: CaseDriver, element_id: str) -> dict[str, Any]:
    """What the step's form shows filled in, as the worker of the step reads it."""
    item = d.item(element_id)
    actor = {"intake_officer": "nam", "specialist": "quang", "police_officer": "giang", "approver": "son"}
    return dict(d.onestop.tasks.task(actor[item.role], item.id, d.now).prefill)


def check(d: CaseDriver, *, complete: bool, card: dict[str, Any] = AN) -> CaseView:
    """The completeness check as the officer submits it: what the form shows filled in,
    completed from the citizen ID card presented, the residence history, and the verdict."""
    data = {**card, **prefill(d, "check_completeness"), **RESIDENCE}
    if complete:
        return d.complete("check_completeness", {**data, "documents_complete": True})
    return d.complete("check_completeness", {**data, "documents_complete": False, "missing_items": MISSING})


def receive(d: CaseDriver, request: dict[str, Any] = REQUEST, *, complete: bool = True) -> None:
    d.complete("receive_request", request)
    check(d, complete=complete)


def sign_and_return(d: CaseDriver) -> CaseView:
    d.complete("sign_certificate", SIGN)
    return d.complete("return_certificate", RETURN)


def supplement(d: CaseDriver) -> None:
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-04", "items": MISSING})


# --- the paths --------------------------------------------------------------------------


def issued_without_record(d: CaseDriver) -> None:
    receive(d)
    d.complete("police_verification", POLICE_NONE)
    d.complete("draft_certificate", DRAFT_NONE)
    sign_and_return(d)


def supplied_verified_elsewhere_with_convictions(d: CaseDriver) -> None:
    receive(d, WIDER_REQUEST, complete=False)
    supplement(d)
    d.complete("check_supplement", {"supplement_complete": True, "notes": "Đã đủ."})
    d.complete("request_wider_verification", WIDER)
    extend_to_fifteen_days(d)
    d.complete("police_verification", POLICE_FOUND)
    d.complete("assess_convictions", ASSESS)
    d.complete("draft_certificate", DRAFT_CONVICTIONS)
    sign_and_return(d)


def extend_to_fifteen_days(d: CaseDriver) -> CaseView:
    """Art. 48(1): 15 days instead of 10. The engine sets one time limit per procedure at
    receipt, so the director records the longer limit as a deadline extension: 5 more
    working days (the tests run in March 2026, which has no Vietnamese public holiday)."""
    case = d.case()
    assert case.due_date is not None
    new_date, added = case.due_date, 0
    while added < 5:
        new_date += timedelta(days=1)
        added += new_date.weekday() < 5
    return d.onestop.cases.extend_deadline(
        "son", d.code, new_date, "Luật Lý lịch tư pháp, khoản 1 Điều 48: xác minh tại nơi cư trú khác", d.now
    )


def returned_without_supplement(d: CaseDriver) -> None:
    receive(d, complete=False)
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    assert d.wait(days=15, minutes=1)


def returned_supplement_insufficient(d: CaseDriver) -> None:
    receive(d, complete=False)
    supplement(d)
    d.complete("check_supplement", {"supplement_complete": False, "notes": "Thiếu văn bản ủy quyền."})


def refused_identity_mismatch(d: CaseDriver) -> None:
    d.complete("receive_request", {**REQUEST, "citizen_id": UNKNOWN_ID})
    check(
        d,
        complete=True,
        card={
            "applicant_name": "Phạm Văn Dũng",
            "birth_date": "1995-07-01",
            "address": "Quận 1, TP. Hồ Chí Minh",
        },
    )
    d.complete("police_verification", POLICE_NONE)
    d.complete("draft_certificate", DRAFT_NONE)
    d.complete("sign_certificate", REFUSE)
    d.complete("notify_refusal", NOTIFY)


def overdue_verification_followed_up(d: CaseDriver) -> None:
    receive(d)
    assert d.wait(days=10) == ["timer_verification_overdue#1"]
    d.complete("follow_up_verification", FOLLOW_UP)
    d.complete("police_verification", POLICE_NONE)
    d.complete("draft_certificate", DRAFT_NONE)
    sign_and_return(d)


def police_asked_for_more_time(d: CaseDriver) -> None:
    receive(d)
    d.complete("police_verification", POLICE_PENDING)
    d.complete("follow_up_verification", FOLLOW_UP)
    d.complete("police_verification", POLICE_FOUND)
    d.complete("assess_convictions", ASSESS)
    d.complete("draft_certificate", DRAFT_CONVICTIONS)
    sign_and_return(d)


def withdrawn(d: CaseDriver) -> None:
    receive(d)
    d.onestop.cases.cancel("nam", d.code, "Người yêu cầu rút hồ sơ", d.now)


#: Every way through the procedure.
EVERY_PATH: tuple[Path, ...] = (
    issued_without_record,
    supplied_verified_elsewhere_with_convictions,
    returned_without_supplement,
    returned_supplement_insufficient,
    refused_identity_mismatch,
    overdue_verification_followed_up,
    police_asked_for_more_time,
    withdrawn,
)
