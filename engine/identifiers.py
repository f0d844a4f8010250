"""Checks for the identifiers citizens type into forms: national IDs, phones, dates.

Every check is a predicate over ``str`` that never raises: forms call them through
jsonschema's format checker, and callers that need to say *why* a value failed use the
``*_problem`` helpers, which return a short English reason or ``None``.

Only ASCII digits count as digits. ``str.isdigit`` would also accept Thai digits (๑๒๓),
superscripts and other Unicode numerals, which no registry stores.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = [
    "is_iso_date",
    "is_phone",
    "is_thai_national_id",
    "is_vn_citizen_id",
    "iso_date_problem",
    "phone_problem",
    "thai_national_id_problem",
    "vn_citizen_id_problem",
]

_THAI_ID = re.compile(r"[0-9]{13}")
_VN_ID = re.compile(r"[0-9]{12}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Digit groups separated by single spaces or dashes, optionally led by "+".
_PHONE_SHAPE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")

# CCCD province codes run from 001 (Hà Nội) to 096 (Cà Mau); codes in between are
# not all allocated, but the range is what the issuing rules define as plausible.
_VN_PROVINCE_MIN = 1
_VN_PROVINCE_MAX = 96

# Digits of the national significant number (after the country code or trunk "0").
_NATIONAL_LENGTHS = {"66": range(8, 10), "84": range(9, 11)}
# E.164 allows at most 15 digits including the country code.
_E164_MIN_DIGITS = 7
_E164_MAX_DIGITS = 15


def thai_national_id_problem(value: str) -> str | None:
    """Say why ``value`` is not a Thai national ID (เลขประจำตัวประชาชน).

    The 13th digit is a check digit: ``(11 - (Σ d_i·(13-i) for i in 0..11) mod 11) mod 10``.

    Args:
        value: the ID as typed, without spaces or dashes.

    Returns:
        ``None`` when the ID is valid, otherwise a short reason such as ``"check digit"``.
    """
    if not _THAI_ID.fullmatch(value):
        return "must be 13 digits"
    digits = [int(c) for c in value]
    weighted = sum(d * (13 - i) for i, d in enumerate(digits[:12]))
    if (11 - weighted % 11) % 10 != digits[12]:
        return "check digit"
    return None


def is_thai_national_id(value: str) -> bool:
    """Tell whether ``value`` is 13 ASCII digits with a correct Thai check digit.

    Args:
        value: the ID as typed, without spaces or dashes.

    Returns:
        ``True`` for a valid ID such as ``"1101700230074"``.
    """
    return thai_national_id_problem(value) is None


def vn_citizen_id_problem(value: str) -> str | None:
    """Say why ``value`` is not a Vietnamese citizen ID (CCCD).

    Layout: 3-digit province code (001-096), 1 digit for sex and century of birth,
    2 digits of birth year, 6 digits of sequence. The number carries no check digit.

    Args:
        value: the ID as typed, without spaces or dashes.

    Returns:
        ``None`` when the ID is plausible, otherwise a short reason.
    """
    if not _VN_ID.fullmatch(value):
        return "must be 12 digits"
    province = int(value[:3])
    if not _VN_PROVINCE_MIN <= province <= _VN_PROVINCE_MAX:
        return f"unknown province code {value[:3]}; codes run from 001 to 096"
    return None


def is_vn_citizen_id(value: str) -> bool:
    """Tell whether ``value`` is a plausible 12-digit Vietnamese citizen ID.

    Args:
        value: the ID as typed, without spaces or dashes.

    Returns:
        ``True`` when it has 12 ASCII digits and a province code between 001 and 096.
    """
    return vn_citizen_id_problem(value) is None


def phone_problem(value: str) -> str | None:
    """Say why ``value`` is not a phone number we can call.

    Accepted: E.164 (``+66 81 234 5678``, ``+84 912 345 678``, any other country code
    with 7-15 digits) and the national forms of Thailand (``0`` + 8-9 digits) and
    Vietnam (``0`` + 9-10 digits). Single spaces or dashes may separate digit groups.

    Args:
        value: the number as typed.

    Returns:
        ``None`` when the number is acceptable, otherwise a short reason.
    """
    if not _PHONE_SHAPE.fullmatch(value):
        return "use digits, optionally grouped by spaces or dashes, with an optional leading +"
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return _international_problem(digits[1:])
    if not digits.startswith("0") or digits.startswith("00"):
        return "start with + and the country code, or with a single 0"
    if len(digits) - 1 not in range(8, 11):
        return "a national number has 0 and then 8 to 10 digits"
    return None


def _international_problem(digits: str) -> str | None:
    if not _E164_MIN_DIGITS <= len(digits) <= _E164_MAX_DIGITS or digits.startswith("0"):
        return "an international number has + and then 7 to 15 digits"
    for country, lengths in _NATIONAL_LENGTHS.items():
        if digits.startswith(country):
            national = digits[len(country) :]
            # Writing the trunk "0" after the country code is the usual mistake.
            if national.startswith("0"):
                return f"drop the 0 after +{country}"
            if len(national) not in lengths:
                return f"+{country} is followed by {lengths.start} to {lengths.stop - 1} digits"
    return None


def is_phone(value: str) -> bool:
    """Tell whether ``value`` is an E.164 number or a Thai/Vietnamese national number.

    Args:
        value: the number as typed; single spaces or dashes between groups are fine.

    Returns:
        ``True`` for numbers such as ``"+66 81 234 5678"`` or ``"0912-345-678"``.
    """
    return phone_problem(value) is None


def iso_date_problem(value: str) -> str | None:
    """Say why ``value`` is not a calendar date written ``YYYY-MM-DD``.

    ``date.fromisoformat`` is not used alone because since Python 3.11 it also accepts
    ``20250101`` and week dates, which forms must not store.

    Args:
        value: the date as typed.

    Returns:
        ``None`` for a real date such as ``"2024-02-29"``, otherwise a short reason.
    """
    match = _ISO_DATE.fullmatch(value)
    if match is None:
        return "write it as YYYY-MM-DD"
    year, month, day = (int(part) for part in match.groups())
    try:
        date(year, month, day)
    except ValueError:
        return "no such day in the calendar"
    return None


def is_iso_date(value: str) -> bool:
    """Tell whether ``value`` is a real calendar date written ``YYYY-MM-DD``.

    Args:
        value: the date as typed.

    Returns:
        ``True`` for ``"2024-02-29"``, ``False`` for ``"2023-02-29"`` or ``"2024-2-1"``.
    """
    return iso_date_problem(value) is None
