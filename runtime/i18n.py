"""Translations and locale-aware formatting for the workbench pages.

Message catalogs live as gettext ``.po`` files under ``runtime/locale/<locale>/LC_MESSAGES/onestop.po``.
They are read with Babel and compiled in memory on first use, so the repository carries no binary
``.mo`` files and there is no compile step. English is the source language: it needs no catalog, and any
locale without one falls back to it.

This module is deliberately free of Streamlit so that the CLI, background jobs and tests can use it.

Typical use in a page::

    t = translator(locale)
    _ = t.gettext
    st.button(_("Claim"))
    st.caption(_("Held by {user}").format(user=holder))
"""

from __future__ import annotations

import gettext
import logging
import threading
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from babel.messages.catalog import Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_NAMES",
    "LOCALES",
    "format_date",
    "format_datetime",
    "format_days",
    "translator",
]

LOCALES: tuple[str, ...] = ("th", "vi", "en")
"""Locales the workbench offers, in the order shown in the language picker."""

DEFAULT_LOCALE: Final = "en"
"""The source language of the message ids; also the fallback for unknown locales."""

LANGUAGE_NAMES: Final[dict[str, str]] = {"th": "ไทย", "vi": "Tiếng Việt", "en": "English"}
"""Each locale's name in its own language, for the language picker."""

DOMAIN: Final = "onestop"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"

_log = logging.getLogger(__name__)
_cache: dict[str, gettext.NullTranslations] = {}
_cache_lock = threading.Lock()


def translator(locale: str) -> gettext.NullTranslations:
    """Return the translations for a locale, loading its catalog once per process.

    Region suffixes are ignored (``"th-TH"`` and ``"th_TH"`` mean ``"th"``). English, an unknown
    locale and a supported locale whose catalog file is missing all get plain
    :class:`gettext.NullTranslations`, which returns the message id unchanged. Entries that are
    fuzzy or have an empty translation also fall back to the message id.

    Args:
        locale: A locale code such as ``"th"``, ``"vi"`` or ``"en"``.

    Returns:
        A translations object; use its ``gettext`` and ``ngettext`` methods. The same object is
        returned on every call for the same locale, from any thread.
    """
    key = _language(locale)
    found = _cache.get(key)
    if found is not None:
        return found
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = _load(key)
            _cache[key] = found
        return found


def format_date(value: date, locale: str) -> str:
    """Format a calendar date the way staff in the locale write it.

    Thai uses the Buddhist era and abbreviated Thai month names (``"2 มี.ค. 2569"``), Vietnamese uses
    ``dd/mm/yyyy`` (``"02/03/2026"``) and English uses ``"2 Mar 2026"``. Unknown locales are
    formatted as English. A ``datetime`` is accepted but only its date fields are used, with no
    time-zone conversion; use :func:`format_datetime` for instants.

    Args:
        value: The date to format.
        locale: A locale code such as ``"th"``, ``"vi"`` or ``"en"``.

    Returns:
        The formatted date.
    """
    language = _language(locale)
    if language == "vi":
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    if language == "th":
        return f"{value.day} {_month_abbreviation(value.month, 'th')} {value.year + 543}"
    return f"{value.day} {_month_abbreviation(value.month, 'en')} {value.year}"


def format_datetime(value: datetime, locale: str, timezone: str) -> str:
    """Format an instant as local date and 24-hour time in a unit's time zone.

    Args:
        value: The instant to format. A naive datetime is taken to be in UTC.
        locale: A locale code such as ``"th"``, ``"vi"`` or ``"en"``.
        timezone: An IANA time-zone name such as ``"Asia/Bangkok"`` or ``"Asia/Ho_Chi_Minh"``.

    Returns:
        The date as :func:`format_date` writes it, a space, and ``HH:MM``; for example
        ``"2 มี.ค. 2569 09:30"``.

    Raises:
        zoneinfo.ZoneInfoNotFoundError: If ``timezone`` is not a known time-zone name.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(timezone))
    return f"{format_date(local.date(), locale)} {local.hour:02d}:{local.minute:02d}"


def format_days(n: int, locale: str) -> str:
    """Write a number of days with the locale's plural rules, e.g. ``"1 day"``, ``"3 วัน"``.

    Args:
        n: The number of days.
        locale: A locale code such as ``"th"``, ``"vi"`` or ``"en"``.

    Returns:
        The translated phrase with ``n`` filled in.
    """
    return translator(locale).ngettext("{n} day", "{n} days", n).format(n=n)


def _language(locale: str) -> str:
    """Reduce a locale code to a supported language, or the default language."""
    language = locale.strip().replace("-", "_").split("_", 1)[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def _month_abbreviation(month: int, language: str) -> str:
    """Return the abbreviated month name from Babel's CLDR data (``"มี.ค."``, ``"Mar"``)."""
    return str(get_month_names("abbreviated", "format", locale=language)[month])


def _load(language: str) -> gettext.NullTranslations:
    """Build the translations for a supported language from its ``.po`` catalog."""
    if language == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        _log.warning("no message catalog for %r at %s; falling back to English", language, path)
        return gettext.NullTranslations()
    return _compile(path, language)


def _compile(path: Path, language: str) -> gettext.GNUTranslations:
    """Read a ``.po`` file and compile it in memory, dropping fuzzy and untranslated entries."""
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    for message in list(catalog)[1:]:  # the first entry is the header
        if not _usable(message):
            catalog.delete(message.id, context=message.context)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _usable(message: Message) -> bool:
    """Tell whether an entry has a complete, reviewed translation."""
    if message.fuzzy:
        return False
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return bool(forms) and all(forms)
