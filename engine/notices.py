"""Notices to applicants, as outbox payloads (see :mod:`engine.outbox` for the shape).

Written in the language of the office's country (Thai for TH, Vietnamese for VN, else
English) and carrying only what the applicant needs: the dossier code, the procedure, the
dates and the reason. Delay notices under Thailand's Licensing Facilitation Act B.E. 2558
(s.10) are copied to the oversight office.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.case_records import CaseRecord

_LANGUAGE = {"TH": "th", "VN": "vi"}

_EXTENSION = {
    "en": (
        "Dossier {code}: new appointment date {due}",
        "Your dossier {code} ({procedure}) cannot be decided by {previous}. "
        "The new appointment date is {due}.\nReason: {reason}\n{apology}We apologise for the delay.",
        "Apology letter: {ref}\n",
    ),
    "th": (
        "เรื่อง {code}: วันนัดรับผลใหม่ {due}",
        "คำขอ {code} ({procedure}) ไม่สามารถพิจารณาแล้วเสร็จภายในวันที่ {previous} "
        "วันนัดรับผลใหม่คือวันที่ {due}\nเหตุผล: {reason}\n{apology}ขออภัยในความล่าช้า",
        "หนังสือขออภัย: {ref}\n",
    ),
    "vi": (
        "Hồ sơ {code}: ngày hẹn trả kết quả mới {due}",
        "Hồ sơ {code} ({procedure}) không thể giải quyết xong trước ngày {previous}. "
        "Ngày hẹn trả kết quả mới là {due}.\nLý do: {reason}\n{apology}Xin lỗi ông/bà vì sự chậm trễ.",
        "Văn bản xin lỗi: {ref}\n",
    ),
}

_DELAY = {
    "en": (
        "Dossier {code}: decision delayed",
        "The decision on your dossier {code} ({procedure}) was due on {due} and has not yet been "
        "made. The office is still working on it and will write again in 7 days if it is not "
        "decided by then.{reason}",
    ),
    "th": (
        "เรื่อง {code}: แจ้งความล่าช้าในการพิจารณา",
        "คำขอ {code} ({procedure}) ครบกำหนดพิจารณาเมื่อวันที่ {due} แต่ยังพิจารณาไม่แล้วเสร็จ "
        "หน่วยงานจะแจ้งความคืบหน้าให้ทราบทุก 7 วันจนกว่าจะพิจารณาแล้วเสร็จ "
        "(พระราชบัญญัติการอำนวยความสะดวกในการพิจารณาอนุญาตของทางราชการ พ.ศ. 2558 มาตรา 10){reason}",
    ),
    "vi": (
        "Hồ sơ {code}: thông báo chậm giải quyết",
        "Hồ sơ {code} ({procedure}) đến hạn giải quyết ngày {due} nhưng chưa có kết quả. "
        "Cơ quan sẽ thông báo lại sau 7 ngày nếu vẫn chưa giải quyết xong.{reason}",
    ),
}


def language_of(country: str) -> str:
    return _LANGUAGE.get(country, "en")


def extension_notice(
    case: CaseRecord, manual: Mapping[str, Any], unit_code: str, country: str, extension: Mapping[str, Any]
) -> dict[str, Any]:
    """The notice of a deadline extension (``extension`` is the event's payload)."""
    language = language_of(country)
    subject, body, apology = _EXTENSION[language]
    ref = extension.get("apology_ref")
    facts = {
        "code": case.dossier_code,
        "procedure": procedure_name(manual, language),
        "previous": _day(extension["previous_due_date"]),
        "due": _day(extension["due_date"]),
        "reason": extension.get("reason") or "",
        "apology": apology.format(ref=ref) if ref else "",
    }
    return _notice(
        case, unit_code, "extension", subject.format(**facts), body.format(**facts), False, extension
    )


def delay_notice(
    case: CaseRecord, manual: Mapping[str, Any], unit_code: str, country: str, result: Mapping[str, Any]
) -> dict[str, Any]:
    """The notice that a decision is overdue (``result`` is the recorded connector answer)."""
    language = language_of(country)
    subject, body = _DELAY[language]
    reason = result.get("reason")
    facts = {
        "code": case.dossier_code,
        "procedure": procedure_name(manual, language),
        "due": _day(case.due_date.isoformat()) if case.due_date else "—",
        "reason": f"\n{reason}" if reason else "",
    }
    data = {"due_date": case.due_date.isoformat() if case.due_date else None, **dict(result)}
    copy = bool(result.get("copy_oversight", True))
    return _notice(case, unit_code, "delay", subject.format(**facts), body.format(**facts), copy, data)


def procedure_name(manual: Mapping[str, Any], language: str) -> str:
    name = manual.get("name")
    if isinstance(name, dict):
        return str(name.get(language) or name.get("en") or next(iter(name.values()), ""))
    return str(name or manual.get("code") or "")


def _notice(
    case: CaseRecord,
    unit_code: str,
    kind: str,
    subject: str,
    body: str,
    copy_oversight: bool,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    applicant = case.applicant or {}
    return {
        "kind": kind,
        "dossier_code": case.dossier_code,
        "unit": unit_code,
        "recipients": [
            {"kind": "applicant", "name": applicant.get("applicant_name"), "address": applicant.get("email")}
        ],
        "copy_oversight": copy_oversight,
        "subject": subject,
        "body": body,
        "data": dict(data),
    }


def _day(iso: str) -> str:
    return date.fromisoformat(iso).isoformat()
