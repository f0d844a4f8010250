"""A procedure described as a table of steps — what a process designer writes instead of BPMN.

The spec says what the service manual says (names, legal basis, time limit, documents,
results ...) and lists the steps in order, one row each: tasks done by a role, decisions
that route the case, supplement loops that wait for missing documents, approvals, and
parallel groups of tasks. :mod:`designer.bpmn_generator` turns a spec into a procedure
package. Specs come as YAML (:func:`load_spec`, :func:`dump_spec`) or as the rows of the
builder's table (:data:`STEP_COLUMNS`, :func:`step_rows`, :func:`steps_from_rows`).

Reading never raises on bad input: every problem is a :class:`engine.views.Finding` with
the file and line (YAML) or the row and column (table), and a hint.
"""

from __future__ import annotations

from typing import Any, Final

import yaml
from pydantic import ValidationError

from designer.manual import LineIndex
from designer.packages import count_nodes
from designer.spec_checks import Issue, spec_issues
from designer.spec_model import END, DocumentSpec, Names, ProcedureSpec, ResultSpec, RouteSpec, StepSpec
from designer.spec_table import STEP_COLUMNS, step_rows, steps_from_rows
from engine.views import Finding

__all__ = [
    "END",
    "STEP_COLUMNS",
    "DocumentSpec",
    "Names",
    "ProcedureSpec",
    "ResultSpec",
    "RouteSpec",
    "StepSpec",
    "check_spec",
    "dump_spec",
    "load_spec",
    "step_rows",
    "steps_from_rows",
]

MAX_SPEC_CHARS: Final = 2**20
# As for manuals: anchors nested in each other can stand for an enormous document.
MAX_SPEC_NODES: Final = 20_000
_SPEC_HINT: Final = "see designer/spec_examples/ for a complete spec"


def load_spec(text: str, file: str = "spec.yaml") -> tuple[ProcedureSpec | None, list[Finding]]:
    """Read a spec from YAML and check it.

    Args:
        text: the YAML text (untrusted).
        file: its name, for the findings.

    Returns:
        The spec (``None`` when any finding is an error) and every finding; never raises
        on bad input.
    """
    loaded, problem = _read_yaml(text, file)
    if problem is not None:
        return None, [problem]
    lines = LineIndex(text)
    try:
        spec = ProcedureSpec.model_validate(loaded)
    except ValidationError as exc:
        return None, [_invalid(error, lines, file) for error in exc.errors()]
    findings = [_yaml_finding(issue, spec, lines, file) for issue in spec_issues(spec.steps)]
    has_error = any(finding.severity == "error" for finding in findings)
    return (None if has_error else spec), findings


def dump_spec(spec: ProcedureSpec) -> str:
    """The spec as YAML that :func:`load_spec` reads back equal (empty values left out)."""
    data = spec.model_dump(mode="json", exclude_none=True)
    data = {key: value for key, value in data.items() if value not in ([], "")}
    data["steps"] = [
        {key: value for key, value in step.items() if value not in ([], "")} for step in data["steps"]
    ]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def check_spec(spec: ProcedureSpec, text: str | None = None, file: str = "spec.yaml") -> list[Finding]:
    """The semantic findings of a spec already built (its values are valid on their own).

    Args:
        spec: the spec.
        text: the YAML it was read from; findings then point at its lines. Without it they
            point at the rows of the step table.
        file: the YAML file's name.

    Returns:
        Every finding (never raises).
    """
    if text is None:
        return steps_from_rows(step_rows(spec))[1]
    lines = LineIndex(text)
    return [_yaml_finding(issue, spec, lines, file) for issue in spec_issues(spec.steps)]


def _read_yaml(text: str, file: str) -> tuple[Any, Finding | None]:
    if len(text) > MAX_SPEC_CHARS:
        return None, _unreadable(
            f"{file} has {len(text):,} characters; a spec may have at most {MAX_SPEC_CHARS:,}", file
        )
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, _unreadable(
            f"{file} is not valid YAML: {getattr(exc, 'problem', None) or exc}", file, line
        )
    except RecursionError:
        return None, _unreadable(f"{file} nests its values too deeply", file)
    if not isinstance(loaded, dict):
        kind = "nothing" if loaded is None else f"a {type(loaded).__name__}"
        return None, _unreadable(
            f"{file} must be a mapping of fields (code, name, steps ...), not {kind}", file
        )
    if count_nodes(loaded, MAX_SPEC_NODES) > MAX_SPEC_NODES:
        return None, _unreadable(
            f"{file} expands to more than {MAX_SPEC_NODES:,} values (anchors and aliases repeated "
            "inside each other); write the values out",
            file,
        )
    return loaded, None


def _unreadable(message: str, file: str, line: int | None = None) -> Finding:
    return Finding(
        severity="error", code="spec-unreadable", message=message, file=file, line=line, hint=_SPEC_HINT
    )


def _invalid(error: Any, lines: LineIndex, file: str) -> Finding:
    location = tuple(error["loc"])
    where = ".".join(str(part) for part in location) or "(spec)"
    hint = _SPEC_HINT
    if error["type"] == "string_pattern_mismatch":
        hint = "codes, ids and roles are lowercase letters, digits and '_', starting with a letter"
    elif error["type"] == "extra_forbidden":
        hint = f"'{location[-1]}' is not a spec field; check its spelling ({_SPEC_HINT})"
    return Finding(
        severity="error",
        code="spec-invalid",
        message=f"field '{where}': {error['msg']}",
        file=file,
        line=lines.line(location),
        hint=hint,
    )


def _yaml_finding(issue: Issue, spec: ProcedureSpec, lines: LineIndex, file: str) -> Finding:
    if issue.step is None:
        return Finding(
            severity=issue.severity, code=issue.code, message=issue.message, file=file, hint=issue.hint
        )
    path: tuple[str | int, ...] = (
        "steps",
        issue.step,
        *((issue.column,) if issue.column else ()),
        *issue.path,
    )
    step_id = spec.steps[issue.step].id
    return Finding(
        severity=issue.severity,
        code=issue.code,
        message=f"{'.'.join(str(part) for part in path)} (step '{step_id}'): {issue.message}",
        file=file,
        line=lines.line(path),
        element_id=step_id,
        hint=issue.hint,
    )
