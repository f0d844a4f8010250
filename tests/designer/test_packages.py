"""Reading procedure packages from disk: bad input is a finding with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.packages import read_package
from engine.errors import ProcedureInvalid
from tests.conftest import PROCEDURES


def test_bundled_building_permit_reads_with_forms_and_manual() -> None:
    package = read_package(PROCEDURES / "building_permit")
    assert package.code == "building_permit"
    assert "process.bpmn" in package.bpmn
    assert "approval.json" in package.forms
    assert package.manual["time_limit"]["value"] == 45


def test_broken_manual_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "process.bpmn").write_bytes((PROCEDURES / "building_permit" / "process.bpmn").read_bytes())
    (folder / "manual.yaml").write_text("code: p\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProcedureInvalid) as refused:
        read_package(folder)
    finding = refused.value.findings[0]
    assert finding.file == "manual.yaml" and finding.line is not None


def test_folder_without_bpmn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProcedureInvalid, match=r"no \.bpmn file"):
        read_package(tmp_path)
