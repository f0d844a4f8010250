"""The worker: one pass fires timers, delivers the outbox and checkpoints; SIGTERM stops it."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import OneStop
from engine.errors import WorkflowFailed
from engine.outbox import queue_message
from engine.persistence.models import Case
from runtime import cli
from runtime.worker import Worker
from tests.conftest import DATA, ROOT, T0, import_test_procedure, make_onestop

LATER = T0 + timedelta(hours=2)


@pytest.fixture
def onestop(database_url: str, tmp_path: Path) -> Iterator[OneStop]:
    instance = make_onestop(
        database_url,
        notifications_file=tmp_path / "notifications.jsonl",
        checkpoint_key=tmp_path / "checkpoint_key.pem",
    )
    import_test_procedure(instance, DATA / "timer_wait")
    yield instance
    instance.close()


def _case_with_message(onestop: OneStop) -> str:
    code = onestop.cases.start_case("clerk1", "timer_wait", "TH.50.01", T0).dossier_code
    with onestop.db.read() as session:
        case_id = session.scalar(select(Case.id).where(Case.dossier_code == code))
    with onestop.db.command() as tx:
        payload = {"dossier_code": code, "subject": "received", "recipients": []}
        queue_message(tx, case_id=case_id, topic="receipt", payload=payload, now=T0)
    return code


def test_one_pass_fires_due_timers_delivers_and_checkpoints(onestop: OneStop, tmp_path: Path) -> None:
    code = _case_with_message(onestop)
    worker = Worker(onestop, clock=lambda: LATER)

    done = worker.run_once()

    assert (done.fired, done.delivered, done.retried, done.failed, done.errors) == (1, 1, 0, 0, ())
    assert done.checkpoint_id is not None
    assert onestop.queries.case("system", code).current_step == "Follow up"
    [line] = (tmp_path / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["dossier_code"] == code
    idle = worker.run_once()
    assert (idle.fired, idle.delivered, idle.checkpoint_id) == (0, 0, None)
    assert not idle.did_something


def test_timers_not_yet_due_are_left_alone(onestop: OneStop) -> None:
    code = onestop.cases.start_case("clerk1", "timer_wait", "TH.50.01", T0).dossier_code
    done = Worker(onestop, clock=lambda: T0 + timedelta(minutes=59)).run_once()
    assert done.fired == 0
    assert onestop.queries.case("system", code).open_items == ()


def test_a_failing_step_does_not_stop_the_pass(
    onestop: OneStop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _case_with_message(onestop)

    def broken_timers(*_args: object, **_kwargs: object) -> list[object]:
        raise WorkflowFailed("the engine is on fire")

    def buggy_checkpoint(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("checkpoint bug")

    monkeypatch.setattr(onestop.cases, "fire_due_timers", broken_timers)
    monkeypatch.setattr(onestop, "checkpoint_if_due", buggy_checkpoint)
    with caplog.at_level(logging.INFO, logger="onestop.worker"):
        done = Worker(onestop, clock=lambda: LATER).run_once()

    assert done.errors == ("timers", "checkpoint")
    assert done.delivered == 1
    assert "worker step timers failed: the engine is on fire" in caplog.text
    assert "checkpoint bug" in caplog.text
    assert "failed steps: timers, checkpoint" in caplog.text


def test_run_until_idle_sweeps_more_than_one_batch(onestop: OneStop) -> None:
    for _ in range(3):
        _case_with_message(onestop)
    passes = Worker(onestop, clock=lambda: LATER).run_until_idle()
    assert sum(p.fired for p in passes) == 3 and sum(p.delivered for p in passes) == 3
    assert passes[-1].fired == 0 and passes[-1].delivered == 0


def test_run_forever_returns_when_stop_is_set(onestop: OneStop) -> None:
    _case_with_message(onestop)
    stop = threading.Event()
    passes: list[object] = []
    worker = Worker(onestop, clock=lambda: LATER, interval=0.01)
    original = worker.run_once

    def counting(event: threading.Event | None = None) -> object:
        passes.append(original(event))
        if len(passes) == 3:
            stop.set()
        return passes[-1]

    worker.run_once = counting  # type: ignore[method-assign]
    worker.run_forever(stop)
    assert len(passes) == 3


def test_cli_worker_until_idle_reports_totals(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    onestop = make_onestop(sqlite_url)
    import_test_procedure(onestop, DATA / "timer_wait")
    _case_with_message(onestop)
    onestop.close()
    monkeypatch.setenv("ONESTOP_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ONESTOP_NOTIFICATIONS_FILE", str(tmp_path / "n.jsonl"))
    monkeypatch.setenv("ONESTOP_CHECKPOINT_EVERY_MINUTES", "0")
    assert cli.main(["worker", "--until-idle", "--now", LATER.isoformat()]) == 0
    assert (
        "2 pass(es): fired timers on 1 case(s), delivered 1, retried 0, failed 0" in capsys.readouterr().out
    )


def test_worker_process_stops_cleanly_on_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    make_onestop(sqlite_url).close()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "ONESTOP_DATABASE_URL": sqlite_url,
        "ONESTOP_NOTIFICATIONS_FILE": str(tmp_path / "n.jsonl"),
        "ONESTOP_CHECKPOINT_KEY": str(tmp_path / "key.pem"),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "worker", "--interval", "30"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while "worker started" not in log_path.read_text(encoding="utf-8"):
                assert process.poll() is None, log_path.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "the worker did not start within 30 s"
                time.sleep(0.05)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0
            assert time.monotonic() - sent < 5
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "worker stopped" in log_path.read_text(encoding="utf-8")
