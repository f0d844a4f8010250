"""``make bench``: full verification (chain + replay + snapshot + checkpoint) of 10k cases.

The database holds one building-permit case down each path, driven through the real
commands, then bulk copies of them (new case uid and dossier code, every hash recomputed),
so 10,000 cases take seconds to build instead of an hour of commands. Measured on a SQLite
file, as ``make run`` uses. Prints events/s (median of the runs) for full verification and,
as the baseline measured in the same run, for hash-chain-only verification. Target: full
verification >= 2,000 events/s on one core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from designer.packages import read_package
from engine import OneStop
from engine.event_chain import GENESIS, canonical_json, event_hash
from engine.persistence.models import Case, CaseEvent, table_of
from tests.benchmarks.engine_bench import T0
from tests.conftest import PROCEDURES, make_onestop
from tests.engine.test_verification import drive_all_paths

CASES = table_of(Case)
EVENTS = table_of(CaseEvent)


def open_database(path: Path) -> OneStop:
    onestop = make_onestop(f"sqlite:///{path}", checkpoint_key=path.with_suffix(".pem"))
    if not onestop.procedures.list_versions():
        onestop.procedures.import_package(
            "admin", read_package(PROCEDURES / "building_permit"), T0, publish=True
        )
    return onestop


def build(onestop: OneStop, cases: int) -> int:
    """Fill the database up to ``cases`` cases; returns how many it holds."""
    with onestop.db.engine.connect() as connection:
        held = len(connection.execute(select(CASES.c.id)).all())
    if held == 0:
        held = len(drive_all_paths(onestop, T0)) + len(drive_all_paths(onestop, T0 + timedelta(days=1)))
    started = time.perf_counter()
    with onestop.db.engine.begin() as connection:
        templates = [dict(row) for row in connection.execute(select(CASES).limit(14)).mappings()]
        histories = {
            t["id"]: [
                dict(e)
                for e in connection.execute(
                    select(EVENTS).where(EVENTS.c.case_id == t["id"]).order_by(EVENTS.c.seq)
                ).mappings()
            ]
            for t in templates
        }
        for n in range(held, cases):
            template = templates[n % len(templates)]
            _copy_case(connection, template, histories[template["id"]], n)
    if cases > held:
        elapsed = time.perf_counter() - started
        print(f"  copied {cases - held} cases in {elapsed:.1f} s")
    return max(cases, held)


def _copy_case(connection: Any, template: dict[str, Any], events: list[dict[str, Any]], n: int) -> None:
    uid, code = str(uuid.uuid4()), f"BENCH-{n:07d}"
    row = {k: v for k, v in template.items() if k != "id"} | {"uid": uid, "dossier_code": code}
    rows, prev = [], GENESIS
    for event in events:
        payload = event["payload"]
        if event["kind"] == "case_started":
            payload = canonical_json(json.loads(payload) | {"dossier_code": code})
        fields = {k: event[k] for k in ("seq", "at", "actor", "kind", "element_id")}
        digest = event_hash(case_uid=uid, payload=payload, prev_hash=prev, **fields)
        rows.append(fields | {"payload": payload, "prev_hash": prev, "hash": digest})
        prev = digest
    case_id = connection.execute(insert(CASES).values(**(row | {"last_hash": prev}))).inserted_primary_key[0]
    connection.execute(insert(EVENTS), [r | {"case_id": case_id} for r in rows])


def events_per_second(verify: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    report = verify()
    return report.events_checked / (time.perf_counter() - started), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the database here and reuse it next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        onestop = open_database(args.db or Path(tmp) / "audit.db")
        cases = build(onestop, args.cases)
        onestop.checkpoint("system", T0 + timedelta(days=90))
        fulls, chains, ratios = [], [], []
        for _ in range(args.runs):  # interleaved, so that machine noise hits both alike
            chain, _ = events_per_second(onestop.verify_chains)
            full, report = events_per_second(onestop.verify)
            assert report.ok, report.problems[:3]
            chains.append(chain)
            fulls.append(full)
            ratios.append(full / chain)
        print(f"verification of {cases} cases, {report.events_checked} events (median of {args.runs} runs)")
        print(f"  hash chain only (baseline)           {statistics.median(chains):9.0f} events/s")
        print(
            f"  full: chain+checkpoint+replay+header {statistics.median(fulls):9.0f} events/s  (target >= 2000)"
        )
        print(f"  ratio full / chain only              {statistics.median(ratios):9.3f}")
        onestop.close()


if __name__ == "__main__":
    main()
