"""The paths of Vietnam's birth / residence / health-insurance bundle, driven as the ward's
one-stop desk, the civil-status officer, the police, social insurance and the ward chairwoman
would: shared by the scenario tests and the coverage test, which needs one case down each way
through the process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from engine import OneStop
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

CODE = "vn_birth_bundle"
WARD = "VN.01.001"  # Ba Dinh ward: linh (desk), minh (civil status), hoa (chairwoman)

# The declaring father is in the demo population registry (Nguyễn Văn An).
RECEIVE: dict[str, Any] = {
    "national_id": "001090012345",
    "declarant_relationship": "father",
    "phone": "+84 912 345 678",
    "submission_channel": "national_portal",
    "portal_ref": "G22.99-260302-0001",
}
UNKNOWN_PARENT = {**RECEIVE, "national_id": "079123456789"}  # well formed, not in the registry
HAND_ENTERED = {
    "applicant_name": "Phạm Thị Dung",
    "applicant_birth_date": "1994-06-18",
    "applicant_address": "Số 3 ngõ 8 phố Giang Văn Minh, phường Ba Đình, Hà Nội",
    "lookup_note": "Number checked against the CCCD card presented at the desk.",
}
CHILD: dict[str, Any] = {
    "child_name": "Nguyễn Minh Khang",
    "child_birth_date": "2026-02-25",
    "child_sex": "male",
    "child_birth_place": "Bệnh viện Phụ sản Hà Nội, 929 đường La Thành, Hà Nội",
    "child_ethnicity": "Kinh",
    "mother_name": "Trần Thị Bình",
    "mother_id": "001192004567",
    "father_name": "Nguyễn Văn An",
    "father_id": "001090012345",
    "residence_address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
    "preferred_health_facility": "Trạm y tế phường Ba Đình",
}
COMPLETE = {**CHILD, "documents_complete": True}
MISSING = ["Tờ khai tham gia BHYT (mẫu TK1-TS)", "Giấy chứng sinh (bản chụp rõ nét)"]
INCOMPLETE = {**CHILD, "documents_complete": False, "missing_items": MISSING}
REQUEST = {"request_ref": "BD-YCBS-2026-0042", "deadline_days": 5, "supplement_notes": "Sent via the portal."}
SUPPLIED = {"received_on": "2026-03-04", "items": MISSING}

BIRTH_OK = {
    "birth_certificate_present": True,
    "birth_decision": "registered",
    "child_personal_id": "001226001234",
    "birth_register_no": "15/2026, quyển 01",
    "birth_registered_on": "2026-03-02",
}
BIRTH_REFUSED = {
    "birth_certificate_present": False,
    "birth_decision": "refused",
    "birth_refusal_reason": "Không có giấy chứng sinh và không có văn bản của người làm chứng.",
}
RESIDENCE_OK = {
    "residence_decision": "registered",
    "residence_registered_on": "2026-03-03",
    "residence_household_head": "Nguyễn Văn An",
}
RESIDENCE_REFUSED = {
    "residence_decision": "refused",
    "residence_refusal_reason": "Chỗ ở hợp pháp đã bị thu hồi; chưa đủ điều kiện đăng ký thường trú.",
}
CARD_OK = {
    "bhyt_decision": "issued",
    "bhyt_card_no": "TE1010123456789",
    "bhyt_valid_from": "2026-02-25",
    "bhyt_valid_to": "2032-02-24",
    "bhyt_health_facility": "Trạm y tế phường Ba Đình",
}
CARD_REFUSED = {"bhyt_decision": "refused", "bhyt_refusal_reason": "Trẻ đã có thẻ BHYT do cơ quan khác cấp."}
CONFIRM = {"bundle_decision": "confirm", "confirmation_notes": "Đã ký trích lục."}
RETURN = {"bundle_decision": "return", "return_reason": "Sai chính tả tên đệm của trẻ trong Sổ đăng ký."}
CORRECTED = {"correction_made": "Sửa tên đệm của trẻ: Minh.", "corrected_on": "2026-03-03"}
RESULTS = {"birth_extract_no": "TL-15/2026", "return_channel": "electronic", "returned_on": "2026-03-04"}
REFUSAL_NOTICE = {"refusal_notice_ref": "BD-TC-2026-0007", "refusal_notified_on": "2026-03-03"}

BRANCHES = ["issue_health_card", "register_birth", "register_residence"]

Path = Callable[[CaseDriver], None]


def drive(onestop: OneStop, path: Path, start: datetime = T0) -> str:
    """One case down ``path``, started at ``start`` in the ward; its dossier code."""
    driver = CaseDriver(onestop, start, reload_each_step=False)
    driver.start(CODE, unit=WARD)
    path(driver)
    return driver.code


def intake(d: CaseDriver, check: dict[str, Any] = COMPLETE) -> None:
    """Receive the dossier of the registered father and check it."""
    d.complete("receive_application", RECEIVE)
    d.complete("check_completeness", check)


def agencies(
    d: CaseDriver,
    birth: dict[str, Any] = BIRTH_OK,
    residence: dict[str, Any] = RESIDENCE_OK,
    card: dict[str, Any] = CARD_OK,
) -> None:
    """The three agencies work the bundle in parallel (in an order other than the model's)."""
    assert d.open_elements() == BRANCHES
    d.complete("issue_health_card", card)
    d.complete("register_residence", residence)
    d.complete("register_birth", birth)


def confirm_and_return(d: CaseDriver) -> None:
    d.complete("confirm_bundle", CONFIRM)
    d.complete("return_results", RESULTS)


def completed(d: CaseDriver) -> None:
    intake(d)
    agencies(d)
    confirm_and_return(d)


def parent_typed_in_and_residence_refused(d: CaseDriver) -> None:
    d.complete("receive_application", UNKNOWN_PARENT)
    d.complete("enter_parent_data", HAND_ENTERED)
    # No father is established: his fields stay empty.
    d.complete("check_completeness", {k: v for k, v in COMPLETE.items() if not k.startswith("father")})
    agencies(d, residence=RESIDENCE_REFUSED)
    confirm_and_return(d)


def supplied_then_card_refused(d: CaseDriver) -> None:
    intake(d, INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.now += timedelta(days=2)  # the father answers on Wednesday
    d.deliver("documents_supplied", SUPPLIED)
    d.complete("check_supplement", {"supplement_complete": True})
    agencies(d, card=CARD_REFUSED)
    confirm_and_return(d)


def supplement_insufficient(d: CaseDriver) -> None:
    intake(d, INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    d.deliver("documents_supplied", {"received_on": "2026-03-03", "items": MISSING[:1]})
    d.complete(
        "check_supplement", {"supplement_complete": False, "supplement_check_notes": "No certificate."}
    )


def returned_without_supplement(d: CaseDriver) -> None:
    intake(d, INCOMPLETE)
    d.complete("request_supplement", REQUEST)
    assert d.wait(days=8) == ["gw_await_supplement#1"]  # the event-based gateway's timer


def birth_refused(d: CaseDriver) -> None:
    intake(d)
    agencies(d, birth=BIRTH_REFUSED)
    d.complete("notify_birth_refused", REFUSAL_NOTICE)


def returned_by_chairwoman(d: CaseDriver) -> None:
    intake(d)
    agencies(d)
    d.complete("confirm_bundle", RETURN)
    d.complete("correct_birth_record", CORRECTED)
    confirm_and_return(d)


def confirmed_late(d: CaseDriver) -> None:
    intake(d)
    agencies(d)
    assert d.wait(days=4) == ["timer_confirmation_overdue#1"]  # Friday 6 March: past Thursday's date
    confirm_and_return(d)


def withdrawn(d: CaseDriver) -> None:
    intake(d)
    d.onestop.cases.cancel("linh", d.code, "The father withdrew the online dossier", d.now)


#: Every way through the bundle.
EVERY_PATH: tuple[Path, ...] = (
    completed,
    parent_typed_in_and_residence_refused,
    supplied_then_card_refused,
    supplement_insufficient,
    returned_without_supplement,
    birth_refused,
    returned_by_chairwoman,
    confirmed_late,
    withdrawn,
)
