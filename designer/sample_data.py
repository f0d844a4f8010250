"""Sample values for a form, to drive a draft procedure without typing every field.

:func:`sample_data` gives every property of a form's JSON Schema a plausible value that the
engine's validation accepts: formats (dates, IDs, phones, e-mail, files), enums and
``const``, the first ``oneOf``/``anyOf`` branch, numbers within bounds, arrays as long as
they must be, nested objects, local ``$ref`` and ``if``/``then``/``else``. Booleans are
``true`` and enums take their first value (the "happy path" in this project's forms);
:func:`path_choices` lists the values that lead elsewhere. A file field gets a ``sha256:``
reference named after the field, which a trial run accepts in place of an upload.

Deterministic, and never raises on odd schemas: :func:`build_sample` also reports what it
could not satisfy (an unusual ``pattern``, a contradictory schema), as judged by the
engine's own :func:`engine.forms.validate_form`.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import string
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as ModelError

from engine.errors import FormInvalid, ProcedureInvalid
from engine.forms import FormSchema, validate_form

__all__ = ["SampleResult", "build_sample", "path_choices", "sample_data"]

_MAX_DEPTH: Final = 16
_MAX_REF_HOPS: Final = 16
_OPTIONAL_DEPTH: Final = 6  # deeper, only what is required (a recursive schema ends)
_FORMAT_SAMPLES: Final = {
    "date": "2026-03-02",
    "date-time": "2026-03-02T09:30:00+07:00",
    "time": "09:30:00+07:00",
    "duration": "P15D",
    "email": "applicant@example.org",
    "hostname": "example.org",
    "ipv4": "192.0.2.10",
    "uri": "https://example.org/sample",
    "uuid": "7a1a1000-0000-4000-8000-000000000001",
    "phone": "+66 81 234 5678",
    "thai-national-id": "1101700230074",
    "vn-citizen-id": "001090123456",
}
_FILE_FORMAT: Final = "data-url"
_CLASS_PICKS: Final = string.digits[1:] + "0" + string.ascii_uppercase + string.ascii_lowercase + " -_./:"
_ESCAPE_PICKS: Final = {"d": "1", "w": "a", "s": " ", "D": "a", "W": "-", "S": "a", "b": "", "B": ""}


class SampleResult(BaseModel):
    """Sample values and what could not be satisfied (empty when they pass the form)."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, Any]
    problems: tuple[str, ...] = ()


