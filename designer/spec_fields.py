"""A step's form written as a short text, and the JSON Schema form made from it.

The text lists fields separated by commas, each ``name:type`` with ``!`` after a required
one: ``applicant_name:text!, fee:number, decision:choice(approve|refuse)!, id_card:file``.
Types are ``text``, ``number``, ``integer``, ``boolean``, ``date``, ``choice(a|b|...)`` and
``file`` (an upload: a string with ``"format": "data-url"``, see :mod:`engine.attachments`);
a field without a type is text. The form follows the engine's conventions
(:mod:`engine.forms`): Draft 2020-12, an object, a ``title`` on the form and on each field.
"""

from __future__ import annotations

import difflib
import keyword
import re
from dataclasses import dataclass
from typing import Any, Final

from engine.attachments import FILE_FORMAT

__all__ = [
    "APPROVAL_FIELDS",
    "FIELD_TYPES",
    "FieldProblem",
    "FormField",
    "form_document",
    "parse_fields",
]

FIELD_TYPES: Final = ("text", "number", "integer", "boolean", "date", "choice", "file")
FIELDS_HINT: Final = (
    "write fields as name:type separated by commas, '!' after required ones, e.g. "
    "applicant_name:text!, fee:number, decision:choice(approve|refuse)!; types: " + ", ".join(FIELD_TYPES)
)
MAX_TEXT_LENGTH: Final = 2000
_ITEM: Final = re.compile(
    r"^(?P<name>[^:!()]+?)\s*(?::\s*(?P<type>[^(!\s]*)\s*(?:\((?P<args>[^()]*)\))?)?\s*(?P<required>!)?$"
)
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_SCHEMA_URI: Final = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class FormField:
    """One field of a generated form."""

    name: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one item of a field text (``item`` counts from 1)."""

    item: int
    text: str
    message: str
    hint: str = FIELDS_HINT


#: The fields every approval form has, before any the designer adds.
APPROVAL_FIELDS: Final = (
    FormField("decision", "choice", required=True, choices=("approve", "refuse")),
    FormField("reason", "text"),
)


def parse_fields(text: str) -> tuple[list[FormField], list[FieldProblem]]:
    """Read a field text.

    Returns:
        The fields that could be read, and a problem for every item that could not
        (never raises).
    """
    fields: list[FormField] = []
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for number, item in enumerate(_split_items(text), start=1):
        field, problem = _parse_item(number, item)
        if problem is None and field is not None and field.name in seen:
            problem = FieldProblem(
                number, item, f"field '{field.name}' is listed twice", "list each field once"
            )
        if problem is not None:
            problems.append(problem)
        elif field is not None:
            seen.add(field.name)
            fields.append(field)
    return fields, problems


def form_document(title: dict[str, str], fields: list[FormField]) -> dict[str, Any]:
    """A JSON Schema form with ``fields``, titled ``title`` (by locale, ``en`` present)."""
    document: dict[str, Any] = {
        "$schema": _SCHEMA_URI,
        "title": title["en"],
        "x-title": title,
        "type": "object",
        "additionalProperties": False,
    }
    required = [field.name for field in fields if field.required]
    if required:
        document["required"] = required
    document["properties"] = {field.name: _property(field) for field in fields}
    return document


def _split_items(text: str) -> list[str]:
    """Comma-separated items; commas inside ``choice(...)`` are kept for a clearer message."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth <= 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _parse_item(number: int, item: str) -> tuple[FormField | None, FieldProblem | None]:
    match = _ITEM.match(item)
    if match is None:
        return None, FieldProblem(
            number, item, f"'{item}' is not name:type (a misplaced ':', '!' or bracket?)"
        )
    name = match["name"].strip()
    if not _NAME.match(name) or keyword.iskeyword(name):
        return None, FieldProblem(
            number,
            item,
            f"'{name}' is not a usable field name",
            "field names are lowercase letters, digits and '_', start with a letter and are not "
            "Python words such as 'if' or 'class' (conditions refer to them)",
        )
    kind = (match["type"] or "text").lower()
    if kind not in FIELD_TYPES:
        close = difflib.get_close_matches(kind, FIELD_TYPES, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return None, FieldProblem(
            number,
            item,
            f"field '{name}' has unknown type '{kind}'",
            hint + "types: " + ", ".join(FIELD_TYPES),
        )
    choices, problem = _choices(number, item, name, kind, match["args"])
    if problem is not None:
        return None, problem
    return FormField(name, kind, required=bool(match["required"]), choices=choices), None


def _choices(
    number: int, item: str, name: str, kind: str, args: str | None
) -> tuple[tuple[str, ...], FieldProblem | None]:
    if kind != "choice":
        if args is not None:
            return (), FieldProblem(number, item, f"field '{name}' of type {kind} takes no (...) options")
        return (), None
    options = tuple(option.strip() for option in (args or "").split("|"))
    if "," in (args or ""):
        return (), FieldProblem(
            number,
            item,
            f"choice field '{name}' has a comma in its options",
            "separate options with '|', e.g. choice(approve|refuse)",
        )
    if args is None or any(not option for option in options) or len(options) < 2:
        return (), FieldProblem(
            number,
            item,
            f"choice field '{name}' needs at least two options, separated by '|'",
            "write e.g. decision:choice(approve|refuse)",
        )
    if len(set(options)) != len(options):
        return (), FieldProblem(
            number, item, f"choice field '{name}' lists an option twice", "list each option once"
        )
    return options, None


def _property(field: FormField) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": field.name.replace("_", " ").capitalize()}
    if field.type == "text":
        schema.update(type="string", maxLength=MAX_TEXT_LENGTH)
        if field.required:
            schema["minLength"] = 1
    elif field.type in ("number", "integer", "boolean"):
        schema["type"] = field.type
    elif field.type == "date":
        schema.update(type="string", format="date")
    elif field.type == "choice":
        schema.update(type="string", enum=list(field.choices))
    else:
        schema.update(type="string", format=FILE_FORMAT)
    return schema
