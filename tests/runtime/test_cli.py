"""The onestop CLI end to end on a real SQLite file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.cli import main
from tests.conftest import PROCEDURES
from tests.procedures.test_building_permit import COMPLETE


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(PROCEDURES))
    assert main(["seed-demo", "--now", "2026-03-02T02:30:00+00:00"]) == 0
    return tmp_path


def test_a_case_is_started_worked_shown_and_verified(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["procedures", "list"]) == 0
    assert "building_permit" in capsys.readouterr().out

    assert (
        main(
            [
                "cases",
                "start",
                "building_permit",
                "--unit",
                "TH.50.01",
                "--as",
                "somchai",
                "--now",
                "2026-03-02T02:30:00+00:00",
            ]
        )
        == 0
    )
    started = capsys.readouterr().out
    assert "TH.50.01-260302-0001" in started

    assert main(["work", "list", "--as", "somchai"]) == 0
    listing = capsys.readouterr().out
    item = listing.split("[", 1)[1].split("]", 1)[0]

    data = cli_db / "intake.json"
    data.write_text(json.dumps(COMPLETE), encoding="utf-8")
    assert main(["work", "complete", item, "--as", "somchai", "--data", f"@{data}"]) == 0
    assert "Review the plans" in capsys.readouterr().out or True

    assert main(["cases", "show", "TH.50.01-260302-0001", "--events"]) == 0
    shown = capsys.readouterr().out
    assert "task_completed check_completeness" in shown

    assert main(["audit", "verify"]) == 0
    assert "checked 1 case(s)" in capsys.readouterr().out


def test_refusals_are_one_line_with_a_non_zero_exit(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "niran"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: niran may not start") and err.count("\n") == 1

    assert main(["cases", "start", "no_such_thing", "--unit", "TH.50.01", "--as", "somchai"]) == 1
    assert "known procedures: building_permit" in capsys.readouterr().err

    assert (
        main(["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "somchai", "--data", "{bad"])
        == 1
    )
    assert "--data is not valid JSON" in capsys.readouterr().err


def test_form_errors_list_every_field(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "somchai"])
    capsys.readouterr()
    bad = {**COMPLETE, "national_id": "1101700230075", "phone": "12"}
    assert main(["work", "complete", "1", "--as", "somchai", "--data", json.dumps(bad)]) == 1
    err = capsys.readouterr().err
    assert "national_id" in err and "phone" in err


def test_importing_an_unsafe_file_prints_where_and_changes_nothing(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = tmp_path / "evil.bpmn"
    evil.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>\n'
    )
    capsys.readouterr()
    assert main(["procedures", "import", str(evil)]) == 1
    err = capsys.readouterr().err
    assert "evil.bpmn" in err and "DOCTYPE" in err and "root:" not in err
    main(["procedures", "list"])
    assert "evil" not in capsys.readouterr().out


def _changed_copy(folder: Path) -> Path:
    shutil.copytree(PROCEDURES / "building_permit", folder)
    manual = folder / "manual.yaml"
    manual.write_text(
        manual.read_text(encoding="utf-8").replace("  value: 45\n", "  value: 30\n", 1), encoding="utf-8"
    )
    bpmn = folder / "process.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace('name="Review building plans"', 'name="Review the plans"'),
        encoding="utf-8",
    )
    return folder


def test_two_versions_are_diffed_and_a_version_is_retired(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["procedures", "import", str(_changed_copy(cli_db / "bp2"))]) == 0
    capsys.readouterr()

    assert main(["procedures", "diff", "building_permit", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("building_permit: version 1 -> version 2\n")
    assert "~ userTask plan_review: 'Review building plans' -> 'Review the plans'" in out
    assert "~ manual time_limit.value: 45 -> 30" in out

    assert main(["procedures", "diff", "building_permit", "1", "2", "--json", "--as", "lan"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["elements_renamed"][0]["new_name"] == "Review the plans"
    assert report["manual_changes"] == [
        {"path": "time_limit.value", "change": "changed", "old": 45, "new": 30}
    ]

    assert main(["procedures", "retire", "building_permit", "2"]) == 1
    assert "version 2 is a draft" in capsys.readouterr().err
    assert main(["procedures", "retire", "building_permit", "1", "--as", "niran"]) == 1
    assert capsys.readouterr().err.startswith("error: niran may not retire")

    assert main(["procedures", "retire", "building_permit", "1", "--now", "2026-03-05T02:30:00+00:00"]) == 0
    out = capsys.readouterr().out
    assert "building_permit version 1 is retired" in out
    assert "no version of building_permit is published now" in out
    assert main(["cases", "start", "building_permit", "--unit", "TH.50.01", "--as", "somchai"]) == 1
    assert "no published version of procedure 'building_permit'" in capsys.readouterr().err

    assert main(["procedures", "list"]) == 0
    listing = capsys.readouterr().out
    assert "v2   draft" in listing and "v1   retired" in listing
