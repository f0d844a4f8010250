"""Checks on what steps record and read: field texts, form files and conditions.

Conditions are compiled exactly as the engine compiles them
(:func:`engine.sandbox_compile.compile_source`), so a condition that passes here runs; a
condition reading a name that no step's form defines is a warning (a typo, most often).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator, Sequence
from typing import Final

from designer.bpmn_graph import MESSAGE_VARIABLE
from designer.spec_fields import APPROVAL_FIELDS, parse_fields
from designer.spec_model import Issue, StepSpec
from engine.sandbox_compile import compile_source
from engine.sandbox_helpers import HELPERS

__all__ = ["condition_issues", "form_issues"]

_FORM_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.json$")
_CONDITION_HINT: Final = (
    'conditions are Python expressions over form fields, e.g. not documents_complete or decision == "approve"'
)


def form_issues(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    """Field texts parse, a step has fields or a form file (not both), approvals keep their
    own decision and reason."""
    reserved = {field.name for field in APPROVAL_FIELDS}
    for index, step in enumerate(steps):
        if step.kind == "decision":
            continue
        yield from _form_file_issues(index, step)
        fields, problems = parse_fields(step.fields)
        for problem in problems:
            yield Issue(
                "error",
                "spec-fields-invalid",
                f"field {problem.item} '{problem.text}': {problem.message}",
                problem.hint,
                index,
                "fields",
            )
        clash = sorted({field.name for field in fields} & reserved) if step.kind == "approval" else []
        if clash:
            yield Issue(
                "error",
                "spec-approval-reserved-field",
                f"an approval form always has decision and reason; remove {', '.join(clash)} from fields",
                "the approval's decision field is choice(approve|refuse), its reason text",
                index,
                "fields",
            )


def _form_file_issues(index: int, step: StepSpec) -> Iterator[Issue]:
    if step.fields and step.form:
        yield Issue(
            "error",
            "spec-fields-and-form",
            "the step has both fields and a form file",
            "clear fields to use the form file, or clear form to generate the form",
            index,
            "form",
        )
    if step.form and not _FORM_NAME.match(step.form):
        yield Issue(
            "error",
            "spec-form-name-invalid",
            f"form '{step.form}' is not the name of a .json file",
            "name a file of forms/ such as check_documents.json",
            index,
            "form",
        )


def condition_issues(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    """Routes' and supplements' conditions compile in the sandbox and read known fields."""
    known = _known_names(steps)
    for index, step in enumerate(steps):
        sources: list[tuple[str, tuple[str | int, ...], str]] = []
        if step.kind == "decision":
            sources = [("routes", (n, "when"), route.when) for n, route in enumerate(step.routes)]
        elif step.kind == "supplement" and step.condition:
            sources = [("condition", (), step.condition)]
        for column, path, source in sources:
            yield from _condition(index, column, path, source, known)


def _condition(
    index: int, column: str, path: tuple[str | int, ...], source: str, known: set[str] | None
) -> Iterator[Issue]:
    compiled = compile_source(source, "eval")
    for problem in compiled.problems:
        yield Issue(
            "error",
            "spec-condition-invalid",
            f"condition `{source}` is refused by the engine: {problem.message}",
            _CONDITION_HINT,
            index,
            column,
            path,
        )
    if compiled.problems or known is None:
        return
    unknown = sorted(_names_read(source) - known)
    if unknown:
        yield Issue(
            "warning",
            "spec-condition-unknown-field",
            f"condition `{source}` uses {', '.join(unknown)}, which no step's fields define",
            "a condition can only read fields filled in earlier steps; check the spelling",
            index,
            column,
            path,
        )


def _known_names(steps: Sequence[StepSpec]) -> set[str] | None:
    """Names a condition may read, or ``None`` when a supplied form hides some."""
    if any(step.form for step in steps):
        return None
    names = set(dir(builtins)) | set(HELPERS) | {MESSAGE_VARIABLE}
    for step in steps:
        names.update(field.name for field in parse_fields(step.fields)[0])
        if step.kind == "approval":
            names.update(field.name for field in APPROVAL_FIELDS)
    return names


def _names_read(source: str) -> set[str]:
    tree = ast.parse(source, mode="eval")
    loaded = {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    stored = {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    return loaded - stored
