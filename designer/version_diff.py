"""What changed between two versions of a procedure package.

Compares the BPMN (flow elements, sequence flows, lanes), the forms (fields and the facts of
each field that an applicant or officer sees), the decision tables (by file) and the manual
(every value, by dotted path). Inputs are untrusted: a side that cannot be read is reported
as a note and left out of the comparison, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal, TypeVar

from lxml import etree
from pydantic import BaseModel, ConfigDict

from designer.bpmn_model import BPMN, BpmnModel, text_of
from engine import PackageFiles
from engine.errors import OneStopError
from engine.xml_safety import parse_xml

__all__ = [
    "ElementRef",
    "FieldChange",
    "FieldSpec",
    "FlowChange",
    "FlowRef",
    "FormDiff",
    "ManualChange",
    "Renamed",
    "VersionDiff",
    "describe_diff",
    "diff_packages",
]

_T = TypeVar("_T")

#: Facts of a form field compared between versions.
FIELD_FACTS = ("type", "required", "enum", "format", "title")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ElementRef(_Frozen):
    """A BPMN flow element (task, event, gateway) or lane, by id."""

    id: str
    type: str
    name: str = ""


class Renamed(_Frozen):
    """An element or lane that kept its id but changed its name or its BPMN type."""

    id: str
    old_type: str
    new_type: str
    old_name: str
    new_name: str


class FlowRef(_Frozen):
    """A sequence flow: where it goes and the condition guarding it."""

    id: str
    source: str
    target: str
    condition: str = ""


class FlowChange(_Frozen):
    """A sequence flow that kept its id but changed its ends or its condition."""

    old: FlowRef
    new: FlowRef


class FieldSpec(_Frozen):
    """One form field; ``path`` is dotted, ``[]`` marks the items of a list."""

    path: str
    type: str | None = None
    required: bool = False
    enum: tuple[Any, ...] | None = None
    format: str | None = None
    title: str | None = None


class FieldChange(_Frozen):
    """One fact (one of :data:`FIELD_FACTS`) of a field that changed."""

    path: str
    fact: str
    old: Any = None
    new: Any = None


class FormDiff(_Frozen):
    """The field changes of a form present in both versions."""

    file: str
    fields_added: tuple[FieldSpec, ...] = ()
    fields_removed: tuple[FieldSpec, ...] = ()
    fields_changed: tuple[FieldChange, ...] = ()


class ManualChange(_Frozen):
    """A manual value added, removed or changed; list items with an ``id`` are keyed by it
    (``steps[plan_review].allowance_days``)."""

    path: str
    change: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None


class VersionDiff(_Frozen):
    """Everything that differs between an old and a new package."""

    elements_added: tuple[ElementRef, ...] = ()
    elements_removed: tuple[ElementRef, ...] = ()
    elements_renamed: tuple[Renamed, ...] = ()
    flows_added: tuple[FlowRef, ...] = ()
    flows_removed: tuple[FlowRef, ...] = ()
    flows_changed: tuple[FlowChange, ...] = ()
    lanes_added: tuple[ElementRef, ...] = ()
    lanes_removed: tuple[ElementRef, ...] = ()
    lanes_renamed: tuple[Renamed, ...] = ()
    forms_added: tuple[str, ...] = ()
    forms_removed: tuple[str, ...] = ()
    forms_changed: tuple[FormDiff, ...] = ()
    decision_tables_added: tuple[str, ...] = ()
    decision_tables_removed: tuple[str, ...] = ()
    decision_tables_changed: tuple[str, ...] = ()
    manual_changes: tuple[ManualChange, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether nothing differs (notes about unreadable files count as a difference)."""
        return not any(value for value in self.model_dump().values())


def diff_packages(old: PackageFiles, new: PackageFiles) -> VersionDiff:
    """Compare two packages of a procedure.

    Never raises on bad input: an unreadable BPMN file, form or manual becomes a note and
    that part is not compared.
    """
    notes: list[str] = []
    parts: dict[str, Any] = {}
    old_model, new_model = _model(old, "old", notes), _model(new, "new", notes)
    if old_model is not None and new_model is not None:
        parts.update(_bpmn_changes(old_model, new_model))
    elif old.bpmn or new.bpmn:
        notes.append("the process diagrams were not compared")
    parts.update(_form_changes(old.forms, new.forms, notes))
    added, removed, changed = _file_changes(old.dmn, new.dmn)
    parts.update(
        decision_tables_added=added, decision_tables_removed=removed, decision_tables_changed=changed
    )
    if isinstance(old.manual, dict) and isinstance(new.manual, dict):
        parts["manual_changes"] = tuple(_manual_changes(old.manual, new.manual, ""))
    else:
        notes.append("the manual of one version is not a mapping; the manuals were not compared")
    return VersionDiff(**parts, notes=tuple(notes))


# -- BPMN -------------------------------------------------------------------------------


