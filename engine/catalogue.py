"""The public procedure catalogue: every published version's service manual, as open data.

Anyone may read it, so no actor is asked for; in exchange an entry carries nothing but the
manual's citizen-facing sections and the version's metadata (code, version, sha256,
publication date). Who imported or published a version, and the engine's own manual fields
(``starter_role``, ``roles``, ``personal_data``, ``process_id``), stay out.

Manuals are read as stored, leniently: validating them is the designer's job when a version
is published, and a section that is missing or malformed comes out empty rather than
failing the whole catalogue. A text given per language is filled for every catalogue
language, falling back to English (then to any language given); a plain string serves
every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from engine.clock import stored_instant
from engine.errors import InputRejected
from engine.persistence.database import Database
from engine.persistence.models import Procedure, ProcedureVersion
from engine.views import (
    CatalogueDocument,
    CatalogueEntry,
    CatalogueFee,
    CatalogueResult,
    CatalogueStep,
    CatalogueText,
)

__all__ = ["CATALOGUE_LANGUAGES", "Catalogue", "check_language", "pick_text"]

#: Languages every catalogue text is given in, in the order of the UI's language picker.
CATALOGUE_LANGUAGES: Final = ("th", "vi", "en")
_FALLBACK: Final = "en"
_DAY_TYPES: Final = ("working", "calendar")


class Catalogue:
    """Published procedure versions and their service manuals (public, no actor).

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(self, language: str | None = None) -> list[CatalogueEntry]:
        """The published version of every procedure, by procedure code.

        Args:
            language: keep only this language's texts (``th``, ``vi`` or ``en``); every
                catalogue language when ``None``.

        Raises:
            InputRejected: ``language`` is not a catalogue language.
        """
        languages = (check_language(language),) if language is not None else CATALOGUE_LANGUAGES
        with self.db.read() as session:
            rows = session.execute(
                select(
                    Procedure.code,
                    ProcedureVersion.version,
                    ProcedureVersion.sha256,
                    ProcedureVersion.published_at,
                    ProcedureVersion.manual,
                )
                .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                .where(ProcedureVersion.status == "published")
                .order_by(Procedure.code, ProcedureVersion.version.desc())
            ).all()
        return [
            _entry(code, version, sha256, published_at, manual, languages)
            for code, version, sha256, published_at, manual in rows
            if published_at is not None
        ]


def check_language(language: str) -> str:
    """``language`` when it is a catalogue language.

    Raises:
        InputRejected: it is not one.
    """
    if language not in CATALOGUE_LANGUAGES:
        raise InputRejected(
            f"language '{language}' is not offered; choose one of {', '.join(CATALOGUE_LANGUAGES)}",
            field="language",
        )
    return language


def pick_text(texts: Mapping[str, str] | None, language: str, default: str = "") -> str:
    """The text in ``language``, else in English, else in any language given, else ``default``."""
    if not texts:
        return default
    return texts.get(language) or texts.get(_FALLBACK) or next(iter(texts.values()), default) or default


def _entry(
    code: str,
    version: int,
    sha256: str,
    published_at: datetime,
    stored: Any,
    languages: tuple[str, ...],
) -> CatalogueEntry:
    manual = stored if isinstance(stored, Mapping) else {}
    limit = manual.get("time_limit")
    limit = limit if isinstance(limit, Mapping) else {}

    def text(value: Any) -> CatalogueText | None:
        return _texts(value, languages)

    day_type = limit.get("day_type")
    return CatalogueEntry(
        procedure_code=code,
        version=version,
        sha256=sha256,
        published_at=stored_instant(published_at),
        national_code=_string(manual.get("national_code")),
        name=text(manual.get("name")) or dict.fromkeys(languages, code),
        legal_basis=tuple(s for s in map(_string, _items(manual.get("legal_basis"))) if s),
        responsible_unit=text(manual.get("responsible_unit")),
        channels=tuple(s for s in map(_string, _items(manual.get("channels"))) if s),
        time_limit_days=_count(limit.get("value")),
        day_type=day_type if day_type in _DAY_TYPES else None,
        cutoff=_string(limit.get("cutoff")),
        max_extensions=_count(limit.get("max_extensions")),
        steps=tuple(
            CatalogueStep(
                id=_string(step.get("id")) or "",
                name=text(step.get("name")) or {},
                role=_string(step.get("role")),
                allowance_days=_count(step.get("allowance_days")),
            )
            for step in _mappings(manual.get("steps"))
        ),
        documents=tuple(
            CatalogueDocument(
                name=names,
                required=document.get("required", True) is not False,
                held_by_state=document.get("held_by_state") is True,
                note=text(document.get("note")),
            )
            for document in _mappings(manual.get("documents"))
            if (names := text(document.get("name")))
        ),
        fees=tuple(
            CatalogueFee(
                name=names,
                amount=_amount(fee.get("amount")),
                unit=_string(fee.get("unit")),
                currency=_string(fee.get("currency")),
                basis=_string(fee.get("basis")),
            )
            for fee in _mappings(manual.get("fees"))
            if (names := text(fee.get("name")))
        ),
        results=tuple(
            CatalogueResult(name=names, validity=_string(result.get("validity")))
            for result in _mappings(manual.get("results"))
            if (names := text(result.get("name")))
        ),
        complaint_channel=text(manual.get("complaint_channel")),
    )


def _texts(value: Any, languages: tuple[str, ...]) -> CatalogueText | None:
    """A text in every language of ``languages`` (see the module docstring), or ``None``."""
    if isinstance(value, Mapping):
        given = {str(k): s for k, v in value.items() if (s := _string(v))}
    else:
        plain = _string(value)
        given = dict.fromkeys(languages, plain) if plain else {}
    if not given:
        return None
    return {language: pick_text(given, language) for language in languages}


def _string(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if value is not None else []


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in _items(value) if isinstance(item, Mapping)]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _amount(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)
