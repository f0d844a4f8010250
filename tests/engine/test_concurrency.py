"""Several processes on one database: no lost update, no duplicate, every chain intact."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from engine import OneStop, Settings
from engine.errors import CaseConflict, TaskNotReady
from tests.conftest import DATA, T0, import_test_procedure, make_onestop, postgres_schema_url
from tests.procedures.test_building_permit import COMPLETE

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def shared_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url
    else:
        yield from postgres_schema_url()


def _complete_once(url: str, item_id: int, version: int, barrier: Any, results: Any) -> None:
    onestop = OneStop(Settings(database_url=url))
    barrier.wait()
    try:
        onestop.cases.complete("somchai", item_id, T0, COMPLETE, expected_version=version)
        results.put("ok")
    except CaseConflict:
        results.put("conflict")
    finally:
        onestop.close()


def _hammer(url: str, codes: list[str], seed: int, commands: int, results: Any) -> None:
    onestop = OneStop(Settings(database_url=url, snapshot_every=5))
    rng = random.Random(seed)
    done = conflicts = 0
    now = T0
    while done < commands:
        code = rng.choice(codes)
        case = onestop.queries.case("system", code)
        item = case.open_items[0]
        now += timedelta(seconds=1)
        try:
            onestop.cases.complete("clerk1", item.id, now, {"finished": False}, expected_version=case.version)
            done += 1
        except (CaseConflict, TaskNotReady):
            conflicts += 1
    results.put((done, conflicts))
    onestop.close()


def _start_many(url: str, count: int, barrier: Any, results: Any) -> None:
    onestop = OneStop(Settings(database_url=url))
    barrier.wait()
    codes = [
        onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0).dossier_code
        for _ in range(count)
    ]
    results.put(codes)
    onestop.close()


def _run(target: Any, args_list: list[tuple[Any, ...]]) -> None:
    processes = [SPAWN.Process(target=target, args=args) for args in args_list]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=240)
        assert p.exitcode == 0, f"worker process failed with exit code {p.exitcode}"


@pytest.mark.slow
def test_two_processes_completing_one_item_exactly_one_wins(shared_url: str) -> None:
    onestop = make_onestop(shared_url)
    import_test_procedure(onestop, DATA.parent.parent / "procedures" / "building_permit")
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    item = case.open_items[0].id
    _run(_complete_once, [(shared_url, item, case.version, barrier, results)] * 2)
    outcomes = sorted(results.get(timeout=5) for _ in range(2))
    assert outcomes == ["conflict", "ok"]
    events = onestop.queries.events("system", case.dossier_code)
    assert [e.kind for e in events].count("task_completed") == 1
    assert onestop.verify().ok
    onestop.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_by_two_hundred_commands_lose_and_duplicate_nothing() -> None:
    url = next(postgres_schema_url_gen := postgres_schema_url())
    try:
        onestop = make_onestop(url)
        import_test_procedure(onestop, DATA / "review_loop")
        codes = [
            onestop.cases.start_case("clerk1", "review_loop", "TH.50.01", T0).dossier_code for _ in range(50)
        ]
        results = SPAWN.Queue()
        _run(_hammer, [(url, codes, seed, 200, results) for seed in range(4)])
        totals = [results.get(timeout=5) for _ in range(4)]
        assert sum(done for done, _ in totals) == 800

        completions = Counter[str]()
        for code in codes:
            events = onestop.queries.events("system", code)
            completed = [e for e in events if e.kind == "task_completed"]
            completions[code] = len(completed)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            refs = [e.payload["ref"] for e in completed]
            assert refs == [f"review#{n}" for n in range(1, len(refs) + 1)]
            case = onestop.queries.case("system", code)
            assert [i.ref for i in case.open_items] == [f"review#{len(refs) + 1}"]
        assert sum(completions.values()) == 800
        report = onestop.verify()
        assert report.ok and report.cases_checked == 50
        onestop.close()
    finally:
        postgres_schema_url_gen.close()


@pytest.mark.slow
def test_concurrent_receipts_get_unique_consecutive_dossier_codes(shared_url: str) -> None:
    onestop = make_onestop(shared_url)
    import_test_procedure(onestop, DATA.parent.parent / "procedures" / "building_permit")
    barrier, results = SPAWN.Barrier(4), SPAWN.Queue()
    _run(_start_many, [(shared_url, 10, barrier, results)] * 4)
    codes = [code for _ in range(4) for code in results.get(timeout=5)]
    assert len(set(codes)) == 40
    assert sorted(codes) == [f"TH.50.01-260302-{n:04d}" for n in range(1, 41)]
    onestop.close()
