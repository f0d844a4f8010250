"""Branch coverage of a procedure's gateways, measured on the histories of driven cases.

Every outgoing sequence flow of every diverging gateway (exclusive, inclusive, event-based,
parallel; top level and inside subprocesses) is a branch. A branch is covered when some
case reached the element it leads to: a task became ready or ran, an event was reached or a
timer fired, a gateway decided. A timer that was only set, or a task withdrawn, does not
count. Every end event must be reached too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from engine.views import EventView

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway", "parallelGateway")
REACHED = frozenset(
    {
        "task_ready",
        "task_completed",
        "timer_fired",
        "event_reached",
        "gateway_taken",
        "service_called",
        "step_completed",
        "case_completed",
    }
)


@dataclass(frozen=True)
class Branch:
    gateway: str
    gateway_name: str
    target: str
    covered: bool


@dataclass(frozen=True)
class CoverageReport:
    branches: tuple[Branch, ...]
    end_events: dict[str, bool]

    @property
    def missing(self) -> list[str]:
        return [f"{b.gateway} ({b.gateway_name}) -> {b.target}" for b in self.branches if not b.covered] + [
            f"end event {end}" for end, reached in self.end_events.items() if not reached
        ]

    def summary(self, procedure: str) -> str:
        done = sum(b.covered for b in self.branches)
        ends = sum(self.end_events.values())
        return (
            f"{procedure}: gateway branches covered {done}/{len(self.branches)}, "
            f"end events reached {ends}/{len(self.end_events)}"
        )


def gateway_coverage(bpmn: bytes, histories: Iterable[Sequence[EventView]]) -> CoverageReport:
    """Which branches and end events the given case histories reached."""
    root = etree.fromstring(bpmn)
    reached: set[str] = set()
    for history in histories:
        reached |= {e.element_id for e in history if e.kind in REACHED and e.element_id}
    branches = []
    for kind in GATEWAYS:
        for gateway in root.iter(f"{BPMN}{kind}"):
            gateway_id = gateway.get("id")
            flows = gateway.getparent().findall(f"{BPMN}sequenceFlow[@sourceRef='{gateway_id}']")
            if len(flows) < 2:
                continue  # a merge
            for flow in flows:
                target = str(flow.get("targetRef"))
                branches.append(Branch(str(gateway_id), gateway.get("name") or "", target, target in reached))
    ends = {str(end.get("id")): end.get("id") in reached for end in root.iter(f"{BPMN}endEvent")}
    return CoverageReport(tuple(branches), ends)


def assert_full_coverage(report: CoverageReport, procedure: str) -> None:
    """Fail naming every branch and end event no scenario reached; print the summary."""
    print(report.summary(procedure))
    assert not report.missing, f"{procedure}: not reached by any scenario: {report.missing}"
