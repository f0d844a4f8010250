"""A procedure package generated from a :class:`~designer.procedure_spec.ProcedureSpec`.

The package is what a designer would otherwise draw and write by hand: ``process.bpmn``
(process and diagram, see :mod:`designer.bpmn_graph`, :mod:`designer.bpmn_layout` and
:mod:`designer.bpmn_writer`), one JSON Schema form per user task under ``forms/``, and the
service manual ``manual.yaml``. Validate it like any other package before publishing
(:func:`designer.validation.validate_package`).

Each kind of step becomes:

- ``task``: a user task in the lane of its role; with ``allowance_days``, a non-interrupting
  boundary timer leading to an end event "… overdue" (the case goes on, the firing is
  recorded);
- ``decision``: an exclusive gateway, one conditional flow per route and a default flow;
- ``supplement``: a gateway on ``condition``; when it holds, a user task requests the
  missing documents and an event-based gateway races the ``documents_supplied`` message
  (back to ``goto``) against a ``wait_days`` timer (the dossier is returned); otherwise the
  case goes on;
- ``approval``: a user task whose form has ``decision`` (approve|refuse) and ``reason``, then
  a gateway: approved goes on, anything else ends "Refused";
- consecutive tasks with one ``parallel`` label: branches between a parallel split and join.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import yaml

from designer.bpmn_graph import ProcessGraph, build_graph
from designer.bpmn_layout import layout_graph
from designer.bpmn_writer import bpmn_document
from designer.procedure_spec import ProcedureSpec, check_spec
from designer.spec_fields import APPROVAL_FIELDS, form_document, parse_fields
from designer.spec_model import Names, StepSpec
from engine import PackageFiles
from engine.errors import ProcedureInvalid

__all__ = ["PROCESS_FILE", "generate_package", "manual_yaml", "service_manual"]

PROCESS_FILE: Final = "process.bpmn"


def generate_package(spec: ProcedureSpec, *, forms: Mapping[str, bytes] | None = None) -> PackageFiles:
    """Generate the procedure package of ``spec``.

    Args:
        spec: the procedure.
        forms: form files supplied as they are, by file name, for steps that name a
            ``form`` instead of listing ``fields``; a named form not given here is left out
            (validation then reports it missing).

    Returns:
        The package: ``process.bpmn``, ``forms/<step id>.json`` per user task, the manual.

    Raises:
        ProcedureInvalid: the spec has errors; its findings name the step row and column.
    """
    errors = [finding for finding in check_spec(spec) if finding.severity == "error"]
    if errors:
        raise ProcedureInvalid(
            f"the spec of '{spec.code}' has {len(errors)} error(s); fix them before generating the package",
            findings=errors,
        )
    graph = build_graph(spec)
    return PackageFiles(
        code=spec.code,
        bpmn={PROCESS_FILE: bpmn_document(spec, graph, layout_graph(graph))},
        forms=_form_files(spec, forms or {}),
        manual=service_manual(spec, graph),
    )


def service_manual(spec: ProcedureSpec, graph: ProcessGraph | None = None) -> dict[str, Any]:
    """The service manual (``manual.yaml`` content, see :class:`designer.manual.ServiceManual`).

    Args:
        spec: the procedure.
        graph: its process, when already built (it names lanes beyond the steps' roles).

    Returns:
        The manual as a plain dict.
    """
    graph = graph or build_graph(spec)
    tasks = [step for step in spec.steps if step.kind != "decision"]
    roles = [lane for lane in graph.lanes if lane not in {step.role for step in tasks}]
    manual: dict[str, Any] = {
        "code": spec.code,
        "name": spec.name.as_dict(),
        "legal_basis": list(spec.legal_basis),
        "responsible_unit": spec.responsible_unit,
        "channels": list(spec.channels),
        "time_limit": {"value": spec.time_limit_days, "unit": "days", "day_type": spec.day_type},
        "steps": [_manual_step(step) for step in tasks],
        "documents": [
            {"name": _localised(d.name), "required": d.required, "held_by_state": d.held_by_state}
            for d in spec.documents
        ],
        "results": [
            _without_none({"name": _localised(r.name), "validity": r.validity}) for r in spec.results
        ],
        "complaint_channel": _localised(spec.complaint_channel) if spec.complaint_channel else None,
        "starter_role": spec.steps[0].role or graph.lanes[0],
        "roles": roles,
    }
    return {key: value for key, value in manual.items() if value not in (None, [], "")}


def manual_yaml(manual: Mapping[str, Any]) -> str:
    """The manual as the text of ``manual.yaml``."""
    header = f"# Service manual of '{manual.get('code')}', generated from its procedure spec.\n"
    return header + yaml.safe_dump(dict(manual), sort_keys=False, allow_unicode=True, width=110)


def _manual_step(step: StepSpec) -> dict[str, Any]:
    return _without_none(
        {"id": step.id, "name": step.names(), "role": step.role, "allowance_days": step.allowance_days}
    )


def _form_files(spec: ProcedureSpec, supplied: Mapping[str, bytes]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for step in spec.steps:
        if step.kind == "decision":
            continue
        if step.form:
            if step.form in supplied:
                files[step.form] = supplied[step.form]
            continue
        fields = parse_fields(step.fields)[0]
        if step.kind == "approval":
            fields = [*APPROVAL_FIELDS, *fields]
        document = form_document(step.names(), fields)
        files[f"{step.id}.json"] = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
    return files


def _localised(value: Names | str) -> dict[str, str] | str:
    return value.as_dict() if isinstance(value, Names) else value


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
