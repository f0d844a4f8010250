"""The steps of a procedure as the rows of an editable table (``st.data_editor``).

Cells hold plain text and whole numbers only. A decision's routes are one text,
``expr -> target; expr -> target``. Rows come back from the editor untidy — ``None``,
``NaN``, numpy integers, empty strings, numbers typed into text columns — and are read
without raising: every problem becomes a finding naming the row and the column.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError

from designer.spec_checks import Issue, spec_issues
from designer.spec_model import ProcedureSpec, Severity, StepSpec
from engine.views import Finding

__all__ = ["STEP_COLUMNS", "TABLE_FILE", "parse_routes", "routes_text", "step_rows", "steps_from_rows"]

#: The columns of the step table, in display order.
STEP_COLUMNS: Final = (
    "id",
    "kind",
    "name_en",
    "name_th",
    "name_vi",
    "role",
    "fields",
    "form",
    "allowance_days",
    "parallel",
    "routes",
    "default",
    "condition",
    "wait_days",
    "goto",
)
#: ``Finding.file`` of table findings; ``line`` is the row and ``column`` the column's number.
TABLE_FILE: Final = "steps"
_WHOLE_NUMBER_COLUMNS: Final = frozenset({"allowance_days", "wait_days"})
_ROUTES_HINT: Final = (
    "write routes as  condition -> step; condition -> step  e.g.  fee > 0 -> pay; not paid -> end"
)
_IDENTIFIER_HINT: Final = "ids and roles are lowercase letters, digits and '_', starting with a letter"


def step_rows(spec: ProcedureSpec) -> list[dict[str, Any]]:
    """One dict per step of ``spec`` with every column of :data:`STEP_COLUMNS`; values are
    ``str``, ``int`` or ``None``."""
    rows = []
    for step in spec.steps:
        row: dict[str, Any] = {column: getattr(step, column) for column in STEP_COLUMNS}
        row["fields"] = step.fields or None
        row["routes"] = routes_text(step) or None
        rows.append(row)
    return rows


def routes_text(step: StepSpec) -> str:
    """A decision's routes as ``expr -> target; expr -> target``."""
    return "; ".join(f"{route.when} -> {route.goto}" for route in step.routes)


def parse_routes(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """Routes read from their text form, and what is wrong with the parts that are not routes."""
    routes: list[dict[str, str]] = []
    problems: list[str] = []
    for part in _split_outside_quotes(text, ";"):
        when, arrow, target = part.rpartition("->")
        if not arrow or not when.strip() or not target.strip():
            problems.append(f"'{part}' is not  condition -> step")
            continue
        routes.append({"when": when.strip(), "goto": target.strip()})
    return routes, problems


def steps_from_rows(rows: list[dict[str, Any]]) -> tuple[list[StepSpec], list[Finding]]:
    """Read the table's rows back into steps, checking each row and then the steps together.

    Blank rows are skipped. A row that cannot be read is left out of the steps, and its
    findings say why; findings put the row number in ``line`` and the message
    (``step row 3, column 'fields': ...``).

    Returns:
        The steps that could be read, and every finding (never raises).
    """
    steps: list[StepSpec] = []
    row_numbers: list[int] = []
    findings: list[Finding] = []
    unread_ids: set[str] = set()
    partial = False
    for number, row in enumerate(rows, start=1):
        values = {column: _plain(row.get(column)) for column in STEP_COLUMNS} if isinstance(row, dict) else {}
        if not any(value is not None for value in values.values()):
            continue
        step, problems = _read_row(number, values)
        findings += problems
        if step is None:
            partial = True
            if isinstance(values.get("id"), str):
                unread_ids.add(values["id"])
            continue
        steps.append(step)
        row_numbers.append(number)
    issues = spec_issues(steps, other_ids=unread_ids, partial=partial)
    findings += [_issue_finding(issue, steps, row_numbers) for issue in issues]
    return steps, findings


def _read_row(number: int, values: dict[str, Any]) -> tuple[StepSpec | None, list[Finding]]:
    data = {column: value for column, value in values.items() if value is not None}
    for column, value in data.items():
        # A number typed into a text column (an id such as 12, a label such as 1) is text.
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and column not in _WHOLE_NUMBER_COLUMNS:
            data[column] = str(value)
    if isinstance(data.get("kind"), str):
        data["kind"] = data["kind"].lower()
    problems: list[Finding] = []
    if isinstance(values.get("routes"), str):
        data["routes"], route_problems = parse_routes(values["routes"])
        problems += [
            _finding("error", "spec-routes-invalid", number, "routes", text, _ROUTES_HINT, values.get("id"))
            for text in route_problems
        ]
    try:
        step = StepSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            column = str(error["loc"][0]) if error["loc"] else "id"
            hint = _IDENTIFIER_HINT if error["type"] == "string_pattern_mismatch" else None
            problems.append(
                _finding("error", "spec-invalid", number, column, error["msg"], hint, values.get("id"))
            )
        return None, problems
    return (None if problems else step), problems


def _plain(value: Any) -> Any:
    """A cell as ``str`` (stripped, ``None`` when empty), ``int``, ``float``, ``bool`` or ``None``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if number != number:  # NaN: an empty numeric cell
            return None
        return int(number) if number.is_integer() else number
    try:
        if bool(value != value):  # pandas' NaT and similar missing markers
            return None
    except (TypeError, ValueError):
        return None  # pandas.NA refuses to be a bool; it is a missing cell too
    return str(value).strip() or None


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        if char == separator and quote is None:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _issue_finding(issue: Issue, steps: Sequence[StepSpec], row_numbers: Sequence[int]) -> Finding:
    if issue.step is None:
        return Finding(severity=issue.severity, code=issue.code, message=issue.message, hint=issue.hint)
    column = issue.column or "id"
    if issue.path and isinstance(issue.path[0], int):
        message = f"route {issue.path[0] + 1}: {issue.message}"
    else:
        message = issue.message
    return _finding(
        issue.severity, issue.code, row_numbers[issue.step], column, message, issue.hint, steps[issue.step].id
    )


def _finding(
    severity: Severity, code: str, row: int, column: str, message: str, hint: str | None, step_id: Any
) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        message=f"step row {row}, column '{column}': {message}",
        file=TABLE_FILE,
        line=row,
        column=STEP_COLUMNS.index(column) + 1 if column in STEP_COLUMNS else None,
        element_id=step_id if isinstance(step_id, str) else None,
        hint=hint,
    )
