"""``make bench``: the SLA dashboard's queries and the worker's timer sweep.

Dashboard: N building-permit cases received through the real command over six months in
two communes; then 60% are closed at random instants (the rows are updated directly: this
measures the reports, not the path through the process). Each report is timed against a
baseline measured in the same run on the same table: reading the dates and status of every
case of the period into Python, which is what a report computed outside the database would
start with. Target: every report within 5× that baseline (the summary makes three grouped
passes: totals, by unit, by month) and under 1 s at 10k cases on SQLite.

Timer sweep: M cases each waiting on a due timer, fired by one sweep; the rate is compared
with the rate at which the same cases were received (a sweep does one command per case).
Medians of repeated runs; this machine (2 cores) is noisy.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from designer.packages import read_package
from engine import OneStop
from tests.conftest import DATA, PROCEDURES, import_test_procedure, make_onestop

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # Monday 5 January 2026, 09:00 in Bangkok
COMMUNES = {"TH.50.01": "somchai", "TH.50.02": "malee"}
PERIOD = {"start": date(2026, 1, 1), "end": date(2026, 7, 1), "zone": "Asia/Bangkok"}


def seeded(folder: Path, cases: int) -> OneStop:
    """A database with ``cases`` permit cases over six months, 60% of them closed."""
    onestop = make_onestop(f"sqlite:///{folder / 'sla.db'}")
    onestop.procedures.import_package("admin", read_package(PROCEDURES / "building_permit"), T0, publish=True)
    step = timedelta(days=180) / max(cases, 1)
    for n in range(cases):
        unit = list(COMMUNES)[n % 2]
        onestop.cases.start_case(COMMUNES[unit], "building_permit", unit, T0 + step * n)
    rng = random.Random(5)
    with onestop.db.engine.begin() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM cases"))]
        closing = rng.sample(ids, int(len(ids) * 0.6))
        connection.execute(
            text(
                "UPDATE cases SET status = 'completed', closed_at = datetime(received_at, :later) WHERE id = :id"
            ),
            [{"id": case_id, "later": f"+{rng.randint(5, 60)} days"} for case_id in closing],
        )
    return onestop


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm caches
    values = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values)


def measure_reports(onestop: OneStop, repeat: int) -> dict[str, float]:
    """Median ms of each report and of the baseline count."""
    now = T0 + timedelta(days=200)

    def baseline() -> object:
        with onestop.db.engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT org_unit_id, status, received_at, closed_at, due_at FROM cases "
                    "WHERE received_at < :end"
                ),
                {"end": "2026-07-01"},
            ).all()

    sla = onestop.sla
    return {
        "baseline: read the period's case rows": median_ms(baseline, repeat),
        "summary (totals, by unit, by month)": median_ms(
            lambda: sla.summary("lan", **PERIOD, now=now), repeat
        ),
        "nearly-late list (48 h)": median_ms(
            lambda: sla.nearly_late("lan", now=now - timedelta(days=60), threshold=timedelta(hours=48)),
            repeat,
        ),
        "step durations (median, p90)": median_ms(
            lambda: sla.step_durations("lan", **PERIOD, now=now, procedure="building_permit"), repeat
        ),
        "open data, 6 months": median_ms(
            lambda: sla.monthly_open_data("lan", first_month=date(2026, 1, 1), last_month=date(2026, 6, 1)),
            repeat,
        ),
    }


def measure_sweep(folder: Path, cases: int) -> tuple[float, float]:
    """(cases received per second, timers fired per second) for ``cases`` waiting cases."""
    onestop = make_onestop(f"sqlite:///{folder / 'sweep.db'}")
    try:
        import_test_procedure(onestop, DATA / "timer_wait")
        started = time.perf_counter()
        for n in range(cases):
            onestop.cases.start_case("clerk1", "timer_wait", "TH.50.01", T0 + timedelta(seconds=n))
        received = cases / (time.perf_counter() - started)
        onestop.workflows.clear()  # a worker process has none of them hot
        started = time.perf_counter()
        fired = 0
        while batch := onestop.cases.fire_due_timers("system", T0 + timedelta(days=1), limit=100):
            fired += len(batch)
        assert fired == cases
        return received, cases / (time.perf_counter() - started)
    finally:
        onestop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"\nSLA reports over {args.cases} cases, six months, two communes (SQLite file)")
        onestop = seeded(Path(tmp), args.cases)
        timings = measure_reports(onestop, args.repeat)
        onestop.close()
        base = next(iter(timings.values()))
        for label, value in timings.items():
            print(f"  {label:<44} median {value:8.2f} ms   ×{value / base:6.1f} baseline")
        worst = max(value / base for value in timings.values())
        slowest = max(timings.values())
        verdict = "met" if worst <= 5 and slowest < 1000 else "MISSED"
        print(f"  worst ×{worst:.1f} baseline, slowest {slowest:.0f} ms (target ×5 and 1 s): {verdict}")
        print(f"\ntimer sweep over {args.timers} due timers, workflows restored from their snapshots")
        received, fired = measure_sweep(Path(tmp), args.timers)
        print(
            f"  received {received:6.0f} cases/s; fired {fired:6.0f} timers/s (ratio {fired / received:.2f})"
        )


if __name__ == "__main__":
    main()
