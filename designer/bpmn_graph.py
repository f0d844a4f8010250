"""The BPMN process of a :class:`~designer.spec_model.ProcedureSpec`, as nodes and flows on a grid.

Each step becomes a small fixed pattern of BPMN elements (see :func:`build_graph`); every
element gets a grid place — a column (left to right in step order), a lane (the role) and a
track inside the lane — that :mod:`designer.bpmn_layout` turns into coordinates. A block of
steps owns its columns alone, so elements of different steps never share a grid cell.

Ids: a user task has its step's id; generated elements start with a capitalised prefix
(``Gateway_``, ``Event_``, ``Timer_``, ``Flow_``), which a step id (lowercase) cannot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from designer.spec_model import END, ProcedureSpec, StepSpec
from designer.step_graph import Block, blocks, successors

__all__ = ["MESSAGE_VARIABLE", "SUPPLIED_MESSAGE", "Flow", "Node", "ProcessGraph", "build_graph"]

#: The message a supplement step waits for (delivered when the applicant brings documents).
SUPPLIED_MESSAGE: Final = "documents_supplied"
#: Where the payload of that message lands in the case data.
MESSAGE_VARIABLE: Final = "supplement"
START_ID: Final = "Event_start"
FINAL_ID: Final = "Event_completed"


@dataclass(frozen=True)
class Node:
    """A flow node at a grid place; ``shift`` moves it right of its column's centre line."""

    id: str
    kind: str
    name: str | None
    lane: str
    column: int
    track: int
    shift: float = 0.0
    step: StepSpec | None = None
    timer_days: int | None = None
    attached_to: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Flow:
    """A sequence flow; a gateway's default flow has ``is_default`` and no condition."""

    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    is_default: bool = False


@dataclass
class ProcessGraph:
    """Nodes (in creation order), flows, lanes in order of first appearance, column count."""

    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    columns: int = 0

    @property
    def lanes(self) -> list[str]:
        """The roles of the lanes, in order of first appearance."""
        return list(dict.fromkeys(node.lane for node in self.nodes))

    def node(self, node_id: str) -> Node:
        """The node with ``node_id``.

        Raises:
            KeyError: no node has that id.
        """
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


@dataclass(frozen=True)
class _Label:
    """What a flow says: its name, its condition, whether it is its gateway's default."""

    name: str | None = None
    condition: str | None = None
    is_default: bool = False


def build_graph(spec: ProcedureSpec) -> ProcessGraph:
    """The process of ``spec`` (which :func:`designer.procedure_spec.check_spec` found free of
    errors): a start event, each block's pattern, merges where flows meet, and end events."""
    return _Builder(spec).build()


