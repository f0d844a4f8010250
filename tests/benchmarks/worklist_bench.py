"""``make bench``: the worklist query and the case page's data load at 10k and 100k cases.

Cases are received through the real command (``start_case``), half in each of two
communes, so every case has one open intake item: the worst case for a worklist, whose
rows all match. Measured on a SQLite file, as ``make run`` uses. Target: worklist p95
<= 50 ms at 100k open cases. Prints p50/p95 over repeated calls; this machine is noisy.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from designer.packages import read_package
from engine import OneStop
from runtime import demo
from tests.benchmarks.engine_bench import T0, percentile
from tests.conftest import PROCEDURES, make_onestop

COMMUNES = ("TH.50.01", "TH.50.02")
STARTERS = {"TH.50.01": "somchai", "TH.50.02": "malee"}


def seeded(folder: Path) -> OneStop:
    onestop = make_onestop(f"sqlite:///{folder / 'worklist.db'}")
    onestop.directory.ensure_user(
        username="province_intake", display_name="Province intake", grants=[("intake_officer", demo.PROVINCE)]
    )
    onestop.procedures.import_package("admin", read_package(PROCEDURES / "building_permit"), T0, publish=True)
    return onestop


def receive(onestop: OneStop, count: int, start: int) -> list[str]:
    codes = []
    started = time.perf_counter()
    for n in range(start, start + count):
        unit = COMMUNES[n % 2]
        now = T0 + timedelta(seconds=17 * n)
        codes.append(onestop.cases.start_case(STARTERS[unit], "building_permit", unit, now).dossier_code)
    elapsed = time.perf_counter() - started
    print(f"  received {count} cases in {elapsed:.0f} s ({count / elapsed:.0f} cases/s)")
    return codes


def timings(call: Callable[[], object], repeat: int) -> list[float]:
    call()  # warm caches
    values = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        values.append((time.perf_counter() - started) * 1000)
    return values


def report(label: str, values: list[float]) -> None:
    print(f"  {label:<48} p50 {statistics.median(values):7.2f}  p95 {percentile(values, 0.95):7.2f} ms")


def measure(onestop: OneStop, codes: list[str], repeat: int) -> float:
    q = onestop.queries
    worst = timings(lambda: q.worklist("province_intake"), repeat)
    report("worklist, province (every case matches)", worst)
    report("worklist, commune (half match)", timings(lambda: q.worklist("somchai"), repeat))
    report("worklist, commune, only mine", timings(lambda: q.worklist("somchai", mine_only=True), repeat))
    report("worklist, commune, page 200", timings(lambda: q.worklist("somchai", offset=200 * 50), repeat))
    picks = random.Random(7).sample(codes, min(repeat, len(codes)))
    loads = iter(picks * 2)

    def case_page() -> None:
        code = next(loads)
        q.case("lan", code)
        q.timeline("lan", code, now=T0)
        q.documents("lan", code)
        q.diagram("lan", code)

    report("case page data (header, timeline, documents, diagram)", timings(case_page, len(picks) - 1))
    return percentile(worst, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        onestop = seeded(Path(tmp))
        codes: list[str] = []
        for size in sizes:
            print(f"\nworklist and case page with {size} open cases (SQLite file)")
            codes += receive(onestop, size - len(codes), len(codes))
            p95 = measure(onestop, codes, args.repeat)
        print(f"\n  worklist p95 at {sizes[-1]} cases: {p95:.1f} ms (target <= 50 ms)")
        onestop.close()


if __name__ == "__main__":
    main()
