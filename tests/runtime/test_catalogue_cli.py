"""``onestop catalogue export``: the published service manuals as JSON or CSV open data."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from engine.catalogue_export import CSV_COLUMNS, FORMAT
from runtime.cli import main
from tests.conftest import PROCEDURES


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded SQLite database with the building permit published (and no other procedure)."""
    shutil.copytree(PROCEDURES / "building_permit", tmp_path / "procedures" / "building_permit")
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(tmp_path / "procedures"))
    assert main(["seed-demo", "--now", "2026-03-02T02:30:00+00:00"]) == 0
    return tmp_path


def test_json_export_to_standard_output_has_every_language(
    cli_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    assert main(["catalogue", "export", "--format", "json", "--now", "2026-03-05T00:00:00+00:00"]) == 0

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (document["format"], document["generated_at"]) == (FORMAT, "2026-03-05T00:00:00Z")
    [entry] = document["procedures"]
    assert entry["procedure_code"] == "building_permit"
    assert set(entry["name"]) == {"th", "vi", "en"}
    assert "wrote 1 published procedure version(s) as json to standard output" in captured.err


def test_json_export_in_one_language(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    assert main(["catalogue", "export", "--format", "json", "--language", "vi"]) == 0

    [entry] = json.loads(capsys.readouterr().out)["procedures"]
    assert entry["name"] == {"vi": "Cấp giấy phép xây dựng công trình (Thái Lan)"}


def test_csv_export_in_thai_to_a_file(cli_db: Path) -> None:
    out = cli_db / "catalogue.csv"

    assert main(["catalogue", "export", "--format", "csv", "--language", "th", "--out", str(out)]) == 0

    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["name"], record["language"]) == ("การขออนุญาตก่อสร้างอาคาร", "th")


def test_csv_export_defaults_to_english(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()

    assert main(["catalogue", "export", "--format", "csv"]) == 0

    [record] = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert record["name"] == "Building construction permit"


def test_an_unknown_language_is_a_usage_error(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["catalogue", "export", "--format", "csv", "--language", "fr"])

    assert exited.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def test_an_unwritable_output_file_is_reported(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = cli_db / "missing-folder" / "catalogue.json"

    assert main(["catalogue", "export", "--format", "json", "--out", str(target)]) == 1

    assert "cannot be written" in capsys.readouterr().err
