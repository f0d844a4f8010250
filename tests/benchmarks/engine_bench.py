"""``make bench``: OneStop's durable commands against raw in-memory SpiffWorkflow.

Everything is measured in the same run on the same machine; what matters are the ratios
(this machine has 2 noisy cores). Medians of several runs are printed.

1. cases/s, 10-user-task linear procedure: raw SpiffWorkflow in memory (parse once, then
   instantiate and complete cases) vs OneStop (SQLite file, one transaction per command:
   start + 10 completions, events, projections, snapshots).
2. latency of "complete work item" when the case already has 10 and 200 completed tasks,
   with the workflow hot in the cache and cold (rebuilt from snapshot + events).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from designer.packages import read_package
from engine import SYSTEM_ACTOR, OneStop, Settings
from runtime import demo
from tests.conftest import DATA, TEST_CLERKS

T0 = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)


def raw_spiff_cases_per_second(cases: int) -> float:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DATA / "linear10.bpmn"))
    spec, subs = parser.get_spec("linear10"), parser.get_subprocess_specs("linear10")
    started = time.perf_counter()
    for _ in range(cases):
        workflow = BpmnWorkflow(spec, subs)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(note="ok")
            task.run()
            workflow.do_engine_steps()
    return cases / (time.perf_counter() - started)


def fresh_onestop(folder: Path, **settings: object) -> OneStop:
    onestop = OneStop(Settings(database_url=f"sqlite:///{folder / 'bench.db'}", **settings))  # type: ignore[arg-type]
    onestop.upgrade()
    for unit in demo.UNITS:
        onestop.directory.ensure_unit(**unit)
    for username, unit in TEST_CLERKS.items():
        onestop.directory.ensure_user(username=username, display_name=username, grants=[("clerk", unit)])
    for package in (DATA / "linear10.bpmn", DATA / "review_loop"):
        onestop.procedures.import_package(SYSTEM_ACTOR, read_package(package), T0, publish=True)
    return onestop


def durable_cases_per_second(onestop: OneStop, cases: int) -> float:
    now = T0
    started = time.perf_counter()
    for _ in range(cases):
        case = onestop.cases.start_case("clerk1", "linear10", "TH.50.01", now)
        while case.open_items:
            now += timedelta(seconds=1)
            case = onestop.cases.complete("clerk1", case.open_items[0].id, now, {})
    return cases / (time.perf_counter() - started)


def completion_latencies(onestop: OneStop, history: int, cases: int, cold: bool) -> list[float]:
    now = T0
    states = []
    for _ in range(cases):
        case = onestop.cases.start_case("clerk1", "review_loop", "TH.50.01", now)
        for _ in range(history):
            now += timedelta(seconds=1)
            case = onestop.cases.complete("clerk1", case.open_items[0].id, now, {"finished": False})
        states.append(case)
    timings = []
    for case in states:
        if cold:
            onestop.workflows.clear()
        now += timedelta(seconds=1)
        started = time.perf_counter()
        onestop.cases.complete("clerk1", case.open_items[0].id, now, {"finished": False})
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--latency-cases", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        onestop = fresh_onestop(Path(tmp))
        raw_spiff_cases_per_second(20)  # warm-up: imports, validator
        durable_cases_per_second(onestop, 5)
        # Interleaved, so that noise from the shared machine hits both sides alike.
        raws, durables, ratios = [], [], []
        for _ in range(args.runs):
            raws.append(raw_spiff_cases_per_second(args.cases * 4))
            durables.append(durable_cases_per_second(onestop, args.cases))
            ratios.append(durables[-1] / raws[-1])
        raw, durable = statistics.median(raws), statistics.median(durables)
        print(f"throughput, 10-user-task linear procedure (median of {args.runs} runs)")
        print(f"  raw SpiffWorkflow, in memory     {raw:9.1f} cases/s")
        print(f"  OneStop durable (SQLite file)    {durable:9.1f} cases/s")
        print(
            f"  ratio durable / in-memory        {statistics.median(ratios):9.3f}   (target >= 0.25; "
            f"runs {min(ratios):.3f}-{max(ratios):.3f})"
        )
        print(f"  per command (11 per case)        {1000 / durable / 11:9.2f} ms")

        print("\n'complete work item' latency by history length (ms)")
        rows = {}
        for cold in (False, True):
            for history in (10, 200):
                timings = completion_latencies(onestop, history, args.latency_cases, cold)
                rows[(cold, history)] = timings
                label = "cold (snapshot+replay)" if cold else "hot cache"
                print(
                    f"  {label:<24} {history:>4} done: p50 {percentile(timings, 0.5):7.2f}"
                    f"  p95 {percentile(timings, 0.95):7.2f}"
                )
        for cold in (False, True):
            label = "cold" if cold else "hot"
            p50 = percentile(rows[(cold, 200)], 0.5) / percentile(rows[(cold, 10)], 0.5)
            p95 = percentile(rows[(cold, 200)], 0.95) / percentile(rows[(cold, 10)], 0.95)
            print(f"  ratio 200/10 ({label}): p50 {p50:5.2f}  p95 {p95:5.2f}")
        onestop.close()


if __name__ == "__main__":
    main()
