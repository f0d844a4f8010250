"""Translations and locale formatting: catalog completeness, fallbacks, dates and plurals."""

from __future__ import annotations

import gettext
import string
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from runtime import i18n
from runtime.i18n import (
    DEFAULT_LOCALE,
    LANGUAGE_NAMES,
    LOCALES,
    format_date,
    format_datetime,
    format_days,
    translator,
)

RUNTIME = Path(i18n.__file__).resolve().parent
LOCALE_DIR = RUNTIME / "locale"
TEMPLATE = LOCALE_DIR / "onestop.pot"
TRANSLATED = ("th", "vi")
# The same keywords as `make i18n-extract` passes to pybabel.
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# Strings the pages being written rely on; they must stay in the catalogs.
REQUIRED_MSGIDS = [
    "Sign in",
    "Sign out",
    "User name",
    "Password",
    "Wrong user name or password.",
    "Too many failed attempts. Try again in {seconds} seconds.",
    "Language",
    "My work",
    "Task",
    "New case",
    "Cases",
    "Case",
    "Admin",
    "Home",
    "Procedure",
    "Dossier code",
    "Step",
    "Waiting since",
    "Due",
    "Overdue",
    "Due soon",
    "On time",
    "Held by {user}",
    "Claim",
    "Release",
    "Open",
    "Submit",
    "Cancel",
    "Save",
    "Search",
    "Status",
    "Unit",
    "Applicant",
    "Received",
    "Appointment date",
    "Documents",
    "Attachments",
    "History",
    "Diagram",
    "Case data",
    "No work items.",
    "This task was completed by someone else in the meantime. The page has been reloaded.",
    "The case changed while you were working on it. Reload and try again.",
    "Please correct the highlighted fields.",
    "Saved.",
    "Start case",
    "Receipt",
    "Download receipt",
    "Running",
    "Completed",
    "Cancelled",
    "open",
    "claimed",
    "completed",
    "cancelled",
    "Personal data is hidden.",
    "Show personal data",
    "Purpose of access",
    ("{n} day", "{n} days"),
    "Signed in as {user}",
    "You have no role that can see this page.",
    "Filter",
    "All",
    "Previous",
    "Next",
    "Page {page} of {pages}",
]


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain="onestop")


def _catalog(locale: str) -> Catalog:
    return _read(LOCALE_DIR / locale / "LC_MESSAGES" / "onestop.po", locale)