def _model(files: PackageFiles, side: str, notes: list[str]) -> BpmnModel | None:
    trees: dict[str, etree._ElementTree] = {}
    for name, data in sorted(files.bpmn.items()):
        try:
            trees[name] = parse_xml(data, file=name)
        except OneStopError as exc:
            notes.append(f"{side} {name} cannot be read: {exc.message}")
            return None
    return BpmnModel(trees)


def _bpmn_changes(old: BpmnModel, new: BpmnModel) -> dict[str, Any]:
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    old_flows, new_flows = _flows(old), _flows(new)
    old_lanes, new_lanes = _lanes(old), _lanes(new)
    return {
        "elements_added": _only_in(new_nodes, old_nodes),
        "elements_removed": _only_in(old_nodes, new_nodes),
        "elements_renamed": _renamed(old_nodes, new_nodes),
        "flows_added": _only_in(new_flows, old_flows),
        "flows_removed": _only_in(old_flows, new_flows),
        "flows_changed": tuple(
            FlowChange(old=old_flows[key], new=new_flows[key])
            for key in sorted(old_flows.keys() & new_flows.keys())
            if old_flows[key] != new_flows[key]
        ),
        "lanes_added": _only_in(new_lanes, old_lanes),
        "lanes_removed": _only_in(old_lanes, new_lanes),
        "lanes_renamed": _renamed(old_lanes, new_lanes),
    }


def _nodes(model: BpmnModel) -> dict[str, ElementRef]:
    nodes: dict[str, ElementRef] = {}
    for scope in model.scopes:
        for ident, node in scope.nodes.items():
            nodes.setdefault(ident, ElementRef(id=ident, type=node.kind, name=_name(node.element)))
    return nodes


def _flows(model: BpmnModel) -> dict[str, FlowRef]:
    flows: dict[str, FlowRef] = {}
    for scope in model.scopes:
        for flow in scope.flows:
            if flow.id:
                condition = " ".join(text_of(flow.element.find(f"{BPMN}conditionExpression")).split())
                flows.setdefault(
                    flow.id,
                    FlowRef(
                        id=flow.id,
                        source=flow.element.get("sourceRef") or "",
                        target=flow.element.get("targetRef") or "",
                        condition=condition,
                    ),
                )
    return flows


def _lanes(model: BpmnModel) -> dict[str, ElementRef]:
    return {
        lane.id: ElementRef(id=lane.id, type="lane", name=_name(lane.element))
        for lane in model.elements("lane")
        if lane.id
    }


def _name(element: etree._Element) -> str:
    return " ".join((element.get("name") or "").split())


def _only_in(these: dict[str, _T], those: dict[str, _T]) -> tuple[_T, ...]:
    return tuple(these[key] for key in sorted(these.keys() - those.keys()))


def _renamed(old: dict[str, ElementRef], new: dict[str, ElementRef]) -> tuple[Renamed, ...]:
    return tuple(
        Renamed(
            id=key,
            old_type=old[key].type,
            new_type=new[key].type,
            old_name=old[key].name,
            new_name=new[key].name,
        )
        for key in sorted(old.keys() & new.keys())
        if (old[key].name, old[key].type) != (new[key].name, new[key].type)
    )


# -- forms, decision tables -------------------------------------------------------------


def _form_changes(old: dict[str, bytes], new: dict[str, bytes], notes: list[str]) -> dict[str, Any]:
    changed: list[FormDiff] = []
    for name in sorted(old.keys() & new.keys()):
        if old[name] == new[name]:
            continue
        old_fields = _fields(old[name], name, "old", notes)
        new_fields = _fields(new[name], name, "new", notes)
        if old_fields is None or new_fields is None:
            continue
        form = FormDiff(
            file=name,
            fields_added=_only_in(new_fields, old_fields),
            fields_removed=_only_in(old_fields, new_fields),
            fields_changed=tuple(
                FieldChange(path=path, fact=fact, old=getattr(was, fact), new=getattr(now, fact))
                for path in sorted(old_fields.keys() & new_fields.keys())
                for was, now in [(old_fields[path], new_fields[path])]
                for fact in FIELD_FACTS
                if getattr(was, fact) != getattr(now, fact)
            ),
        )
        if form.fields_added or form.fields_removed or form.fields_changed:
            changed.append(form)
    return {
        "forms_added": tuple(sorted(new.keys() - old.keys())),
        "forms_removed": tuple(sorted(old.keys() - new.keys())),
        "forms_changed": tuple(changed),
    }


def _fields(data: bytes, name: str, side: str, notes: list[str]) -> dict[str, FieldSpec] | None:
    try:
        schema = json.loads(data)
    except (ValueError, RecursionError) as exc:
        notes.append(f"{side} form {name} is not valid JSON ({exc}); its fields were not compared")
        return None
    if not isinstance(schema, dict):
        notes.append(f"{side} form {name} is not a JSON object; its fields were not compared")
        return None
    return {spec.path: spec for spec in _walk(schema, "")}


