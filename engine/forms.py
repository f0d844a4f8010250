"""Forms of user tasks: JSON Schema files and the validation of submitted data.

A user task names its form the way SpiffArena does (``formJsonSchemaFilename``). The file
is a JSON Schema (Draft 2020-12) whose top level is an object; titles follow our
convention: plain ``title`` (English) plus ``x-title`` = ``{"th": ..., "vi": ..., "en": ...}``
and optionally ``x-description`` likewise, on the form and on each property.

Validation asserts formats (``thai-national-id``, ``vn-citizen-id``, ``phone``, ``date``,
``data-url`` for a file field holding a reference to an upload (see :mod:`engine.attachments`)
and jsonschema's standard ones) and reports every failing field at once, in words a citizen can
act on. Remote ``$ref``s are never fetched: jsonschema would otherwise download them.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePath
from typing import Any, Final

import referencing
import referencing.exceptions
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ValidationInfo, field_validator, model_validator
from referencing.jsonschema import DRAFT202012

from engine import identifiers
from engine.attachments import FILE_FORMAT, reference_problem
from engine.errors import FieldError, FormInvalid, ProcedureInvalid

__all__ = ["MAX_FORM_SCHEMA_BYTES", "FormSchema", "load_form_schema", "validate_form"]

MAX_FORM_SCHEMA_BYTES: Final = 2**20
# Forms never nest this deep; the bound keeps copying and validation away from Python's
# recursion limit and makes cyclic or absurd data fail with a message instead of a crash.
_MAX_JSON_DEPTH: Final = 64
_MAX_JSON_NODES: Final = 100_000
_MAX_REF_HOPS: Final = 16

_DRAFT_2020_12_URIS: Final = frozenset(
    {
        "https://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2020-12/schema#",
    }
)

# Format name -> (what the value should be, function saying why it is not).
_OUR_FORMATS: Final[dict[str, tuple[str, Callable[[str], str | None]]]] = {
    "thai-national-id": ("Thai national ID", identifiers.thai_national_id_problem),
    "vn-citizen-id": ("Vietnamese citizen ID", identifiers.vn_citizen_id_problem),
    "phone": ("phone number", identifiers.phone_problem),
    "date": ("date", identifiers.iso_date_problem),
    FILE_FORMAT: ("uploaded file", reference_problem),
}

_TYPE_WORDS: Final = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes or no",
    "object": "a group of fields",
    "array": "a list",
    "null": "empty",
}

# Keywords whose value is one subschema, a list of them, or a name -> subschema map.
_SCHEMA_KEYWORDS: Final = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
    }
)
_SCHEMA_LIST_KEYWORDS: Final = frozenset({"prefixItems", "allOf", "anyOf", "oneOf"})
_SCHEMA_MAP_KEYWORDS: Final = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)

_PathPart = str | int


def _make_format_checker() -> FormatChecker:
    checker = FormatChecker()
    for name, (_, problem) in _OUR_FORMATS.items():
        checker.checks(name)(_format_predicate(problem))
    return checker


def _format_predicate(problem: Callable[[str], str | None]) -> Callable[[object], bool]:
    # Formats apply to strings only; a wrong type is reported once, by "type".
    def check(instance: object) -> bool:
        return not isinstance(instance, str) or problem(instance) is None

    return check


_FORMAT_CHECKER: Final = _make_format_checker()
# An empty registry: jsonschema's default one downloads unknown $ref URIs.
_NO_REMOTE_REFS: Final = referencing.Registry()


class FormSchema(BaseModel, frozen=True):
    """A checked JSON Schema for one user-task form.

    Constructing one runs the same checks as :func:`load_form_schema`, so every instance
    is usable.

    Attributes:
        file: the schema's file name inside the procedure package.
        definition: the schema document; read it through :attr:`json_schema`.

    Raises:
        ProcedureInvalid: on construction, when ``definition`` is not a usable form schema.
    """

    file: str
    definition: dict[str, Any]

    @field_validator("definition")
    @classmethod
    def _own_copy(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # Bounded and JSON-only first, so that the copy cannot recurse without end.
        for problem in _json_problems(value, root_is_form=False):
            file = str(info.data.get("file", "form schema"))
            where = problem.field or "top level"
            raise ProcedureInvalid(f"{file}: {where}: {problem.message}", file=file)
        return copy.deepcopy(value)

    @model_validator(mode="after")
    def _check(self) -> FormSchema:
        _check_form_schema(self.definition, file=self.file)
        return self

    @property
    def json_schema(self) -> dict[str, Any]:
        """A copy of the schema document (changing it does not change the form)."""
        return copy.deepcopy(self.definition)

    @property
    def fields(self) -> list[str]:
        """Top-level property names, in the order the schema lists them."""
        properties = self.definition.get("properties", {})
        return list(properties) if isinstance(properties, dict) else []

    def title(self, locale: str = "en") -> str:
        """The form's title in ``locale``, falling back to ``title``, then the file name."""
        found = _localised(self.definition, "title", locale)
        return found if found is not None else PurePath(self.file).stem

    def description(self, locale: str = "en") -> str | None:
        """The form's description in ``locale`` (``x-description``/``description``)."""
        return _localised(self.definition, "description", locale)

    def field_title(self, field: str, locale: str = "en") -> str:
        """The title of ``field`` in ``locale``.

        Args:
            field: a top-level name or a path such as ``applicant.national_id`` or
                ``documents[0].name``.
            locale: ``th``, ``vi``, ``en`` or a tag such as ``th-TH``.

        Returns:
            The localised title, else ``title``, else the field's own name.
        """
        parts = _parse_path(field)
        found = _title_at(self.definition, parts, locale)
        if found is not None:
            return found
        names = [part for part in parts if isinstance(part, str)]
        return names[-1] if names else field

    def field_description(self, field: str, locale: str = "en") -> str | None:
        """The description of ``field`` in ``locale``, or ``None`` when it has none."""
        node = _schema_at(self.definition, _parse_path(field))
        return None if node is None else _localised(node, "description", locale)


