"""Full verification: chain, replay from the first event, snapshot, header, checkpoints."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from designer.packages import read_package
from engine import OneStop, Settings
from engine.errors import CaseNotFound, PermissionDenied, ProcedureNotFound
from tests.conftest import PROCEDURES, T0, make_onestop
from tests.procedures.permit_paths import EVERY_PATH, drive


@pytest.fixture(autouse=True)
def checkpoint_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys go to the test's folder, never to the working copy's var/."""
    path = tmp_path / "keys" / "checkpoint_key.pem"
    monkeypatch.setenv("ONESTOP_CHECKPOINT_KEY", str(path))
    return path


def drive_all_paths(onestop: OneStop, now: datetime) -> list[str]:
    """One building-permit case down each path (timers, loops, refusal, withdrawal)."""
    return [drive(onestop, path, now) for path in EVERY_PATH]


@pytest.fixture
def snapshotting(database_url: str) -> Iterator[OneStop]:
    """A snapshot after every command, so every case has one to check."""
    instance = make_onestop(database_url, snapshot_every=1)
    instance.procedures.import_package(
        "admin", read_package(PROCEDURES / "building_permit"), T0, publish=True
    )
    yield instance
    instance.close()


def test_an_honest_database_verifies_clean_on_every_path(onestop: OneStop) -> None:
    codes = drive_all_paths(onestop, T0)
    onestop.checkpoint("lan", T0 + timedelta(days=60))
    calls: list[tuple[int, int]] = []

    report = onestop.verify(progress=lambda done, total: calls.append((done, total)))

    assert report.ok, report.problems
    assert report.cases_checked == len(codes) == len(EVERY_PATH)
    assert report.events_checked > 20 * len(codes)
    assert report.checkpoint_id is not None and report.warnings == ()
    assert calls == [(n, len(codes)) for n in range(1, len(codes) + 1)]


def test_snapshots_taken_along_the_way_match_the_replayed_workflow(snapshotting: OneStop) -> None:
    drive_all_paths(snapshotting, T0)
    report = snapshotting.verify()
    assert report.ok, report.problems


def test_verification_can_be_limited_to_one_case_or_one_procedure(onestop: OneStop) -> None:
    codes = drive_all_paths(onestop, T0)
    assert onestop.verify(codes[2]).cases_checked == 1
    assert onestop.verify(procedure="building_permit").cases_checked == len(codes)
    with pytest.raises(CaseNotFound):
        onestop.verify("TH.50.01-000000-9999")
    with pytest.raises(ProcedureNotFound):
        onestop.verify(procedure="no_such_procedure")


def test_only_the_system_auditors_and_admins_take_checkpoints(onestop: OneStop, checkpoint_key: Path) -> None:
    with pytest.raises(PermissionDenied, match="auditor"):
        onestop.checkpoint("somchai", T0)
    assert not checkpoint_key.exists()
    taken = [onestop.checkpoint(actor, T0) for actor in ("system", "lan", "admin")]
    assert [t.id for t in taken] == sorted({t.id for t in taken})
    assert stat.S_IMODE(checkpoint_key.stat().st_mode) == 0o600
    assert len({t.key_fingerprint for t in taken}) == 1


def test_checkpoints_are_taken_at_intervals(onestop: OneStop) -> None:
    every = timedelta(hours=1)
    assert onestop.checkpoint_if_due(T0, every) is not None
    assert onestop.checkpoint_if_due(T0 + timedelta(minutes=59), every) is None
    assert onestop.checkpoint_if_due(T0 + timedelta(minutes=60), every) is not None


def test_a_checkpoint_signed_with_another_key_verifies_with_a_warning(
    onestop: OneStop, checkpoint_key: Path
) -> None:
    drive_all_paths(onestop, T0)
    onestop.checkpoint("system", T0)
    checkpoint_key.unlink()
    onestop.checkpoint_if_due(T0, timedelta(0))  # a fresh key is made for the next one
    onestop.settings.checkpoint_key = checkpoint_key.with_name("other.pem")

    report = onestop.verify()

    assert report.ok, report.problems
    assert len(report.warnings) == 1 and "not the current key" in report.warnings[0]


def test_the_cli_verifies_signs_checkpoints_and_the_worker_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtime.cli import main

    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(PROCEDURES))
    assert main(["seed-demo", "--now", "2026-03-02T02:30:00+00:00"]) == 0
    started = ["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "somchai"]
    assert main([*started, "--now", "2026-03-02T02:30:00+00:00"]) == 0
    capsys.readouterr()

    assert main(["timers", "fire", "--now", "2026-03-03T00:00:00+00:00"]) == 0
    assert "chain checkpoint 1: 1 case(s)" in capsys.readouterr().out
    assert main(["timers", "fire", "--now", "2026-03-03T00:30:00+00:00"]) == 0
    assert "chain checkpoint" not in capsys.readouterr().out
    assert main(["audit", "checkpoint", "--as", "somchai"]) == 1
    assert main(["audit", "checkpoint", "--as", "lan"]) == 0
    assert "chain checkpoint 2 of 1 case(s)" in capsys.readouterr().out

    assert main(["audit", "verify", "--procedure", "building_permit"]) == 0
    assert "checked 1 case(s)" in capsys.readouterr().out
    onestop = OneStop(Settings())
    try:
        with onestop.db.engine.begin() as connection:
            connection.execute(text("UPDATE cases SET status = 'completed'"))
    finally:
        onestop.close()
    assert main(["audit", "verify", "--all"]) == 1
    failed = capsys.readouterr().out
    assert "FAIL snapshot TH.50.01-260302-0001 seq 4: " in failed
    assert "expected status running (None), found status completed (None)" in failed