def _entries(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _write_po(path: Path, body: str) -> None:
    header = (
        'msgid ""\nmsgstr ""\n'
        '"Language: th\\n"\n'
        '"Plural-Forms: nplurals=1; plural=0;\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    )
    path.parent.mkdir(parents=True)
    path.write_text(header + body, encoding="utf-8")


# --- catalogs -------------------------------------------------------------------------------------------


def test_template_holds_the_strings_the_pages_rely_on() -> None:
    ids = {message.id for message in _entries(_read(TEMPLATE))}

    missing = [msgid for msgid in REQUIRED_MSGIDS if msgid not in ids]

    assert missing == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_template_string_has_a_finished_translation(locale: str) -> None:
    catalog = _catalog(locale)
    unfinished = []
    for template_entry in _entries(_read(TEMPLATE)):
        message = catalog.get(template_entry.id, context=template_entry.context)
        forms = _forms(message.string) if message is not None else ()
        if message is None or message.fuzzy or not forms or not all(form.strip() for form in forms):
            unfinished.append(template_entry.id)

    assert unfinished == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_has_no_strings_missing_from_the_template(locale: str) -> None:
    template_ids = {message.id for message in _entries(_read(TEMPLATE))}

    stale = [message.id for message in _entries(_catalog(locale)) if message.id not in template_ids]

    assert stale == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_declares_a_single_plural_form(locale: str) -> None:
    catalog = _catalog(locale)

    assert catalog.plural_forms == "nplurals=1; plural=0;"
    for message in _entries(catalog):
        if message.pluralizable:
            assert len(_forms(message.string)) == 1, message.id


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_exactly_the_placeholders_of_the_source(locale: str) -> None:
    mismatched = []
    for message in _entries(_catalog(locale)):
        expected = set().union(*(_placeholders(source) for source in _forms(message.id)))
        for form in _forms(message.string):
            if _placeholders(form) != expected:
                mismatched.append((message.id, form))

    assert mismatched == []


def test_page_strings_found_by_the_extractor_are_all_in_the_template() -> None:
    template_ids = {message.id for message in _entries(_read(TEMPLATE))}

    extracted = [
        (filename, lineno, msgid)
        for filename, lineno, msgid, _, _ in extract_from_dir(
            str(RUNTIME), [("**.py", "python")], keywords=KEYWORDS
        )
    ]
    missing = [entry for entry in extracted if entry[2] not in template_ids]

    assert ("{n} day", "{n} days") in [msgid for _, _, msgid in extracted]
    assert missing == []


# --- translator -----------------------------------------------------------------------------------------


def test_thai_and_vietnamese_translate_ui_strings() -> None:
    assert translator("th").gettext("Sign in") == "เข้าสู่ระบบ"
    assert translator("vi").gettext("Sign in") == "Đăng nhập"
    assert translator("th").gettext("Held by {user}").format(user="somchai") == "รับงานไว้โดย somchai"


def test_english_and_unknown_locales_return_the_message_id() -> None:
    assert translator("en").gettext("Sign in") == "Sign in"
    assert translator("xx").gettext("Sign in") == "Sign in"
    assert translator("").gettext("Sign in") == "Sign in"
    assert type(translator("xx")) is gettext.NullTranslations


def test_region_suffixes_select_the_language() -> None:
    assert translator("th-TH").gettext("Sign in") == "เข้าสู่ระบบ"
    assert translator("vi_VN").gettext("Sign in") == "Đăng nhập"


def test_message_missing_from_the_catalog_falls_back_to_the_message_id() -> None:
    assert translator("th").gettext("Not in any catalog") == "Not in any catalog"


def test_locale_constants_describe_the_offered_languages() -> None:
    assert LOCALES == ("th", "vi", "en")
    assert DEFAULT_LOCALE == "en"
    assert set(LANGUAGE_NAMES) == set(LOCALES)
    assert LANGUAGE_NAMES["vi"] == "Tiếng Việt"


def test_fuzzy_and_empty_translations_fall_back_to_the_message_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_po(
        tmp_path / "th" / "LC_MESSAGES" / "onestop.po",
        'msgid "Save"\nmsgstr "บันทึก"\n\n'
        '#, fuzzy\nmsgid "Cancel"\nmsgstr "ยกเลิก"\n\n'
        'msgid "Search"\nmsgstr ""\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\nmsgstr[0] ""\n',
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_cache", {})

    thai = translator("th")

    assert thai.gettext("Save") == "บันทึก"
    assert thai.gettext("Cancel") == "Cancel"
    assert thai.gettext("Search") == "Search"
    assert thai.ngettext("{n} day", "{n} days", 1) == "{n} day"
    assert thai.ngettext("{n} day", "{n} days", 3) == "{n} days"


def test_missing_catalog_falls_back_to_english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_cache", {})

    assert translator("vi").gettext("Sign in") == "Sign in"


def test_catalog_is_loaded_once_even_under_concurrent_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_cache", {})
    loads: list[str] = []
    real_load = i18n._load

    def counting_load(language: str) -> gettext.NullTranslations:
        loads.append(language)
        return real_load(language)

    monkeypatch.setattr(i18n, "_load", counting_load)
    start = threading.Barrier(8)
    results: list[gettext.NullTranslations] = []

    def first_use() -> None:
        start.wait()
        results.append(translator("vi"))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == ["vi"]
    assert len(results) == 8
    assert all(result is results[0] for result in results)


# --- dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 3, 2), "2 มี.ค. 2569"),
        (date(2026, 12, 31), "31 ธ.ค. 2569"),
        (date(2027, 1, 1), "1 ม.ค. 2570"),
        (date(2028, 2, 29), "29 ก.พ. 2571"),
    ],
)
def test_thai_dates_use_the_buddhist_era(value: date, expected: str) -> None:
    assert format_date(value, "th") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(date(2026, 3, 2), "02/03/2026"), (date(2026, 12, 31), "31/12/2026"), (date(2028, 2, 29), "29/02/2028")],
)
def test_vietnamese_dates_are_day_month_year(value: date, expected: str) -> None:
    assert format_date(value, "vi") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 3, 2), "2 Mar 2026"),
        (date(2026, 9, 15), "15 Sep 2026"),
        (date(2028, 2, 29), "29 Feb 2028"),
    ],
)
def test_english_dates_use_abbreviated_month_names(value: date, expected: str) -> None:
    assert format_date(value, "en") == expected


def test_unknown_locale_formats_dates_as_english() -> None:
    assert format_date(date(2026, 3, 2), "fr") == "2 Mar 2026"


def test_datetime_in_utc_is_shown_in_bangkok_time() -> None:
    instant = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)

    assert format_datetime(instant, "th", "Asia/Bangkok") == "2 มี.ค. 2569 09:30"
    assert format_datetime(instant, "en", "Asia/Bangkok") == "2 Mar 2026 09:30"


def test_datetime_in_utc_is_shown_in_ho_chi_minh_time() -> None:
    instant = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)

    assert format_datetime(instant, "vi", "Asia/Ho_Chi_Minh") == "02/03/2026 09:30"


def test_naive_datetime_is_taken_as_utc() -> None:
    assert format_datetime(datetime(2026, 3, 2, 2, 30), "vi", "Asia/Ho_Chi_Minh") == "02/03/2026 09:30"


def test_datetime_conversion_can_cross_into_the_next_buddhist_year() -> None:
    instant = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)

    assert format_datetime(instant, "th", "Asia/Bangkok") == "1 ม.ค. 2570 00:00"


def test_datetime_from_another_zone_is_converted() -> None:
    instant = datetime(2026, 3, 2, 4, 30, tzinfo=timezone(timedelta(hours=2)))

    assert format_datetime(instant, "th", "Asia/Bangkok") == "2 มี.ค. 2569 09:30"


# --- plurals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "locale", "expected"),
    [
        (1, "en", "1 day"),
        (0, "en", "0 days"),
        (3, "en", "3 days"),
        (1, "th", "1 วัน"),
        (3, "th", "3 วัน"),
        (1, "vi", "1 ngày"),
        (3, "vi", "3 ngày"),
        (2, "xx", "2 days"),
    ],
)
def test_days_follow_each_languages_plural_rules(n: int, locale: str, expected: str) -> None:
    assert format_days(n, locale) == expected