def sample_data(schema: dict[str, Any], *, seed_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Plausible values for every field of a form, ``seed_values`` taking precedence.

    Never raises; see :func:`build_sample` for what could not be satisfied.
    """
    return build_sample(schema, seed_values=seed_values).values


def build_sample(schema: Any, *, seed_values: Mapping[str, Any] | None = None) -> SampleResult:
    """Sample values for a form plus the problems left, checked by the engine's validation.

    Args:
        schema: the form's JSON Schema (anything else gives no values and a problem).
        seed_values: top-level values chosen by the caller (e.g. ``decision="refuse"``);
            conditions (``if``/``then``) are evaluated with them.

    Returns:
        The values and, for a pattern no sample matches or a schema the engine refuses,
        one message per problem that a page can show. Never raises.
    """
    if not isinstance(schema, dict):
        return SampleResult(values={}, problems=("the form's schema is not a JSON object",))
    builder = _Builder(schema)
    values = builder.object_value(builder.resolve(schema), "", 0, dict(seed_values or {}))
    return SampleResult(values=values, problems=tuple(builder.problems + _checked(schema, values)))


def path_choices(schema: Any) -> dict[str, list[Any]]:
    """For each top-level boolean or enum field, the values that can lead different ways
    (``{"decision": ["approve", "refuse"], "documents_complete": [True, False]}``).

    Fields fixed by ``const`` have no choice and are left out. Never raises.
    """
    if not isinstance(schema, dict):
        return {}
    builder = _Builder(schema)
    properties = builder.resolve(schema).get("properties")
    choices: dict[str, list[Any]] = {}
    for name, sub in (properties if isinstance(properties, dict) else {}).items():
        node = builder.resolve(sub, pick_branch=False)
        branches = [b for key in ("oneOf", "anyOf") for b in _as_list(node.get(key)) if isinstance(b, dict)]
        found = [copy.deepcopy(b["const"]) for b in branches if "const" in b]
        if "const" in node:
            continue
        if isinstance(node.get("enum"), list):
            found = copy.deepcopy(node["enum"])
        elif not found and "boolean" in _as_list(node.get("type")):
            found = [True, False]
        if len(found) > 1:
            choices[str(name)] = found
    return choices


class _Builder:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.problems: list[str] = []

    def resolve(self, schema: Any, pick_branch: bool = True, depth: int = 0) -> dict[str, Any]:
        """The schema with local ``$ref`` followed, ``allOf`` merged and (``pick_branch``)
        the first ``oneOf``/``anyOf`` branch merged in."""
        node: dict[str, Any] = dict(schema) if isinstance(schema, dict) else {}
        for _ in range(_MAX_REF_HOPS):
            target = _pointer(self.root, node.get("$ref"))
            if target is None:
                break
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        if depth >= _MAX_DEPTH:
            return node
        for sub in _as_list(node.pop("allOf", None)):
            part = self.resolve(sub, depth=depth + 1)
            if "if" in part:  # several conditions may be combined: keep every one
                node[_CONDITIONS] = [*_conditions(node), *_conditions(part)]
                node.pop("if", None), node.pop("then", None), node.pop("else", None)
                part = {k: v for k, v in part.items() if k not in _CONDITION_KEYS}
            node = _merge(node, part)
        for key in ("oneOf", "anyOf") if pick_branch else ():
            first = next((b for b in _as_list(node.get(key)) if isinstance(b, dict)), None)
            if first is not None:
                rest = {k: v for k, v in node.items() if k != key}
                node = _merge(rest, self.resolve(first, depth=depth + 1))
        return node

    def value(self, schema: Any, path: str, depth: int, index: int = 0) -> Any:
        if schema is False or depth > _MAX_DEPTH:
            self.problems.append(f"{path or 'the form'}: no value can be made up for this field")
            return None
        node = self.resolve(schema, depth=depth)
        if "const" in node:
            return copy.deepcopy(node["const"])
        if isinstance(node.get("enum"), list) and node["enum"]:
            return copy.deepcopy(node["enum"][index % len(node["enum"])])
        kind = _kind(node)
        if kind == "object":
            return self.object_value(node, path, depth + 1, {})
        if kind == "array":
            return self.array_value(node, path, depth + 1)
        if kind in ("integer", "number"):
            return _number(node, kind == "integer", index)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string_value(node, path, index)

    def object_value(
        self, node: dict[str, Any], path: str, depth: int, seeds: dict[str, Any]
    ) -> dict[str, Any]:
        """Values for an object; its conditions (``if``/``then``/``else``, also several
        combined with ``allOf``) are applied until the values stop changing, since one
        branch may set a value another condition tests."""
        conditions = _conditions(node)
        plain = {k: v for k, v in node.items() if k not in _CONDITION_KEYS}
        values = self._fill(plain, path, depth, seeds)
        for _ in range(len(conditions)):
            if depth >= _MAX_DEPTH:
                break
            shaped = plain
            for when, then, otherwise in conditions:
                branch = then if _matches(values, when) else otherwise
                if isinstance(branch, dict):
                    shaped = _merge(shaped, self.resolve(branch))
            if shaped is plain:
                break
            refilled = self.object_value(
                shaped, path, depth + 1, {k: v for k, v in values.items() if k in seeds}
            )
            if refilled == values:
                break
            values = refilled
        return values

    def _fill(self, node: dict[str, Any], path: str, depth: int, seeds: dict[str, Any]) -> dict[str, Any]:
        found = node.get("properties")
        properties: dict[str, Any] = found if isinstance(found, dict) else {}
        values = {name: copy.deepcopy(seed) for name, seed in seeds.items()}
        required = _as_list(node.get("required"))
        for name, sub in properties.items():
            if name not in values and (depth < _OPTIONAL_DEPTH or name in required):
                values[name] = self.value(sub, f"{path}.{name}" if path else name, depth)
        for name in required:
            if isinstance(name, str) and name not in values:
                values[name] = self.value(node.get("additionalProperties", {}), name, depth)
        return values

    def array_value(self, node: dict[str, Any], path: str, depth: int) -> list[Any]:
        prefix = _as_list(node.get("prefixItems"))
        items = node.get("items", {})
        low = _integer(node.get("minItems"), 0)
        count = max(low, int(depth < _OPTIONAL_DEPTH), len(prefix) if items is False else 0)
        high = _integer(node.get("maxItems"), count)
        count = len(prefix) if items is False else min(count, high)
        title = node.get("title")
        values = []
        for i in range(count):
            item = prefix[i] if i < len(prefix) else items
            if isinstance(item, dict) and isinstance(title, str):
                item = {"title": title, **item}  # items are named after their list
            values.append(self.value(item, f"{path}[{i}]", depth, index=i))
        return values

    def string_value(self, node: dict[str, Any], path: str, index: int) -> str:
        form = node.get("format") if isinstance(node.get("format"), str) else None
        if form == _FILE_FORMAT:
            return "sha256:" + hashlib.sha256(f"sample:{path}".encode()).hexdigest()
        pattern = node.get("pattern") if isinstance(node.get("pattern"), str) else None
        low, high = _integer(node.get("minLength"), 0), _integer(node.get("maxLength"), 10**6)
        fixed = [node.get("default"), *_as_list(node.get("examples")), _FORMAT_SAMPLES.get(form or "")]
        title = node.get("title") if isinstance(node.get("title"), str) else path.rsplit(".", 1)[-1]
        text = f"Sample {title or 'text'}" + (f" {index + 1}" if index else "")
        made = _from_pattern(pattern) if pattern else None
        candidates = [c for c in fixed if isinstance(c, str)] + [_fit(text, low, high)]
        candidates += [_fit(made, low, high)] if made is not None else []
        for candidate in candidates:
            if low <= len(candidate) <= high and _pattern_ok(pattern, candidate):
                return candidate
        self.problems.append(f"{path}: no sample matches the pattern {pattern!r}; type a value by hand")
        return candidates[-1]


def _checked(schema: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """What the engine's validation says of the values (nothing when they pass)."""
    try:
        validate_form(FormSchema(file="sample", definition=schema), values)
    except FormInvalid as exc:
        return [error.message for error in exc.errors]
    except (ProcedureInvalid, ModelError) as exc:
        return [f"the form's schema cannot be used: {exc}"]
    except RecursionError:
        return ["the form's schema refers to itself without end; it cannot be checked"]
    return []


def _kind(node: dict[str, Any]) -> str:
    declared = [t for t in _as_list(node.get("type")) if isinstance(t, str)]
    if declared:
        return next((t for t in declared if t != "null"), declared[0])
    if "properties" in node or "required" in node:
        return "object"
    if "items" in node or "prefixItems" in node:
        return "array"
    numeric = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
    return "number" if any(k in node for k in numeric) else "string"


def _number(node: dict[str, Any], integer: bool, index: int) -> int | float:
    low = max(_num(node.get("minimum"), -math.inf), _num(node.get("exclusiveMinimum"), -math.inf) + 1)
    high = min(_num(node.get("maximum"), math.inf), _num(node.get("exclusiveMaximum"), math.inf) - 1)
    value = min(max(_num(node.get("default"), 10) + index, low), high)
    if low > high:  # a narrow range between exclusive bounds
        value = (low + high) / 2
    multiple = _num(node.get("multipleOf"), 0)
    if multiple > 0:
        value = math.ceil(value / multiple) * multiple
    return math.ceil(value) if integer else float(value)


def _num(value: Any, default: float) -> float:
    usable = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if usable else default


def _integer(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _fit(text: str, low: int, high: int) -> str:
    padded = text + "x" * max(0, low - len(text))
    return padded[:high]


def _pattern_ok(pattern: str | None, text: str) -> bool:
    try:
        return pattern is None or re.search(pattern, text) is not None
    except re.error:
        return False


def _matches(values: dict[str, Any], condition: Any) -> bool:
    """Whether ``values`` meet an ``if`` made of ``required`` and ``const``/``enum`` checks."""
    if not isinstance(condition, dict):
        return condition is True
    if any(name not in values for name in _as_list(condition.get("required"))):
        return False
    properties = condition.get("properties")
    for name, sub in (properties if isinstance(properties, dict) else {}).items():
        if name not in values or not isinstance(sub, dict):
            continue
        if "const" in sub and values[name] != sub["const"]:
            return False
        if isinstance(sub.get("enum"), list) and values[name] not in sub["enum"]:
            return False
    return True


_CONDITIONS: Final = "x-sample-conditions"  # internal: the conditions gathered from allOf
_CONDITION_KEYS: Final = ("if", "then", "else", _CONDITIONS)


def _conditions(node: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """The node's own ``if``/``then``/``else`` and those gathered from its ``allOf``."""
    own = [(node["if"], node.get("then"), node.get("else"))] if "if" in node else []
    return [*own, *node.get(_CONDITIONS, [])]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {
                name: _merge(base[key][name], sub)
                if isinstance(base[key].get(name), dict) and isinstance(sub, dict)
                else sub
                for name, sub in {**base[key], **value}.items()
            }
        elif key == "required" and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*_as_list(base.get(key)), *value]))
        else:
            merged[key] = value
    return merged


