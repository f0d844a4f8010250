from __future__ import annotations

import pytest

from engine.identifiers import (
    is_iso_date,
    is_phone,
    is_thai_national_id,
    is_vn_citizen_id,
    iso_date_problem,
    phone_problem,
    thai_national_id_problem,
    vn_citizen_id_problem,
)


@pytest.mark.parametrize("value", ["1101700230074", "3101234567893"])
def test_thai_national_id_accepts_published_examples(value: str) -> None:
    assert is_thai_national_id(value)
    assert thai_national_id_problem(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1101700230075", "check digit"),
        # Valid only under the common bug that weighs digits as d*13 - i.
        ("1101700230071", "check digit"),
        ("110170023007", "must be 13 digits"),
        ("11017002300744", "must be 13 digits"),
        ("1-1017-00230-07-4", "must be 13 digits"),
        ("1101700230074\n", "must be 13 digits"),
        (" 1101700230074", "must be 13 digits"),
        ("๑๑๐๑๗๐๐๒๓๐๐๗๔", "must be 13 digits"),  # Thai digits are not ASCII digits
        ("", "must be 13 digits"),
    ],
)
def test_thai_national_id_rejects_with_reason(value: str, reason: str) -> None:
    assert not is_thai_national_id(value)
    assert thai_national_id_problem(value) == reason


@pytest.mark.parametrize("value", ["001099012345", "079203001234", "096185000001"])
def test_vn_citizen_id_accepts_plausible_ids(value: str) -> None:
    assert is_vn_citizen_id(value)


@pytest.mark.parametrize(
    ("value", "reason_start"),
    [
        ("000099012345", "unknown province code 000"),
        ("097099012345", "unknown province code 097"),
        ("99909901234", "must be 12 digits"),
        ("0010990123456", "must be 12 digits"),
        ("00109901234a", "must be 12 digits"),
        ("001 099 012345", "must be 12 digits"),
    ],
)
def test_vn_citizen_id_rejects_bad_length_and_province(value: str, reason_start: str) -> None:
    assert not is_vn_citizen_id(value)
    problem = vn_citizen_id_problem(value)
    assert problem is not None
    assert problem.startswith(reason_start)


@pytest.mark.parametrize(
    "value",
    [
        "+66812345678",
        "+66 81 234 5678",
        "+66-2-123-4567",
        "081-234-5678",
        "02 123 4567",  # Bangkok landline: 0 + 8 digits
        "+84 912 345 678",
        "0912345678",
        "024 3825 1234",  # Hà Nội landline: 0 + 10 digits
        "+44 20 7946 0958",
    ],
)
def test_phone_accepts_e164_and_national_forms(value: str) -> None:
    assert is_phone(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "+",
        "12345678",
        "0812345",  # too short for TH or VN
        "081234567890",  # too long
        "+66 081 234 5678",  # trunk 0 kept after the country code
        "+66 8123",
        "+84 91 234",
        "+0 123 456 789",
        "00 66 81 234 5678",
        "081--234-5678",
        " 0812345678",
        "0812345678 ",
        "(081) 234 5678",
        "081234567a",
        "+1234567890123456",  # 16 digits: longer than E.164 allows
    ],
)
def test_phone_rejects_malformed_numbers(value: str) -> None:
    assert not is_phone(value)
    assert phone_problem(value)


@pytest.mark.parametrize("value", ["2024-02-29", "2025-12-31", "0001-01-01"])
def test_iso_date_accepts_real_dates(value: str) -> None:
    assert is_iso_date(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2023-02-29", "no such day in the calendar"),
        ("2024-13-01", "no such day in the calendar"),
        ("0000-01-01", "no such day in the calendar"),
        ("2024-2-1", "write it as YYYY-MM-DD"),
        ("20240101", "write it as YYYY-MM-DD"),  # date.fromisoformat accepts this one
        ("2024-W01-1", "write it as YYYY-MM-DD"),
        ("2024-01-01T00:00", "write it as YYYY-MM-DD"),
        ("２０２４-01-01", "write it as YYYY-MM-DD"),
        ("", "write it as YYYY-MM-DD"),
    ],
)
def test_iso_date_rejects_impossible_or_other_forms(value: str, reason: str) -> None:
    assert not is_iso_date(value)
    assert iso_date_problem(value) == reason
