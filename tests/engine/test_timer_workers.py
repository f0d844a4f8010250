"""Three worker processes sweep the same due timers: each fires exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import OneStop
from engine.persistence.models import CaseEvent, Timer
from tests.conftest import DATA, ROOT, T0, import_test_procedure, make_onestop, postgres_schema_url

CASES = 300
WORKERS = 3
RUN_AT = T0 + timedelta(hours=2)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def schema_url() -> Iterator[str]:
    yield from postgres_schema_url()


def _start_cases(onestop: OneStop) -> None:
    import_test_procedure(onestop, DATA / "timer_wait")
    for _ in range(CASES):
        onestop.cases.start_case("clerk1", "timer_wait", "TH.50.01", T0)


def test_three_workers_fire_every_due_timer_exactly_once(schema_url: str, tmp_path: Path) -> None:
    began = time.monotonic()
    onestop = make_onestop(schema_url)
    try:
        _start_cases(onestop)
        seeded = time.monotonic()
        env = {
            **os.environ,
            "ONESTOP_DATABASE_URL": schema_url,
            "ONESTOP_NOTIFICATIONS_FILE": str(tmp_path / "notifications.jsonl"),
            "ONESTOP_CHECKPOINT_KEY": str(tmp_path / "checkpoint_key.pem"),
        }
        command = [sys.executable, "-m", "runtime.cli", "worker", "--until-idle", "--now", RUN_AT.isoformat()]
        processes = [
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(WORKERS)
        ]
        outputs = [process.communicate(timeout=120) for process in processes]
        swept = time.monotonic()
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, f"worker failed:\n{out}\n{err}"

        fired = [int(re.search(r"fired timers on (\d+) case", out).group(1)) for out, _ in outputs]  # type: ignore[union-attr]
        print(
            f"\nper-process cases fired: {fired}; seeding {seeded - began:.1f} s, "
            f"{WORKERS} workers {swept - seeded:.1f} s"
        )
        assert sum(fired) == CASES

        with onestop.db.read() as session:
            per_case = session.execute(
                select(
                    CaseEvent.case_id,
                    func.count(CaseEvent.id).filter(CaseEvent.kind == "timers_due"),
                    func.count(CaseEvent.id).filter(CaseEvent.kind == "timer_fired"),
                ).group_by(CaseEvent.case_id)
            ).all()
            due_left = session.scalar(select(func.count(Timer.id)).where(Timer.due_at <= RUN_AT))
            fired_elements = set(
                session.scalars(select(CaseEvent.element_id).where(CaseEvent.kind == "timer_fired")).all()
            )
        assert len(per_case) == CASES
        assert all((due, fired_) == (1, 1) for _case, due, fired_ in per_case), [
            row for row in per_case if (row[1], row[2]) != (1, 1)
        ]
        assert fired_elements == {"wait_hour"}
        assert due_left == 0
        assert onestop.verify_chains().ok
        # The processes really overlapped: the work was shared, not done by the first to start.
        assert sum(1 for count in fired if count > 0) >= 2, fired
    finally:
        onestop.close()