class _Builder:
    def __init__(self, spec: ProcedureSpec) -> None:
        self.blocks = blocks(spec.steps)
        self.graph = ProcessGraph()
        self.column = 0
        self.lane = self._block_lane(self.blocks[0], None)
        incoming = Counter(target for p in range(len(self.blocks)) for target in successors(self.blocks, p))
        incoming[self.blocks[0].first.id] += 1
        self.merged = {b.first.id for b in self.blocks if incoming[b.first.id] > 1}
        self.entries = {b.first.id: self._entry(b) for b in self.blocks}
        self.final: tuple[str, _Label] | None = None
        self.flow_ids: set[str] = set()

    def build(self) -> ProcessGraph:
        self._add(START_ID, "startEvent", "Application received", self.lane, 0)
        self._link(START_ID, self.blocks[0].first.id)
        self.column = 1
        for block in self.blocks:
            self._block(block)
        if self.final is not None:
            source, label = self.final
            self._add(FINAL_ID, "endEvent", "Completed", self.graph.node(source).lane, 0)
            self._flow(source, FINAL_ID, label)
            self.column += 1
        self.graph.columns = self.column
        return self.graph

    # -- blocks ---------------------------------------------------------------------------

    def _block(self, block: Block) -> None:
        step = block.first
        self.lane = self._block_lane(block, self.lane)
        if step.id in self.merged:
            merge = f"Gateway_{step.id}_merge"
            self._add(merge, "exclusiveGateway", None, self.lane, 0)
            self._flow(merge, _first_node(block))
            self.column += 1
        if block.is_parallel:
            self._parallel(block)
        elif step.kind == "decision":
            self._decision(block)
        elif step.kind == "supplement":
            self._supplement(block)
        elif step.kind == "approval":
            self._approval(block)
        else:
            self._task(step, self.column, 0)
            self._next(block, step.id)
            self.column += 1

    def _task(self, step: StepSpec, column: int, track: int) -> None:
        assert step.role is not None
        self._add(step.id, "userTask", step.name_en, step.role, track, column=column, step=step)
        if step.allowance_days is None:
            return
        timer, overdue = f"Timer_{step.id}_allowance", f"Event_{step.id}_overdue"
        days = step.allowance_days
        name = f"{days} day{'s' if days > 1 else ''}"
        self._add(
            timer, "boundaryEvent", name, step.role, track, column=column, timer_days=days, attached=step.id
        )
        self._add(
            overdue, "endEvent", f"{step.name_en} overdue", step.role, track + 1, column=column, shift=30
        )
        self._flow(timer, overdue)

    def _decision(self, block: Block) -> None:
        step = block.first
        gateway = f"Gateway_{step.id}"
        self._add(gateway, "exclusiveGateway", step.name_en or f"{step.id}?", self.lane, 0)
        targets = [(route.goto, _Label(route.when, route.when)) for route in step.routes]
        targets.append((step.default or END, _Label("otherwise", is_default=True)))
        ends = 0
        for number, (target, label) in enumerate(targets, start=1):
            if target != END:
                self._link(gateway, target, label)
                continue
            ends += 1
            end = f"Event_{step.id}_end_{'default' if label.is_default else number}"
            closed = f"Closed at '{step.name_en or step.id}'"
            self._add(end, "endEvent", closed, self.lane, ends, column=self.column + 1)
            self._flow(gateway, end, label)
        self.column += 2 if ends else 1

    def _supplement(self, block: Block) -> None:
        step, lane, col = block.first, self.lane, self.column
        assert step.wait_days is not None and step.goto is not None
        check, wait = f"Gateway_{step.id}", f"Gateway_{step.id}_wait"
        supplied, timeout, returned = (f"Event_{step.id}_{s}" for s in ("supplied", "timeout", "returned"))
        self._add(check, "exclusiveGateway", "Documents missing?", lane, 0)
        self._task(step, col + 1, 1)
        self._add(wait, "eventBasedGateway", "Await documents", lane, 1, column=col + 2)
        self._add(
            supplied,
            "intermediateCatchEvent",
            "Documents supplied",
            lane,
            1,
            column=col + 3,
            message=SUPPLIED_MESSAGE,
        )
        days = step.wait_days
        self._add(
            timeout,
            "intermediateCatchEvent",
            f"{days} days elapsed",
            lane,
            2,
            column=col + 3,
            timer_days=days,
        )
        self._add(returned, "endEvent", "Returned (no supplement)", lane, 2, column=col + 4)
        self._flow(check, step.id, _Label("Missing", step.condition))
        self._flow(step.id, wait)
        self._flow(wait, supplied)
        self._flow(wait, timeout)
        self._flow(timeout, returned)
        self._link(supplied, step.goto)
        self._next(block, check, _Label("Complete", is_default=True))
        self.column += 5

    def _approval(self, block: Block) -> None:
        step, lane, col = block.first, self.lane, self.column
        gateway, refused = f"Gateway_{step.id}", f"Event_{step.id}_refused"
        self._task(step, col, 0)
        self._add(gateway, "exclusiveGateway", "Approved?", lane, 0, column=col + 1)
        self._add(refused, "endEvent", "Refused", lane, 1, column=col + 1)
        self._flow(step.id, gateway)
        self._flow(gateway, refused, _Label("Refuse", is_default=True))
        approve = _Label("Approve", 'decision == "approve"')
        if block.position + 1 < len(self.blocks):
            self._link(gateway, self.blocks[block.position + 1].first.id, approve)
            self.column += 2
            return
        approved = f"Event_{step.id}_approved"
        self._add(approved, "endEvent", "Approved", lane, 0, column=col + 2)
        self._flow(gateway, approved, approve)
        self.column += 3

    def _parallel(self, block: Block) -> None:
        col, first = self.column, block.first
        split, join = f"Gateway_{first.id}_split", f"Gateway_{first.id}_join"
        self._add(split, "parallelGateway", None, self.lane, 0)
        tracks: Counter[str] = Counter()
        for step in block.steps:
            assert step.role is not None
            self._task(step, col + 1, tracks[step.role])
            tracks[step.role] += 2 if step.allowance_days else 1
            self._flow(split, step.id)
            self._flow(step.id, join)
        self._add(join, "parallelGateway", None, self.lane, 0, column=col + 2)
        self._next(block, join)
        self.column += 3

    # -- links ----------------------------------------------------------------------------

    def _next(self, block: Block, source: str, label: _Label | None = None) -> None:
        """The flow from ``source`` to the block after ``block``, or to the final end event."""
        if block.position + 1 < len(self.blocks):
            self._link(source, self.blocks[block.position + 1].first.id, label)
        else:
            self.final = (source, label or _Label())

    def _link(self, source: str, step_id: str, label: _Label | None = None) -> None:
        self._flow(source, self.entries[step_id], label)

    def _flow(self, source: str, target: str, label: _Label | None = None) -> None:
        label = label or _Label()
        base = f"Flow_{source}_to_{target}"
        ident, number = base, 1
        while ident in self.flow_ids:
            number += 1
            ident = f"{base}_{number}"
        self.flow_ids.add(ident)
        self.graph.flows.append(Flow(ident, source, target, label.name, label.condition, label.is_default))

    def _add(
        self,
        ident: str,
        kind: str,
        name: str | None,
        lane: str,
        track: int,
        *,
        column: int | None = None,
        shift: float = 0.0,
        step: StepSpec | None = None,
        timer_days: int | None = None,
        attached: str | None = None,
        message: str | None = None,
    ) -> None:
        place = self.column if column is None else column
        node = Node(ident, kind, name, lane, place, track, shift, step, timer_days, attached, message)
        self.graph.nodes.append(node)

    # -- places ---------------------------------------------------------------------------

    def _entry(self, block: Block) -> str:
        if block.first.id in self.merged:
            return f"Gateway_{block.first.id}_merge"
        return _first_node(block)

    @staticmethod
    def _block_lane(block: Block, current: str | None) -> str:
        role = block.first.role
        return role if role is not None else (current or "")


def _first_node(block: Block) -> str:
    step = block.first
    if block.is_parallel:
        return f"Gateway_{step.id}_split"
    return f"Gateway_{step.id}" if step.kind in ("decision", "supplement") else step.id
