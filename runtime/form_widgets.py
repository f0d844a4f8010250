"""Draw a JSON Schema form as Streamlit widgets and collect what was entered.

Only presentation lives here: the engine validates every submission against the same
schema and returns every field error, which :func:`draw_form` shows under its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st

from engine.attachments import Upload, file_fields, media_types_allowed, type_matches

TEXTAREA_AFTER = 200  # a string field allowing more characters is drawn as a text area
# File extensions offered by the upload widget per media type (the engine checks the content).
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "image/tiff": ("tif", "tiff"),
    "image/webp": ("webp",),
}


@dataclass
class FormEntry:
    """What was entered: the values, and the files chosen per file field."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)


def label(definition: dict[str, Any], name: str, locale: str) -> str:
    """The field's title in ``locale`` (``x-title``), else its ``title``, else its name."""
    titles = definition.get("x-title")
    if isinstance(titles, dict) and titles.get(locale):
        return str(titles[locale])
    return str(definition.get("title") or name)


#: How a field filled from a state registry (``x-source``) is marked, per locale: the
#: once-only principle says the citizen is not asked for it.
STATE_SOURCED = {
    "en": "🏛️ From the population registry: the applicant is not asked for it.",
    "th": "🏛️ ข้อมูลจากทะเบียนราษฎร: ไม่ต้องขอจากผู้ยื่นคำขอ",
    "vi": "🏛️ Lấy từ cơ sở dữ liệu quốc gia về dân cư: không yêu cầu người dân cung cấp.",
}


def help_text(definition: dict[str, Any], locale: str) -> str | None:
    """The field's help in ``locale``, marked when a state registry supplies the value."""
    texts = definition.get("x-description")
    if isinstance(texts, dict) and texts.get(locale):
        found: Any = texts[locale]
    else:
        found = definition.get("description")
    if definition.get("x-source") == "population_registry":
        mark = STATE_SOURCED.get(locale, STATE_SOURCED["en"])
        return f"{found}\n\n{mark}" if found else mark
    return str(found) if found else None


def draw_form(
    schema: dict[str, Any],
    *,
    key: str,
    locale: str,
    prefill: dict[str, Any],
    errors: dict[str, list[str]],
    file_names: dict[str, str] | None = None,
) -> FormEntry:
    """Draw every property of ``schema`` and return what was entered (empty optional
    fields left out). A file field already holding files keeps them unless new ones are
    chosen; ``file_names`` names the held files. Call inside ``st.form``."""
    required = set(schema.get("required", []))
    uploads = file_fields(schema)
    entry = FormEntry()
    for name, definition in (schema.get("properties") or {}).items():
        if not isinstance(definition, dict):
            continue
        title = label(definition, name, locale) + (" *" if name in required else "")
        help = help_text(definition, locale)
        if name in uploads:
            chosen = _file_widget(definition, title, f"{key}.{name}", uploads[name], help)
            held = prefill.get(name)
            if chosen:
                entry.files[name] = chosen
            elif held:
                entry.values[name] = held
                names = [
                    (file_names or {}).get(ref, ref) for ref in (held if isinstance(held, list) else [held])
                ]
                st.caption("📎 " + ", ".join(names))
        else:
            value = _widget(definition, title, f"{key}.{name}", prefill.get(name), help)
            if value is not None and value != "" and value != []:
                entry.values[name] = value
        for message in errors.get(name, []):
            st.error(message, icon="⚠️")
    return entry


def _file_widget(
    definition: dict[str, Any], title: str, key: str, several: bool, help: str | None
) -> list[Upload]:
    allowed = media_types_allowed(definition)
    extensions = sorted(
        {
            extension
            for media_type, names in EXTENSIONS.items()
            if type_matches(media_type, allowed)
            for extension in names
        }
    )
    picked = st.file_uploader(
        title,
        type=extensions or None,
        accept_multiple_files=several,
        key=key,
        help=help,
        disabled=bool(definition.get("readOnly")),
    )
    files = picked if isinstance(picked, list) else [picked] if picked is not None else []
    return [Upload(file.name, file.getvalue()) for file in files]


def _widget(definition: dict[str, Any], title: str, key: str, initial: Any, help: str | None) -> Any:
    kind = definition.get("type")
    disabled = bool(definition.get("readOnly"))
    choices = definition.get("enum")
    if isinstance(choices, list) and kind in ("string", "integer", "number", None):
        options = ["", *choices] if initial not in choices else list(choices)
        index = options.index(initial) if initial in options else 0
        if len(choices) <= 4 and initial in choices:
            return st.radio(
                title, choices, index=choices.index(initial), key=key, help=help, disabled=disabled
            )
        chosen = st.selectbox(title, options, index=index, key=key, help=help, disabled=disabled)
        return None if chosen == "" else chosen
    if kind == "boolean":
        return st.checkbox(title, value=bool(initial), key=key, help=help, disabled=disabled)
    if kind in ("integer", "number"):
        step: int | float = 1 if kind == "integer" else 0.01
        start = initial if isinstance(initial, int | float) and not isinstance(initial, bool) else None
        entered = st.number_input(title, value=start, step=step, key=key, help=help, disabled=disabled)
        if entered is None:
            return None
        return int(entered) if kind == "integer" else float(entered)
    if kind == "array":
        items = definition.get("items") if isinstance(definition.get("items"), dict) else {}
        options = items.get("enum") if isinstance(items, dict) else None
        if isinstance(options, list):
            picked = [v for v in initial if v in options] if isinstance(initial, list) else []
            return st.multiselect(title, options, default=picked, key=key, help=help, disabled=disabled)
        text = st.text_area(
            title, value="\n".join(map(str, initial or [])), key=key, help=help, disabled=disabled
        )
        return [line.strip() for line in text.splitlines() if line.strip()]
    if definition.get("format") == "date":
        start_date = date.fromisoformat(initial) if isinstance(initial, str) and _is_date(initial) else None
        picked_date = st.date_input(title, value=start_date, key=key, help=help, disabled=disabled)
        return picked_date.isoformat() if isinstance(picked_date, date) else None
    text_value = "" if initial is None else str(initial)
    limit = definition.get("maxLength")
    if isinstance(limit, int) and limit > TEXTAREA_AFTER:
        return st.text_area(title, value=text_value, key=key, help=help, disabled=disabled, max_chars=limit)
    return st.text_input(title, value=text_value, key=key, help=help, disabled=disabled)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
