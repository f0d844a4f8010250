"""A read-only index over the BPMN files of a package, for the lint rules.

It works on the lxml trees :func:`engine.xml_safety.parse_xml` returned and assumes nothing
the schema would guarantee: ids, references and texts may be missing or wrong, and every
lookup copes with that. Findings made through it carry the file, the line (``sourceline``)
and the element id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

from lxml import etree

from engine.bpmn_schema import BPMN_NAMESPACE, SPIFF_NAMESPACE
from engine.views import Finding

__all__ = ["BPMN", "SPIFF", "BpmnModel", "LintContext", "Located", "Scope"]

BPMN: Final = f"{{{BPMN_NAMESPACE}}}"
SPIFF: Final = f"{{{SPIFF_NAMESPACE}}}"

ACTIVITIES: Final = frozenset(
    {
        "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask",
        "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    }
)  # fmt: skip
CONTAINERS: Final = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENTS: Final = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
GATEWAYS: Final = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
FLOW_NODES: Final = ACTIVITIES | EVENTS | GATEWAYS

Severity = Literal["error", "warning", "info"]


def local(element: etree._Element) -> str:
    """The element's name without namespace (``userTask``); ``""`` for comments."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def line_of(element: etree._Element) -> int | None:
    """The element's line in its file, when lxml knows it."""
    line: object = element.sourceline
    return line if isinstance(line, int) and line > 0 else None


def text_of(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


@dataclass(frozen=True)
class Located:
    """An element with the file it is in."""

    file: str
    element: etree._Element

    @property
    def id(self) -> str | None:
        return self.element.get("id")

    @property
    def kind(self) -> str:
        return local(self.element)

    @property
    def label(self) -> str:
        """``'Check completeness' (check_completeness)`` or just the id."""
        name = " ".join((self.element.get("name") or "").split())
        ident = self.id or f"<{self.kind}> on line {line_of(self.element)}"
        return f"'{name}' ({ident})" if name else f"'{ident}'"

    def finding(
        self, severity: Severity, code: str, message: str, hint: str, *, at: etree._Element | None = None
    ) -> Finding:
        """A finding about this element (``at``: a child whose line is more precise)."""
        line = line_of(at if at is not None else self.element)
        return Finding(
            severity=severity,
            code=code,
            message=message,
            file=self.file,
            line=line,
            element_id=self.id,
            hint=hint,
        )


@dataclass
class Scope:
    """A process or an embedded subprocess: flow nodes and the sequence flows between them."""

    owner: Located
    nodes: dict[str, Located] = field(default_factory=dict)
    unnamed: list[Located] = field(default_factory=list)
    flows: list[Located] = field(default_factory=list)

    def outgoing(self, node_id: str) -> list[Located]:
        """Sequence flows whose source is ``node_id``, in file order."""
        return self._by_source.get(node_id, [])

    @cached_property
    def _by_source(self) -> dict[str, list[Located]]:
        index: dict[str, list[Located]] = {}
        for flow in self.flows:
            index.setdefault(flow.element.get("sourceRef") or "", []).append(flow)
        return index

    def of_kind(self, *kinds: str) -> Iterator[Located]:
        return (node for node in self.nodes.values() if node.kind in kinds)


class BpmnModel:
    """Every process of a package's BPMN files, by scope, with lanes and messages.

    Args:
        trees: parsed BPMN files by file name.
        process_id: the process the manual names to run, if any.
    """

    def __init__(self, trees: dict[str, etree._ElementTree], process_id: str | None = None) -> None:
        self.trees = trees
        self.processes: list[Located] = [
            Located(file, p)
            for file, tree in sorted(trees.items())
            for p in tree.getroot().iter(f"{BPMN}process")
        ]
        # As in SpiffWorkflow, a process without isExecutable counts as executable.
        self.executable = [p for p in self.processes if p.element.get("isExecutable", "true") == "true"]
        self.message_ids: set[str] = {
            ident
            for tree in trees.values()
            for m in tree.getroot().iter(f"{BPMN}message")
            if (ident := m.get("id"))
        }
        self.linted = self._linted_processes(process_id)
        self.scopes: list[Scope] = []
        for process in self.linted:
            self._collect_scopes(process)
        self.lanes = self._lanes()

    def elements(self, *names: str) -> Iterator[Located]:
        """Elements with one of these BPMN names inside the linted processes, in file order."""
        tags = {f"{BPMN}{name}" for name in names}
        for process in self.linted:
            for element in process.element.iter():
                if element.tag in tags:
                    yield Located(process.file, element)

    def extension(self, element: etree._Element, name: str) -> Iterator[etree._Element]:
        """SpiffWorkflow extension elements ``spiffworkflow:<name>`` of an element."""
        for extensions in element.iterchildren(f"{BPMN}extensionElements"):
            yield from extensions.iter(f"{SPIFF}{name}")

    def lane_of(self, node: Located) -> Located | None:
        return self.lanes.get(node.id or "")

    def _linted_processes(self, process_id: str | None) -> list[Located]:
        """Processes that run: the executable ones (or the one the manual names) and those
        they call; every process when none is executable, so that the designer still learns
        what would stop each one."""
        by_id = {p.id: p for p in self.processes if p.id}
        start = [by_id[process_id]] if process_id in by_id else self.executable
        if not start:
            return list(self.processes)
        seen: dict[str, Located] = {}
        pending = list(start)
        while pending:
            process = pending.pop()
            if process.id in seen:
                continue
            seen[process.id or ""] = process
            for call in process.element.iter(f"{BPMN}callActivity"):
                called = by_id.get(call.get("calledElement") or "")
                if called is not None:
                    pending.append(called)
        return [p for p in self.processes if p.id in seen]

    def _collect_scopes(self, owner: Located) -> None:
        scope = Scope(owner)
        self.scopes.append(scope)
        for child in owner.element:
            kind = local(child)
            located = Located(owner.file, child)
            if kind == "sequenceFlow":
                scope.flows.append(located)
            elif kind in FLOW_NODES:
                if located.id:
                    scope.nodes.setdefault(located.id, located)
                else:
                    scope.unnamed.append(located)
                if kind in CONTAINERS:
                    self._collect_scopes(located)

    def _lanes(self) -> dict[str, Located]:
        lanes: dict[str, Located] = {}
        for lane in self.elements("lane"):
            for ref in lane.element.iterchildren(f"{BPMN}flowNodeRef"):
                if text_of(ref):
                    # Nested lanes: the innermost one wins, as in SpiffWorkflow.
                    lanes[text_of(ref)] = lane
        return lanes


@dataclass(frozen=True)
class LintContext:
    """Everything a lint rule may look at: the BPMN index, the decision tables, the forms,
    the manual, and what the installation knows (roles, connectors)."""

    model: BpmnModel
    dmn: dict[str, etree._ElementTree] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)
    manual: dict[str, Any] = field(default_factory=dict)
    known_roles: frozenset[str] = frozenset()
    connectors: frozenset[str] = frozenset()
