"""The benchmarks' set-up still runs against the current engine (``make bench`` is not part
of the suite, so this is what notices when a change breaks it)."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks import audit_bench, engine_bench, sla_bench, worklist_bench


def test_the_engine_benchmark_builds_its_database(tmp_path: Path) -> None:
    onestop = engine_bench.fresh_onestop(tmp_path)
    try:
        published = {v.procedure_code for v in onestop.procedures.list_versions() if v.status == "published"}
        assert published == {"linear10", "review_loop"}
    finally:
        onestop.close()


def test_the_worklist_benchmark_receives_cases_and_measures_them(tmp_path: Path) -> None:
    onestop = worklist_bench.seeded(tmp_path)
    try:
        codes = worklist_bench.receive(onestop, 4, 0)
        assert worklist_bench.measure(onestop, codes, repeat=2) >= 0
    finally:
        onestop.close()


def test_the_audit_benchmark_copies_cases_that_verify(tmp_path: Path) -> None:
    onestop = audit_bench.open_database(tmp_path / "audit.db")
    try:
        assert audit_bench.build(onestop, 20) == 20
        onestop.checkpoint("system", audit_bench.T0)
        report = onestop.verify()
        assert report.ok, report.problems
        assert report.cases_checked == 20
    finally:
        onestop.close()


def test_the_sla_benchmark_seeds_cases_and_times_every_report(tmp_path: Path) -> None:
    onestop = sla_bench.seeded(tmp_path, 10)
    try:
        timings = sla_bench.measure_reports(onestop, repeat=1)
        assert len(timings) == 5 and all(value >= 0 for value in timings.values())
        assert onestop.sla.summary("lan", **sla_bench.PERIOD, now=sla_bench.T0).total.received == 10
    finally:
        onestop.close()
    received, fired = sla_bench.measure_sweep(tmp_path, 5)
    assert received > 0 and fired > 0
