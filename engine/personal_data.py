"""Personal data in case data: which fields, who needs them, and masking for everyone else.

A procedure's manual declares its personal fields and the roles whose work needs them::

    personal_data:
      fields: [applicant_name, national_id, phone]
      needed_by: [intake_officer, approver]

A reader holding one of those roles over the case's unit sees the values; any other reader
(an engineer, an auditor) sees them masked. Without a declaration, the fields the engine
knows as the applicant's (name, national or citizen id, phone) are personal and only the
starter role needs them.
"""

from __future__ import annotations

from typing import Any

from engine.authorization import Principal

DEFAULT_FIELDS = ("applicant_name", "national_id", "citizen_id", "phone")
MASK = "•••"


def personal_fields(manual: dict[str, Any]) -> tuple[str, ...]:
    declared = (manual.get("personal_data") or {}).get("fields")
    if isinstance(declared, list) and all(isinstance(name, str) for name in declared):
        return tuple(declared)
    return DEFAULT_FIELDS


def roles_needing(manual: dict[str, Any], starter_role: str) -> tuple[str, ...]:
    declared = (manual.get("personal_data") or {}).get("needed_by")
    if isinstance(declared, list) and all(isinstance(role, str) for role in declared):
        return tuple(declared)
    return (starter_role,)


def mask_value(value: Any) -> Any:
    """A masked stand-in that keeps a little for recognising the right record: the last
    four characters of an identifier or number, the first letter of a name."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return text
        if any(ch.isdigit() for ch in text) and len(text) > 4:
            return MASK + text[-4:]
        return text[0] + MASK
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    return MASK


def visible_data(
    data: dict[str, Any], principal: Principal, unit_path: str, manual: dict[str, Any], starter_role: str
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The data as ``principal`` may see it, and the names of the fields that were masked."""
    if principal.holds_any(roles_needing(manual, starter_role), unit_path):
        return dict(data), ()
    masked = tuple(sorted(name for name in personal_fields(manual) if name in data))
    shown = {name: (mask_value(value) if name in masked else value) for name, value in data.items()}
    return shown, masked
