"""Workflow snapshots that reference their process spec instead of embedding it.

SpiffWorkflow's serializer copies the whole process spec into every workflow it saves;
rebuilding that spec is half the cost of loading a case. Here the spec is serialised once
per procedure version (:func:`dump_spec`) and a case snapshot holds only its task tree
and data; :func:`load_workflow` re-attaches the already built spec.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

from engine.errors import IntegrityError

SNAPSHOT_FORMAT = "onestop-1"


class _SpecByReferenceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Like the stock converter, minus ``spec`` and ``subprocess_specs``."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(  # type: ignore[override]
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec | None = None,
        subprocess_specs: dict[str, BpmnProcessSpec] | None = None,
    ) -> BpmnWorkflow:
        if spec is None:
            raise IntegrityError("a snapshot can only be loaded together with its process spec")
        dct = dict(dct)
        dct["spec"] = None
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _make_serializers() -> tuple[BpmnWorkflowSerializer, BpmnWorkflowSerializer]:
    stock = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = _SpecByReferenceConverter
    by_reference = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    return stock, by_reference


_STOCK, _BY_REFERENCE = _make_serializers()


def dump_spec(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
    """Serialise a process spec (and the specs of its subprocesses) once, as JSON."""
    registry = _STOCK.registry
    document = {
        "format": SNAPSHOT_FORMAT,
        "spec": registry.convert(spec),
        "subprocess_specs": {name: registry.convert(sub) for name, sub in subprocess_specs.items()},
    }
    return json.dumps(document, sort_keys=True)


def load_spec(text: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Rebuild a process spec stored with :func:`dump_spec`."""
    document = json.loads(text)
    registry = _STOCK.registry
    spec = registry.restore(document["spec"])
    subs = {name: registry.restore(sub) for name, sub in document["subprocess_specs"].items()}
    return spec, subs


def dump_workflow(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The workflow's state without its spec, as JSON-ready data."""
    return _BY_REFERENCE.to_dict(workflow)  # type: ignore[no-any-return]


def load_workflow(
    state: dict[str, Any], spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump_workflow` output and its (shared) spec."""
    return _BY_REFERENCE.from_dict(state, spec=spec, subprocess_specs=subprocess_specs)