def _pointer(root: dict[str, Any], ref: Any) -> dict[str, Any] | None:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, dict) else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


# --- patterns: the first string of a simple regular expression ---------------------------


def _from_pattern(pattern: str) -> str | None:
    """A string the pattern matches, for literals, classes, groups, alternation and
    quantifiers; None for what this does not read (lookarounds, back-references ...)."""
    try:
        text, end = _sequence(pattern, 0)
    except (IndexError, ValueError, re.error):
        return None
    return text if end == len(pattern) else None


def _sequence(p: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    first: str | None = None  # of several alternatives, the first is kept
    while i < len(p) and p[i] != ")":
        if p[i] == "|":
            first, out, i = ("".join(out) if first is None else first), [], i + 1
            continue
        atom, i = _atom(p, i)
        count, i = _quantifier(p, i)
        out.append(atom * count)
    return ("".join(out) if first is None else first), i


def _atom(p: str, i: int) -> tuple[str, int]:
    char = p[i]
    if char in "^$":
        return "", i + 1
    if char == ".":
        return "a", i + 1
    if char == "\\":
        escaped = p[i + 1]
        if escaped.isdigit():
            raise ValueError("back-references are not followed")
        return _ESCAPE_PICKS.get(escaped, escaped), i + 2
    if char == "[":
        end = _class_end(p, i)
        found = next((c for c in _CLASS_PICKS if re.fullmatch(p[i : end + 1], c)), None)
        if found is None:
            raise ValueError("no simple character fits the class")
        return found, end + 1
    if char == "(":
        i += 1
        if p.startswith("?:", i):
            i += 2
        elif p.startswith("?", i):
            raise ValueError("lookarounds and named groups are not followed")
        text, i = _sequence(p, i)
        if p[i] != ")":
            raise ValueError("unclosed group")
        return text, i + 1
    return char, i + 1


def _quantifier(p: str, i: int) -> tuple[int, int]:
    count = 1
    if i < len(p) and p[i] in "?*+":
        count, i = (1 if p[i] == "+" else 0), i + 1
    elif i < len(p) and p[i] == "{" and (found := re.match(r"\{(\d+)(,\d*)?\}", p[i:])):
        count, i = int(found.group(1)), i + found.end()
    if i < len(p) and p[i] in "?+":  # lazy or possessive
        i += 1
    return count, i


def _class_end(p: str, i: int) -> int:
    j = i + 1
    j += 1 if p[j] == "^" else 0
    j += 1 if p[j] == "]" else 0
    while p[j] != "]":
        j += 2 if p[j] == "\\" else 1
    return j
