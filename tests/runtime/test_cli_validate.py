"""``onestop procedures validate`` and the publish refusal, driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.cli import main
from tests.conftest import DATA, PROCEDURES


def test_the_bundled_procedure_validates_with_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["procedures", "validate", str(PROCEDURES / "building_permit")]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out and "can be published" in out


def test_findings_are_printed_with_location_code_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["procedures", "validate", str(DATA / "sandbox_malicious.bpmn")]) == 1
    out = capsys.readouterr().out
    assert "error: sandbox_malicious.bpmn:10 [evil]:" in out and "[script-rejected] — " in out
    assert "cannot be published until the errors are fixed" in out


def test_json_output_lists_every_finding(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["procedures", "validate", str(DATA / "xml" / "xxe_file.bpmn"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["counts"]["error"] >= 1
    [unsafe] = [f for f in report["findings"] if f["code"] == "xml-unsafe"]
    assert unsafe["file"] == "xxe_file.bpmn" and unsafe["line"] == 3 and unsafe["severity"] == "error"
    assert set(unsafe) >= {"severity", "code", "message", "file", "line", "element_id", "hint"}


def test_json_output_of_a_valid_package(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["procedures", "validate", str(PROCEDURES / "building_permit"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["counts"]["error"] == 0


def test_roles_from_the_directory_can_be_named(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "linear10.bpmn")
    main(["procedures", "validate", path, "--json"])
    assert "lane-unknown-role" in capsys.readouterr().out
    main(["procedures", "validate", path, "--json", "--role", "clerk"])
    assert "lane-unknown-role" not in capsys.readouterr().out


def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["procedures", "validate"])
    assert stopped.value.code == 2
    assert "path" in capsys.readouterr().err


def test_validate_needs_no_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTOP_DATABASE_URL", "not-a-database-url")
    assert main(["procedures", "validate", str(PROCEDURES / "building_permit")]) == 0


def test_publishing_through_the_cli_is_refused_while_errors_remain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    bare = str(DATA / "linear10.bpmn")
    capsys.readouterr()

    assert main(["procedures", "import", bare, "--publish", "--as", "system"]) == 1
    err = capsys.readouterr().err
    assert "cannot be published while errors remain" in err and "[manual-no-time-limit]" in err

    assert main(["procedures", "import", bare, "--as", "system"]) == 0
    capsys.readouterr()
    assert main(["procedures", "publish", "linear10", "1", "--as", "system"]) == 1
    assert "[manual-no-time-limit]" in capsys.readouterr().err
    main(["procedures", "list"])
    assert "draft" in capsys.readouterr().out
