"""How the steps of a :class:`~designer.spec_model.ProcedureSpec` follow each other.

Rows are read in order; consecutive task rows with the same ``parallel`` label form one
block whose rows run at the same time. A block leads to the next one, except where a
decision routes elsewhere, a supplement loops back to its check step, or an approval is
refused. Both the checks and the BPMN generator read the steps through this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from designer.spec_model import END, StepSpec

__all__ = ["Block", "blocks", "reachable_steps", "successors"]


@dataclass(frozen=True)
class Block:
    """One step, or the branches of a parallel group; ``position`` is the block's index."""

    position: int
    steps: tuple[StepSpec, ...]

    @property
    def first(self) -> StepSpec:
        return self.steps[0]

    @property
    def is_parallel(self) -> bool:
        return len(self.steps) > 1


def blocks(steps: Sequence[StepSpec]) -> list[Block]:
    """The steps grouped into blocks, in order."""
    grouped: list[list[StepSpec]] = []
    for step in steps:
        previous = grouped[-1][-1] if grouped else None
        if (
            previous is not None
            and step.parallel
            and step.kind == previous.kind == "task"
            and step.parallel == previous.parallel
        ):
            grouped[-1].append(step)
        else:
            grouped.append([step])
    return [Block(position, tuple(group)) for position, group in enumerate(grouped)]


def successors(all_blocks: Sequence[Block], position: int) -> Iterator[str]:
    """Ids of the steps (or :data:`END`) the block at ``position`` may lead to directly."""
    block = all_blocks[position]
    following = all_blocks[position + 1].first.id if position + 1 < len(all_blocks) else END
    step = block.first
    if step.kind == "decision":
        yield from (route.goto for route in step.routes)
        if step.default is not None:
            yield step.default
        return
    yield following
    if step.kind == "supplement" and step.goto is not None:
        yield step.goto


def reachable_steps(steps: Sequence[StepSpec]) -> set[str]:
    """Ids of the steps a case can reach from the first one (every row of a reached group)."""
    all_blocks = blocks(steps)
    if not all_blocks:
        return set()
    by_id = {step.id: block.position for block in all_blocks for step in block.steps}
    seen: set[int] = set()
    pending = [0]
    while pending:
        position = pending.pop()
        if position in seen:
            continue
        seen.add(position)
        pending.extend(by_id[target] for target in successors(all_blocks, position) if target in by_id)
    return {step.id for position in seen for step in all_blocks[position].steps}
