"""What a list of steps must satisfy beyond each value's own type, as located issues.

Each check names the step (by its position) and the column at fault; the caller turns the
issues into findings pointing at a YAML line (:func:`designer.procedure_spec.load_spec`) or
at a row and column of the builder's table (:func:`designer.spec_table.steps_from_rows`).
The checks of forms and conditions are in :mod:`designer.spec_field_checks`.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Collection, Iterator, Sequence
from typing import Final

from designer.spec_field_checks import condition_issues, form_issues
from designer.spec_model import END, Issue, StepSpec
from designer.step_graph import reachable_steps

__all__ = ["Issue", "spec_issues"]

_NEEDS_NAME_AND_ROLE: Final = ("task", "supplement", "approval")
# Columns that mean something only for some kinds of step.
_ONLY_FOR: Final[dict[str, tuple[str, ...]]] = {
    "routes": ("decision",),
    "default": ("decision",),
    "condition": ("supplement",),
    "wait_days": ("supplement",),
    "goto": ("supplement",),
    "allowance_days": ("task", "supplement", "approval"),
    "fields": ("task", "supplement", "approval"),
    "form": ("task", "supplement", "approval"),
    "parallel": ("task",),
}


def spec_issues(
    steps: Sequence[StepSpec], *, other_ids: Collection[str] = (), partial: bool = False
) -> list[Issue]:
    """Every semantic problem of ``steps``, in step order.

    Args:
        steps: the steps, in order.
        other_ids: ids of rows that could not be read, so that targets naming them are not
            reported as unknown.
        partial: some rows could not be read; checks of the order of rows (parallel groups,
            reachability) then wait, since a missing row would mislead them.

    Returns:
        The issues (never raises).
    """
    issues = [
        *_duplicate_ids(steps),
        *_kind_columns(steps),
        *_targets(steps, set(other_ids)),
        *form_issues(steps),
        *condition_issues(steps),
    ]
    if not partial:
        issues += _parallel_groups(steps)
    if not partial and not any(issue.severity == "error" for issue in issues):
        issues += _unreachable(steps)
    return sorted(issues, key=lambda issue: -1 if issue.step is None else issue.step)


def _duplicate_ids(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    first: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.id == END:
            yield Issue(
                "error",
                "spec-reserved-id",
                f"'{END}' cannot be a step id: a goto to '{END}' ends the case",
                "name the step after what it does, e.g. close_case",
                index,
                "id",
            )
        if step.id in first:
            yield Issue(
                "error",
                "spec-duplicate-id",
                f"step id '{step.id}' is already used by step {first[step.id] + 1}",
                "give every step its own id: it names the task, its form and its flows",
                index,
                "id",
            )
        first.setdefault(step.id, index)


def _kind_columns(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    for index, step in enumerate(steps):
        if step.kind in _NEEDS_NAME_AND_ROLE and not step.name_en:
            yield Issue(
                "error",
                "spec-missing-name",
                f"a {step.kind} step needs an English name",
                "name_en is the task's name in worklists",
                index,
                "name_en",
            )
        if step.kind in _NEEDS_NAME_AND_ROLE and not step.role:
            yield Issue(
                "error",
                "spec-missing-role",
                f"a {step.kind} step needs a role: the role's staff do it",
                "use a role granted to staff, e.g. intake_officer, engineer or approver",
                index,
                "role",
            )
        if step.kind == "decision" and index == 0 and not step.role:
            yield Issue(
                "error",
                "spec-missing-role",
                "the first step is a decision without a role; a decision sits in the lane of the step "
                "before it, and there is none",
                "start with a task, or give the decision a role",
                index,
                "role",
            )
        yield from _kind_requirements(index, step)
        yield from _ignored_columns(index, step)


def _ignored_columns(index: int, step: StepSpec) -> Iterator[Issue]:
    for column, kinds in _ONLY_FOR.items():
        if step.kind not in kinds and getattr(step, column) not in (None, "", []):
            yield Issue(
                "warning",
                "spec-column-ignored",
                f"{column} is not used by a {step.kind} step and is ignored",
                f"{column} applies to {' and '.join(kinds)} steps; clear it or change the kind",
                index,
                column,
            )


def _kind_requirements(index: int, step: StepSpec) -> Iterator[Issue]:
    if step.kind == "decision" and step.default is None:
        yield Issue(
            "error",
            "spec-decision-no-default",
            "the decision has no default: a case would stop when no route's condition holds",
            "set default to the step (or 'end') to take otherwise",
            index,
            "default",
        )
    if step.kind == "decision" and not step.routes:
        yield Issue(
            "warning",
            "spec-decision-no-routes",
            "the decision has no routes, so it always takes its default",
            "add routes such as  amount > 1000 -> approve",
            index,
            "routes",
        )
    if step.kind != "supplement":
        return
    missing = [
        (column, hint)
        for column, hint in (
            ("condition", "when documents are missing, e.g. not documents_complete"),
            ("goto", "the id of the step that checks the documents again, usually the check step"),
            ("wait_days", "how many days the applicant has to supply the documents"),
        )
        if getattr(step, column) is None
    ]
    for column, hint in missing:
        yield Issue(
            "error", f"spec-supplement-no-{column.replace('_', '-')}", _needs(column), hint, index, column
        )


def _needs(column: str) -> str:
    return f"a supplement step needs {column}"


def _targets(steps: Sequence[StepSpec], other_ids: set[str]) -> Iterator[Issue]:
    ids = {step.id for step in steps} | other_ids
    inside_group = _later_group_members(steps)
    for index, step in enumerate(steps):
        for column, path, target in _step_targets(step):
            found = _target_problem(step, column, target, ids, inside_group)
            if found is not None:
                code, message, hint = found
                yield Issue("error", code, message, hint, index, column, path)


def _target_problem(
    step: StepSpec, column: str, target: str, ids: set[str], inside_group: dict[str, str]
) -> tuple[str, str, str] | None:
    """``(code, message, hint)`` when ``target`` cannot be where ``step`` goes."""
    if target == END and step.kind == "supplement":
        return (
            "spec-goto-unknown",
            "a supplement's goto cannot be 'end': the supplied documents must be checked",
            "name the step that checks the documents",
        )
    if target == END:
        return None
    if target not in ids:
        close = difflib.get_close_matches(target, sorted(ids), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (
            "spec-goto-unknown",
            f"{column} goes to '{target}', which is not a step id",
            f"{hint}use a step id or 'end'",
        )
    if target == step.id and step.kind == "decision":
        return (
            "spec-goto-self",
            "the decision goes to itself, which would loop without any work done",
            "go back to a task before the decision instead",
        )
    if target in inside_group:
        return (
            "spec-goto-into-parallel",
            f"{column} goes to '{target}', a branch inside parallel group '{inside_group[target]}'",
            "go to the group's first step: the whole group starts again",
        )
    return None


def _step_targets(step: StepSpec) -> Iterator[tuple[str, tuple[str | int, ...], str]]:
    if step.kind == "decision":
        for number, route in enumerate(step.routes):
            yield "routes", (number, "goto"), route.goto
        if step.default is not None:
            yield "default", (), step.default
    elif step.kind == "supplement" and step.goto is not None:
        yield "goto", (), step.goto


def _later_group_members(steps: Sequence[StepSpec]) -> dict[str, str]:
    """Ids of parallel branches that are not the first of their group, with the label."""
    members: dict[str, str] = {}
    for before, step in itertools.pairwise(steps):
        if step.parallel and before.parallel == step.parallel:
            members[step.id] = step.parallel
    return members


def _parallel_groups(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    closed: set[str] = set()
    for index, step in enumerate(steps):
        label = step.parallel
        previous = steps[index - 1].parallel if index > 0 else None
        following = steps[index + 1].parallel if index + 1 < len(steps) else None
        if label is None or step.kind != "task":
            continue
        if label in closed and previous != label:
            yield Issue(
                "error",
                "spec-parallel-not-consecutive",
                f"parallel group '{label}' is split: its rows must follow each other",
                "move the rows of the group together, or give this row another label",
                index,
                "parallel",
            )
        elif previous != label and following != label:
            yield Issue(
                "warning",
                "spec-parallel-single",
                f"parallel group '{label}' has only this row, so nothing runs in parallel with it",
                "give the same label to the consecutive rows to run at the same time",
                index,
                "parallel",
            )
        closed.add(label)


def _unreachable(steps: Sequence[StepSpec]) -> Iterator[Issue]:
    reached = reachable_steps(steps)
    for index, step in enumerate(steps):
        if step.id not in reached:
            yield Issue(
                "warning",
                "spec-unreachable-step",
                f"step '{step.id}' can never be reached: no step before it leads to it",
                "a decision only goes where its routes and default say; route to this step or remove it",
                index,
                "id",
            )
