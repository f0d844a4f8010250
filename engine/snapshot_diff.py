"""Where a stored workflow snapshot differs from the state replay rebuilds.

Replay is deterministic, so an honest snapshot holds the same JSON as the replayed
workflow's dump, tasks in the same order (only keys inside data may come in another order);
anything else is reported at the first differing path, with the BPMN element whose task
holds it when there is one.
"""

from __future__ import annotations

import json
from typing import Any

_MAX_SHOWN = 200
_MISSING = object()


def snapshot_difference(stored: str, replayed: dict[str, Any]) -> tuple[str | None, str, str] | None:
    """``(element_id, expected, found)`` for the first difference, or None when equal.

    Args:
        stored: the snapshot text kept with the case.
        replayed: :meth:`CaseWorkflow.dump` of the workflow rebuilt from the events.
    """
    text = json.dumps(replayed)
    if text == stored:
        return None
    try:
        kept = json.loads(stored)
    except ValueError:
        return None, "the replayed workflow state", "a snapshot that is not JSON"
    fresh = json.loads(text)
    found = _first_difference(fresh, kept, ())
    if found is None:
        # Key order inside task data may differ (recorded service answers come back with
        # sorted keys), but the order of tasks is the order events are reported in.
        if _task_orders(fresh) == _task_orders(kept):
            return None
        return None, "tasks in the order replay created them", "the same tasks in another order"
    path, mine, theirs = found
    where = ".".join(path) or "(whole snapshot)"
    return _element_at(fresh, path), f"{where} = {_show(mine)}", f"{where} = {_show(theirs)}"


def _task_orders(state: Any) -> list[list[str]]:
    """The order of task ids of the workflow and of each of its subprocesses."""
    workflow = state.get("workflow", {}) if isinstance(state, dict) else {}
    processes = [workflow, *(workflow.get("subprocesses") or {}).values()]
    return [list(process.get("tasks") or {}) for process in processes if isinstance(process, dict)]


def _first_difference(
    mine: Any, theirs: Any, path: tuple[str, ...]
) -> tuple[tuple[str, ...], Any, Any] | None:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            found = _first_difference(mine.get(key, _MISSING), theirs.get(key, _MISSING), (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        for index, (left, right) in enumerate(zip(mine, theirs, strict=True)):
            found = _first_difference(left, right, (*path, str(index)))
            if found is not None:
                return found
        return None
    return None if mine == theirs else (path, mine, theirs)


def _element_at(state: Any, path: tuple[str, ...]) -> str | None:
    """The spec name of the innermost task on ``path`` (its BPMN element id)."""
    element = None
    node = state
    for key in path:
        if not isinstance(node, dict) or key not in node:
            break
        node = node[key]
        if isinstance(node, dict) and isinstance(node.get("task_spec"), str):
            element = node["task_spec"]
    return element


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    shown = json.dumps(value, sort_keys=True, default=str)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 1] + "…"
