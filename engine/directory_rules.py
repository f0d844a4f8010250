"""What a valid user, role, org unit and unit name look like.

Pure checks, no database: each returns the cleaned value or raises :class:`InputRejected`
naming the field and the value refused. Uniqueness and existence are checked by the
commands in :mod:`engine.administration`, inside their transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InputRejected

SYSTEM_ACTOR = "system"
UNIT_LEVELS = ("province", "commune")
USER_LOCALES = ("th", "vi", "en")
USERNAME = re.compile(r"[a-z0-9._-]{3,100}")
ROLE = re.compile(r"[a-z][a-z0-9_]{1,63}")
COUNTRY = re.compile(r"[A-Z]{2}")
MAX_NAME_LENGTH = 200
MAX_UNIT_CODE_LENGTH = 64
MAX_TIMEZONE_LENGTH = 64


def check_username(username: str) -> str:
    """A new user name: 3–100 lowercase letters, digits, '.', '_' or '-'; not the system's.

    Raises:
        InputRejected: the name breaks these rules.
    """
    if not USERNAME.fullmatch(username):
        raise InputRejected(
            f"user name '{username}' must be 3 to 100 characters of lowercase letters, digits, "
            "'.', '_' or '-'",
            field="username",
        )
    if username == SYSTEM_ACTOR:
        raise InputRejected(
            f"user name '{username}' is reserved for the system; choose another", field="username"
        )
    return username


def check_display_name(display_name: str, field: str = "display_name") -> str:
    """A person's or unit's name, trimmed: non-empty, at most 200 characters.

    Raises:
        InputRejected: empty or too long.
    """
    cleaned = display_name.strip()
    if not cleaned:
        raise InputRejected(f"{field} must not be empty", field=field)
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InputRejected(
            f"{field} '{cleaned[:40]}…' has {len(cleaned)} characters; at most {MAX_NAME_LENGTH} are allowed",
            field=field,
        )
    return cleaned


def check_locale(locale: str) -> str:
    """One of the languages the workbench offers.

    Raises:
        InputRejected: any other value.
    """
    if locale not in USER_LOCALES:
        raise InputRejected(
            f"locale '{locale}' is not offered; choose one of {', '.join(USER_LOCALES)}", field="locale"
        )
    return locale


def check_role(role: str) -> str:
    """A role name: a lowercase letter, then 1–63 lowercase letters, digits or '_'.

    Procedures name their lane roles freely; ``admin`` and ``auditor`` follow the same rule.

    Raises:
        InputRejected: the name breaks the rule.
    """
    if not ROLE.fullmatch(role):
        raise InputRejected(
            f"role '{role}' must start with a lowercase letter followed by 1 to 63 lowercase "
            "letters, digits or '_'",
            field="role",
        )
    return role


def check_unit_code(code: str) -> str:
    """An org unit code: 1–64 characters, no '/' (it separates codes in unit paths), no spaces.

    Raises:
        InputRejected: the code breaks these rules.
    """
    if not code or len(code) > MAX_UNIT_CODE_LENGTH or "/" in code or any(c.isspace() for c in code):
        raise InputRejected(
            f"org unit code '{code}' must have 1 to {MAX_UNIT_CODE_LENGTH} characters, without '/' or spaces",
            field="code",
        )
    return code


def check_level(level: str) -> str:
    """``province`` or ``commune``.

    Raises:
        InputRejected: any other level.
    """
    if level not in UNIT_LEVELS:
        raise InputRejected(
            f"org unit level '{level}' is unknown; choose one of {', '.join(UNIT_LEVELS)}", field="level"
        )
    return level


def check_timezone(timezone: str) -> str:
    """An IANA time-zone name known to this system (``Asia/Bangkok``, ``Asia/Ho_Chi_Minh``).

    Raises:
        InputRejected: an unknown or malformed name.
    """
    refused = InputRejected(
        f"time zone '{timezone}' is not a known IANA time zone such as 'Asia/Bangkok'", field="timezone"
    )
    if not timezone or len(timezone) > MAX_TIMEZONE_LENGTH or timezone != timezone.strip():
        raise refused
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise refused from exc
    return timezone


def check_country(country: str) -> str:
    """A two-letter upper-case country code (``TH``, ``VN``).

    Raises:
        InputRejected: anything else.
    """
    if not COUNTRY.fullmatch(country):
        raise InputRejected(
            f"country '{country}' must be a two-letter upper-case code such as 'TH'", field="country"
        )
    return country


def check_unit_names(names: Mapping[str, str]) -> dict[str, str]:
    """A unit's name per language, trimmed; an empty entry means "no name in that language".

    Raises:
        InputRejected: a language that is not offered, or a name too long.
    """
    cleaned: dict[str, str] = {}
    for locale, name in names.items():
        if locale not in USER_LOCALES:
            raise InputRejected(
                f"names: language '{locale}' is not offered; use {', '.join(USER_LOCALES)}", field="names"
            )
        if name.strip():
            cleaned[locale] = check_display_name(name, field=f"names.{locale}")
    return cleaned