def _walk(schema: dict[str, Any], prefix: str) -> Iterator[FieldSpec]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    for key, field in properties.items():
        if not isinstance(field, dict):
            continue
        path = f"{prefix}{key}"
        kind = field.get("type")
        enum = field.get("enum")
        yield FieldSpec(
            path=path,
            type="|".join(map(str, kind)) if isinstance(kind, list) else _text(kind),
            required=key in required_names,
            enum=tuple(enum) if isinstance(enum, list) else None,
            format=_text(field.get("format")),
            title=_text(field.get("title")),
        )
        yield from _walk(field, f"{path}.")
        items = field.get("items")
        if isinstance(items, dict):
            yield from _walk(items, f"{path}[].")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _file_changes(
    old: dict[str, bytes], new: dict[str, bytes]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    both = old.keys() & new.keys()
    return (
        tuple(sorted(new.keys() - old.keys())),
        tuple(sorted(old.keys() - new.keys())),
        tuple(sorted(name for name in both if old[name] != new[name])),
    )


# -- manual -----------------------------------------------------------------------------

_MISSING: Any = object()


def _manual_changes(old: Any, new: Any, path: str) -> Iterator[ManualChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            child = f"{path}.{key}" if path else str(key)
            yield from _manual_changes(old.get(key, _MISSING), new.get(key, _MISSING), child)
    elif _is_keyed(old) and _is_keyed(new):
        old_items, new_items = _by_id(old), _by_id(new)
        for key in sorted(old_items.keys() | new_items.keys()):
            yield from _manual_changes(
                old_items.get(key, _MISSING), new_items.get(key, _MISSING), f"{path}[{key}]"
            )
    elif old is _MISSING:
        yield ManualChange(path=path, change="added", new=new)
    elif new is _MISSING:
        yield ManualChange(path=path, change="removed", old=old)
    elif old != new:
        yield ManualChange(path=path, change="changed", old=old, new=new)


def _is_keyed(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    ids = [item.get("id") for item in value if isinstance(item, dict)]
    return (
        len(ids) == len(value)
        and all(isinstance(i, str | int) for i in ids)
        and len(set(map(str, ids))) == len(ids)
    )


def _by_id(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {str(item["id"]): item for item in items}


# -- text -------------------------------------------------------------------------------


def describe_diff(diff: VersionDiff) -> list[str]:
    """The differences as lines of plain text, one change per line."""
    if diff.is_empty:
        return ["no differences"]
    lines = [f"note: {note}" for note in diff.notes]
    lines += [f"+ {e.type} {e.id} '{e.name}'" for e in diff.elements_added]
    lines += [f"- {e.type} {e.id} '{e.name}'" for e in diff.elements_removed]
    lines += [f"~ {_renaming(r)}" for r in diff.elements_renamed]
    lines += [f"+ flow {f.id}: {_route(f)}" for f in diff.flows_added]
    lines += [f"- flow {f.id}: {_route(f)}" for f in diff.flows_removed]
    lines += [f"~ flow {c.old.id}: {_route(c.old)} -> {_route(c.new)}" for c in diff.flows_changed]
    lines += [f"+ lane {e.id} '{e.name}'" for e in diff.lanes_added]
    lines += [f"- lane {e.id} '{e.name}'" for e in diff.lanes_removed]
    lines += [f"~ {_renaming(r)}" for r in diff.lanes_renamed]
    lines += [f"+ form {name}" for name in diff.forms_added]
    lines += [f"- form {name}" for name in diff.forms_removed]
    for form in diff.forms_changed:
        lines += [f"+ field {form.file}:{f.path} ({f.type or 'any'})" for f in form.fields_added]
        lines += [f"- field {form.file}:{f.path}" for f in form.fields_removed]
        lines += [
            f"~ field {form.file}:{c.path} {c.fact}: {_show(c.old)} -> {_show(c.new)}"
            for c in form.fields_changed
        ]
    lines += [f"+ decision table {name}" for name in diff.decision_tables_added]
    lines += [f"- decision table {name}" for name in diff.decision_tables_removed]
    lines += [f"~ decision table {name}" for name in diff.decision_tables_changed]
    for change in diff.manual_changes:
        sign = {"added": "+", "removed": "-", "changed": "~"}[change.change]
        lines.append(f"{sign} manual {change.path}: {_show(change.old)} -> {_show(change.new)}")
    return lines


def _renaming(change: Renamed) -> str:
    same = change.old_type == change.new_type
    kind = change.new_type if same else f"{change.old_type} -> {change.new_type}"
    return f"{kind} {change.id}: '{change.old_name}' -> '{change.new_name}'"


def _route(flow: FlowRef) -> str:
    guard = f" when {flow.condition}" if flow.condition else ""
    return f"{flow.source} -> {flow.target}{guard}"


def _show(value: Any) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False, default=str)