def load_form_schema(data: bytes | str, *, file: str) -> FormSchema:
    """Parse and check a form's JSON Schema file.

    Args:
        data: the file's content (UTF-8, a byte-order mark is allowed).
        file: the file's name, used in messages.

    Returns:
        The checked schema.

    Raises:
        ProcedureInvalid: the file is over 1 MiB, not UTF-8, not JSON (the message and
            ``line``/``column`` say where), not a Draft 2020-12 JSON Schema, not an object
            schema, uses an unknown ``format``, a ``$ref`` outside the file or a broken
            one, or malformed ``x-title``/``x-description``.
    """
    # A character is at least one UTF-8 byte: refuse long text before encoding it.
    size = len(data)
    if isinstance(data, str) and size <= MAX_FORM_SCHEMA_BYTES:
        size = len(data.encode("utf-8"))
    if size > MAX_FORM_SCHEMA_BYTES:
        raise ProcedureInvalid(
            f"{file}: a form schema must not exceed {MAX_FORM_SCHEMA_BYTES:,} bytes (this one has {size:,})",
            file=file,
        )
    text = _decode(data, file=file)
    try:
        document = json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constants
        )
    except json.JSONDecodeError as exc:
        raise ProcedureInvalid(
            f"{file} line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})",
            file=file,
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except _JsonRefused as exc:
        raise ProcedureInvalid(f"{file}: not valid JSON ({exc})", file=file) from exc
    except RecursionError as exc:
        raise ProcedureInvalid(f"{file}: the JSON is nested too deeply", file=file) from exc
    if not isinstance(document, dict):
        raise ProcedureInvalid(
            f'{file}: a form schema must be a JSON object such as {{"type": "object", '
            f'"properties": {{...}}}}, not {_json_kind(document)}',
            file=file,
        )
    return FormSchema(file=file, definition=document)


def validate_form(schema: FormSchema, data: Mapping[str, Any], *, locale: str = "en") -> dict[str, Any]:
    """Check submitted form data against its schema.

    Args:
        schema: the task's form.
        data: the submitted values; must be JSON (dict, list, str, int, float, bool, None).
        locale: language of the field titles used in messages.

    Returns:
        A deep copy of ``data``, safe to store.

    Raises:
        FormInvalid: with one :class:`FieldError` per problem (all of them), each naming
            its field path (``applicant.national_id``; ``""`` for the whole form). Values
            that are not JSON are reported alone, since the schema cannot judge them.
        ProcedureInvalid: the schema has a ``$ref`` that cannot be resolved.
    """
    problems = _json_problems(data, root_is_form=True)
    if problems:
        raise _form_invalid(schema, _sorted(schema, problems), locale)
    validator = Draft202012Validator(
        schema.definition, format_checker=_FORMAT_CHECKER, registry=_NO_REMOTE_REFS
    )
    instance = dict(data)
    try:
        raw_errors = list(validator.iter_errors(instance))
    except referencing.exceptions.Unresolvable as exc:
        raise ProcedureInvalid(
            f"{schema.file}: reference {exc} cannot be resolved", file=schema.file
        ) from exc
    errors: list[FieldError] = []
    for error in raw_errors:
        for found in _describe(schema, error, locale):
            if found not in errors:
                errors.append(found)
    if errors:
        raise _form_invalid(schema, _sorted(schema, errors), locale)
    return copy.deepcopy(instance)


# --- loading -------------------------------------------------------------------------


class _JsonRefused(ValueError):
    """Raised from json.loads hooks for JSON that parses but must not be accepted."""


def _decode(data: bytes | str, *, file: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProcedureInvalid(
            f"{file} line {line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8",
            file=file,
            line=line,
        ) from exc


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys; a silently ignored title is worse.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefused(f'the key "{key}" appears twice in one object')
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _JsonRefused(f"{name} is not a JSON number")


def _check_form_schema(schema: dict[str, Any], *, file: str) -> None:
    declared = schema.get("$schema")
    if declared is not None and declared not in _DRAFT_2020_12_URIS:
        raise ProcedureInvalid(
            f'{file}: "$schema" is {declared!r}; forms use JSON Schema Draft 2020-12 - '
            f'set "https://json-schema.org/draft/2020-12/schema" or leave "$schema" out',
            file=file,
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path)
        raise ProcedureInvalid(
            f"{file}: not a valid JSON Schema at {where}: {exc.message}",
            file=file,
            pointer=where,
        ) from exc
    if schema.get("type", "object") != "object":
        raise ProcedureInvalid(f'{file}: a form schema describes an object: set "type": "object"', file=file)
    lookup = _ref_lookup(schema)
    for path, node in _subschemas(schema):
        _check_annotations(node, path, file=file)
        _check_format(node, path, file=file)
        _check_ref(node, path, lookup, file=file)


def _check_annotations(node: dict[str, Any], path: tuple[_PathPart, ...], *, file: str) -> None:
    for key in ("x-title", "x-description"):
        value = node.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ProcedureInvalid(
                f"{file}: {_pointer((*path, key))} must map locales to text, like "
                f'{{"th": "...", "vi": "...", "en": "..."}}',
                file=file,
                pointer=_pointer((*path, key)),
            )


def _check_format(node: dict[str, Any], path: tuple[_PathPart, ...], *, file: str) -> None:
    name = node.get("format")
    if not isinstance(name, str) or name in _FORMAT_CHECKER.checkers:
        return
    known = sorted(_FORMAT_CHECKER.checkers)
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f'did you mean "{guess[0]}"? ' if guess else ""
    raise ProcedureInvalid(
        f'{file}: {_pointer(path)} uses format "{name}", which is not checked here; '
        f"{hint}known formats: {', '.join(known)}",
        file=file,
        pointer=_pointer(path),
    )


def _check_ref(
    node: dict[str, Any],
    path: tuple[_PathPart, ...],
    lookup: Callable[[str], object],
    *,
    file: str,
) -> None:
    for key in ("$ref", "$dynamicRef"):
        ref = node.get(key)
        if not isinstance(ref, str):
            continue
        where = _pointer((*path, key))
        if not ref.startswith("#"):
            raise ProcedureInvalid(
                f'{file}: {where} is "{ref}"; forms may only refer inside their own file ("#/$defs/...")',
                file=file,
                pointer=where,
            )
        try:
            lookup(ref)
        except referencing.exceptions.Unresolvable as exc:
            raise ProcedureInvalid(
                f'{file}: {where} "{ref}" points to nothing in this file', file=file, pointer=where
            ) from exc


def _ref_lookup(schema: dict[str, Any]) -> Callable[[str], Any]:
    """Return a function giving the target of a reference within ``schema`` only.

    The function raises ``referencing.exceptions.Unresolvable`` for a dangling reference.
    """
    registry = _NO_REMOTE_REFS.with_resource("", DRAFT202012.create_resource(schema))
    resolver = registry.resolver()
    return lambda ref: resolver.lookup(ref).contents


def _subschemas(schema: dict[str, Any]) -> Iterator[tuple[tuple[_PathPart, ...], dict[str, Any]]]:
    """Yield every subschema with its path, without recursion.

    Walking keywords (rather than every nested object) keeps a property that happens to
    be named ``format`` or ``x-title`` from being taken for the keyword.
    """
    stack: list[tuple[tuple[_PathPart, ...], Any]] = [((), schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield path, node
        for key, value in node.items():
            if key in _SCHEMA_KEYWORDS:
                stack.append(((*path, key), value))
            elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
                stack.extend(((*path, key, i), item) for i, item in enumerate(value))
            elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
                stack.extend(((*path, key, name), item) for name, item in value.items())


# --- titles --------------------------------------------------------------------------


def _localised(node: Mapping[str, Any], key: str, locale: str) -> str | None:
    """``x-<key>[locale]``, then its language (``th`` for ``th-TH``), ``<key>``, ``en``."""
    translations = node.get(f"x-{key}")
    translations = translations if isinstance(translations, dict) else {}
    language = re.split(r"[-_]", locale, maxsplit=1)[0]
    for candidate in (translations.get(locale), translations.get(language), node.get(key)):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    english = translations.get("en")
    return english if isinstance(english, str) and english.strip() else None


def _parse_path(field: str) -> list[_PathPart]:
    return [int(index) if index else name for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", field)]


def _deref(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_MAX_REF_HOPS):
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            break
        try:
            target = _ref_lookup(root)(ref)
        except referencing.exceptions.Unresolvable:
            break
        if not isinstance(target, dict):
            break
        node = target
    return node


def _schema_at(root: dict[str, Any], parts: list[_PathPart]) -> dict[str, Any] | None:
    """The subschema declaring the field at ``parts`` (before following its own $ref)."""
    node: dict[str, Any] = root
    for part in parts:
        container = _deref(root, node)
        if isinstance(part, int):
            prefix = container.get("prefixItems")
            found = prefix[part] if isinstance(prefix, list) and part < len(prefix) else None
            found = found if found is not None else container.get("items")
        else:
            properties = container.get("properties")
            found = properties.get(part) if isinstance(properties, dict) else None
        if not isinstance(found, dict):
            return None
        node = found
    return node


def _title_at(root: dict[str, Any], parts: list[_PathPart], locale: str) -> str | None:
    node = _schema_at(root, parts)
    if node is None:
        return None
    # A title next to "$ref" names this use of the shared definition, so it wins.
    return _localised(node, "title", locale) or _localised(_deref(root, node), "title", locale)


# --- data ----------------------------------------------------------------------------


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    for kind, types in (
        ("text", str),
        ("a number", (int, float)),
        ("a list", list),
        ("an object", dict),
    ):
        if isinstance(value, types):
            return kind
    return "null" if value is None else type(value).__name__


def _json_problems(value: object, *, root_is_form: bool) -> list[FieldError]:
    """Report values that JSON cannot hold, without recursion and within bounds."""
    if root_is_form and not isinstance(value, Mapping):
        return [FieldError("", f"form data must be an object of fields, not {_json_kind(value)}")]
    problems: list[FieldError] = []
    stack: list[tuple[tuple[_PathPart, ...], object]] = [
        ((), dict(value) if isinstance(value, Mapping) else value)
    ]
    visited = 0
    while stack:
        path, item = stack.pop()
        visited += 1
        if visited > _MAX_JSON_NODES or len(path) > _MAX_JSON_DEPTH:
            limit = "has too many values" if visited > _MAX_JSON_NODES else "is nested too deeply"
            return [*problems, FieldError(_field_path(path), f"the data {limit}")]
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    problems.append(
                        FieldError(_field_path(path), f"key {key!r} must be text, not {type(key).__name__}")
                    )
                else:
                    stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, i), child) for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(FieldError(_field_path(path), f"{item} is not a number JSON can hold"))
        elif item is not None and not isinstance(item, str | int | float):
            problems.append(
                FieldError(
                    _field_path(path),
                    f"values of type {type(item).__name__} cannot be stored; send text, a number, "
                    "true/false, null, a list or an object",
                )
            )
    return problems


def _field_path(parts: tuple[_PathPart, ...] | list[_PathPart]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _pointer(parts: Iterable[object]) -> str:
    return "/" + "/".join(str(part) for part in parts)


# --- messages ------------------------------------------------------------------------


def _describe(schema: FormSchema, error: ValidationError, locale: str) -> list[FieldError]:
    """Turn one jsonschema error into field errors a citizen can act on."""
    path = list(error.absolute_path)
    keyword = str(error.validator)
    if keyword == "required":
        return _missing_fields(schema, error, path, locale)
    if keyword == "additionalProperties":
        return _extra_fields(error, path)
    title = _title_at(schema.definition, path, locale)
    if title is None and isinstance(error.schema, dict):
        title = _localised(error.schema, "title", locale)
    if title is None:
        names = [part for part in path if isinstance(part, str)]
        title = names[-1] if names else schema.title(locale)
    description = schema.field_description(_field_path(path), locale)
    return [FieldError(_field_path(path), f"{title}: {_explain(error, description)}")]


def _missing_fields(
    schema: FormSchema, error: ValidationError, path: list[_PathPart], locale: str
) -> list[FieldError]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    wanted = error.validator_value if isinstance(error.validator_value, list) else []
    found: list[FieldError] = []
    for name in wanted:
        if name not in instance:
            field = _field_path([*path, name])
            title = schema.field_title(field, locale)
            found.append(FieldError(field, f"{title}: this field is required"))
    return found


def _extra_fields(error: ValidationError, path: list[_PathPart]) -> list[FieldError]:
    node = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    properties = node.get("properties", {})
    patterns = list(node.get("patternProperties", {}))
    extra = [
        key for key in instance if key not in properties and not any(re.search(p, key) for p in patterns)
    ]
    return [
        FieldError(_field_path([*path, key]), f"{key}: this form has no such field; remove it")
        for key in extra
    ]


def _explain(error: ValidationError, description: str | None) -> str:
    expected, value = error.validator_value, error.instance
    match str(error.validator):
        case "format" if expected == FILE_FORMAT:
            return "upload the file here, do not type it"
        case "format" if expected in _OUR_FORMATS and isinstance(value, str):
            label, problem = _OUR_FORMATS[expected]
            return f"{value} is not a valid {label} ({problem(value)})"
        case "format":
            return f"{_show(value)} is not a valid {expected}"
        case "type":
            return "must be " + " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(expected))
        case "minLength" if expected == 1:
            return "must not be empty"
        case "minLength":
            return f"must be at least {expected} characters long"
        case "maxLength":
            return f"must be at most {expected} characters long"
        case "minimum":
            return f"must be at least {expected}"
        case "maximum":
            return f"must be at most {expected}"
        case "exclusiveMinimum":
            return f"must be more than {expected}"
        case "exclusiveMaximum":
            return f"must be less than {expected}"
        case "multipleOf":
            return f"must be a multiple of {expected}"
        case "enum":
            return "must be one of: " + ", ".join(_show(v) for v in _as_list(expected))
        case "const":
            return f"must be {_show(expected)}"
        case "minItems":
            return f"needs at least {expected} item(s)"
        case "maxItems":
            return f"allows at most {expected} item(s)"
        case "uniqueItems":
            return "must not list the same item twice"
        case "pattern":
            hint = f" ({description})" if description else ""
            return f"{_show(value)} does not have the expected form{hint}"
    # anyOf, oneOf, dependentRequired ...: jsonschema's own words are the best we have.
    return error.message


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _sorted(schema: FormSchema, errors: list[FieldError]) -> list[FieldError]:
    """Errors in the order the form shows its fields (whole-form errors first)."""
    order = {name: i for i, name in enumerate(schema.fields)}

    def key(error: FieldError) -> tuple[int, int]:
        top = re.split(r"[.\[]", error.field, maxsplit=1)[0]
        return (0 if not error.field else 1, order.get(top, len(order)))

    return sorted(errors, key=key)


def _form_invalid(schema: FormSchema, errors: list[FieldError], locale: str) -> FormInvalid:
    count = "1 field needs" if len(errors) == 1 else f"{len(errors)} fields need"
    details = "; ".join(error.message for error in errors)
    return FormInvalid(
        f"{schema.title(locale)}: {count} correcting - {details}",
        errors=errors,
        file=schema.file,
    )
