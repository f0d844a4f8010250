"""The paths of the Vietnamese first-time complaint resolution (Law on Complaints 2011),
driven as staff and the worker would: one case down each way through the process, shared
by the scenario tests and the coverage test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine import OneStop
from tests.conftest import T0
from tests.procedures.driver import CaseDriver

CODE = "vn_complaint"
UNIT = "VN.01"  # the city's citizen-reception / one-stop desk; the city inspectorate handles

KNOWN_ID = "001090012345"  # Nguyễn Văn An in demo/population.json
UNKNOWN_ID = "079095001234"  # well-formed (Ho Chi Minh City), not in the registry
AN = {
    "complainant_name": "Nguyễn Văn An",
    "birth_date": "1990-03-12",
    "complainant_address": "Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
}
BY_HAND = {
    "complainant_name": "Phạm Thị Dung",
    "birth_date": "1995-06-30",
    "complainant_address": "Thôn Đông, xã Sóc Sơn, Hà Nội",
}

COMPLAINT: dict[str, Any] = {
    "national_id": KNOWN_ID,
    "phone": "+84 912 345 678",
    "submitted_via": "letter_at_desk",
    "complained_act_type": "administrative_decision",
    "complained_act": "Quyết định 152/QĐ-UBND ngày 05/02/2026 về thu hồi đất tại phường Ba Đình",
    "complained_body": "Ủy ban nhân dân thành phố Hà Nội",
    "date_known": "2026-02-10",
    "complaint_content": "Diện tích đất bị thu hồi ghi sai 35 m² so với sổ đỏ.",
    "request": "Sửa lại diện tích thu hồi và mức bồi thường.",
}
COMPLETE = {"documents_complete": True}
MISSING = ["Bản sao Quyết định 152/QĐ-UBND", "Chữ ký của người khiếu nại trên đơn"]
INCOMPLETE = {"documents_complete": False, "missing_items": MISSING}
SUPPLEMENT_REQUEST = {"request_ref": "TT-BS-2026-0007", "deadline_days": 15, "notes": "Giao trực tiếp."}
SUPPLIED = {"received_on": "2026-03-09", "items": MISSING}
ACCEPT = {"acceptance": "accept", "complexity": "simple", "remote_area": False}
ACCEPT_COMPLICATED = {"acceptance": "accept", "complexity": "complicated", "remote_area": False}
REJECT = {
    "acceptance": "reject",
    "non_acceptance_ground": "time_limit_expired",
    "reasons": "Đơn nộp sau 90 ngày kể từ ngày biết quyết định, không có lý do chính đáng (Điều 9, 11).",
}
ACCEPTANCE_NOTICE = {"notice_ref": "TB-TL-2026-0031", "notified_on": "2026-03-05"}
NON_ACCEPTANCE_NOTICE = {
    "notice_ref": "TB-KTL-2026-0009",
    "notified_on": "2026-03-05",
    "redirected_to": "Tòa án nhân dân thành phố Hà Nội",
}


def verification(assessment: str) -> dict[str, Any]:
    return {
        "verification_report_ref": "BC-XM-2026-0012",
        "verified_on": "2026-03-20",
        "findings": "Đo đạc lại: diện tích thu hồi đúng 120 m², quyết định ghi 155 m².",
        "verification_assessment": assessment,
    }


DIALOGUE = {
    "dialogue_on": "2026-03-25",
    "dialogue_minutes_ref": "BB-DT-2026-0004",
    "participants": ["Nguyễn Văn An", "Đại diện UBND phường Ba Đình", "Thanh tra thành phố"],
    "dialogue_outcome": "Người khiếu nại đồng ý kết quả đo đạc; giữ yêu cầu về mức bồi thường.",
}


def decision(result: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "decision_no": "QĐ-GQKN-2026-0015",
        "decided_on": "2026-03-30",
        "result": result,
        "reasons": "Căn cứ kết quả xác minh và Luật Đất đai 2024.",
    }
    if result != "rejected":
        data["remedies"] = ["Sửa diện tích thu hồi thành 120 m²", "Tính lại mức bồi thường"]
    return data


SEND = {"sent_on": "2026-04-01", "sent_to": ["complainant", "higher_authority"], "published": True}
WITHDRAWAL = {"received_on": "2026-03-18", "letter_ref": "Đơn rút khiếu nại ngày 18/03/2026"}
SUSPEND = {"suspension_decision_no": "QĐ-ĐC-2026-0003", "suspended_on": "2026-03-19"}
DIRECTION = {
    "delay_reasons": "Chờ kết quả đo đạc của Văn phòng đăng ký đất đai.",
    "instruction": "Thanh tra hoàn thành xác minh, trình quyết định trong 5 ngày làm việc.",
    "target_date": "2026-04-20",
}

Path = Callable[[CaseDriver], None]


def start(d: CaseDriver, start_data: dict[str, Any] | None = None, **complaint: Any) -> None:
    """Start a case at the city desk and receive the complaint (the registry runs next)."""
    d.start(CODE, unit=UNIT, data=start_data)
    d.complete("receive_complaint", {**COMPLAINT, **complaint})


def accepted(d: CaseDriver, acceptance: dict[str, Any] = ACCEPT) -> None:
    """Received, complete, accepted and notified: the inspector verifies next."""
    start(d)
    d.complete("check_completeness", COMPLETE)
    d.complete("decide_acceptance", acceptance)
    d.complete("notify_acceptance", ACCEPTANCE_NOTICE)


def request_supplement(d: CaseDriver) -> None:
    """The one supplement request; the desk stops the clock while the complainant answers
    (the manual leaves the automatic pause off: see manual.yaml)."""
    d.complete("check_completeness", INCOMPLETE)
    d.complete("request_supplement", SUPPLEMENT_REQUEST)
    d.onestop.cases.pause_clock("nam", d.code, "Chờ người khiếu nại bổ sung hồ sơ", d.now)


def supply(d: CaseDriver, payload: dict[str, Any]) -> None:
    d.deliver("documents_supplied", payload)
    d.onestop.cases.resume_clock("nam", d.code, d.now)


def decide_and_send(d: CaseDriver, result: str) -> None:
    d.complete("decide_complaint", decision(result))
    d.complete("send_decision", SEND)


# -- the paths -----------------------------------------------------------------------------


def upheld_without_dialogue(d: CaseDriver) -> None:
    accepted(d)
    d.complete("verify_complaint", verification("well_founded"))
    decide_and_send(d, "upheld")


def supplied_then_partly_upheld(d: CaseDriver) -> None:
    start(d)
    request_supplement(d)
    d.wait(days=7)
    supply(d, SUPPLIED)
    d.complete("check_supplement", {"supplement_complete": True, "notes": "Đủ."})
    d.complete("decide_acceptance", ACCEPT_COMPLICATED)
    d.complete("notify_acceptance", ACCEPTANCE_NOTICE)
    d.complete("verify_complaint", verification("partly_founded"))
    d.complete("hold_dialogue", DIALOGUE)
    decide_and_send(d, "partly_upheld")


def rejected_after_dialogue(d: CaseDriver) -> None:
    accepted(d)
    d.complete("verify_complaint", verification("unfounded"))
    d.complete("hold_dialogue", DIALOGUE)
    decide_and_send(d, "rejected")


def unknown_id_not_accepted(d: CaseDriver) -> None:
    start(d, national_id=UNKNOWN_ID)
    d.complete("record_complainant", BY_HAND)
    d.complete("check_completeness", COMPLETE)
    d.complete("decide_acceptance", REJECT)
    d.complete("notify_non_acceptance", NON_ACCEPTANCE_NOTICE)


def returned_without_supplement(d: CaseDriver) -> None:
    start(d)
    request_supplement(d)
    assert d.wait(days=15, minutes=1)


def returned_insufficient(d: CaseDriver) -> None:
    start(d)
    request_supplement(d)
    supply(d, {"received_on": "2026-03-06", "items": MISSING[:1]})
    d.complete("check_supplement", {"supplement_complete": False, "notes": "Đơn vẫn chưa ký."})


def withdrawn_during_verification(d: CaseDriver) -> None:
    accepted(d)
    d.deliver("complaint_withdrawn", WITHDRAWAL)
    d.complete("suspend_resolution", SUSPEND)


def withdrawn_during_dialogue(d: CaseDriver) -> None:
    accepted(d)
    d.complete("verify_complaint", verification("unfounded"))
    d.deliver("complaint_withdrawn", WITHDRAWAL)
    d.complete("suspend_resolution", SUSPEND)


def overdue_directed_then_upheld(d: CaseDriver) -> None:
    accepted(d)
    assert d.wait(days=45) == ["timer_resolution_overdue#1"]
    d.complete("direct_overdue_resolution", DIRECTION)
    d.complete("verify_complaint", verification("well_founded"))
    decide_and_send(d, "upheld")


def withdrawn_before_acceptance(d: CaseDriver) -> None:
    start(d)
    d.onestop.cases.cancel("nam", d.code, "Người khiếu nại rút đơn trước khi thụ lý (Điều 10)", d.now)


def in_verification(d: CaseDriver) -> None:
    accepted(d)


#: Every way through the procedure.
EVERY_PATH: tuple[Path, ...] = (
    upheld_without_dialogue,
    supplied_then_partly_upheld,
    rejected_after_dialogue,
    unknown_id_not_accepted,
    returned_without_supplement,
    returned_insufficient,
    withdrawn_during_verification,
    withdrawn_during_dialogue,
    overdue_directed_then_upheld,
    withdrawn_before_acceptance,
    in_verification,
)


def drive(onestop: OneStop, path: Path, start_at: datetime = T0) -> str:
    """One case down ``path``, started at ``start_at``; its dossier code."""
    driver = CaseDriver(onestop, start_at, reload_each_step=False)
    path(driver)
    return driver.code
