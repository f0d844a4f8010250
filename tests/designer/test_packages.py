"""Reading procedure packages from disk: bad input is a finding with file and line."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from designer import package_archive
from designer.packages import open_package, open_upload, read_package
from designer.validation import validate_path
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


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def _zip_entries(target: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def _refusal(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ProcedureInvalid) as refused:
        read_package(path)
    return [(f.code, f.message) for f in refused.value.findings]


@pytest.mark.parametrize("prefix", ["", "building_permit/"])
def test_a_zip_reads_like_its_folder_and_validates(tmp_path: Path, prefix: str) -> None:
    folder = PROCEDURES / "building_permit"
    archive = _zip_folder(folder, tmp_path / "upload.zip", prefix)
    assert read_package(archive) == read_package(folder)
    assert [f for f in validate_path(archive) if f.severity != "info"] == []


def test_zip_litter_is_skipped_and_stray_files_are_noted(tmp_path: Path) -> None:
    bpmn = (PROCEDURES / "building_permit" / "process.bpmn").read_bytes()
    archive = _zip_entries(
        tmp_path / "p.zip",
        {"process.bpmn": bpmn, "__MACOSX/._process.bpmn": b"x", ".DS_Store": b"x", "notes.txt": b"hello"},
    )
    source = open_package(archive)
    assert list(source.files.bpmn) == ["process.bpmn"]
    assert [(f.code, f.file) for f in source.findings] == [("package-file-ignored", "notes.txt")]


@pytest.mark.parametrize("name", ["../evil.bpmn", "/etc/evil.bpmn", "C:/evil.bpmn", "forms\\..\\evil.json"])
def test_zip_entries_that_leave_the_package_are_refused(tmp_path: Path, name: str) -> None:
    archive = _zip_entries(tmp_path / "p.zip", {"process.bpmn": b"<x/>", name: b"<x/>"})
    assert [code for code, _ in _refusal(archive)] == ["zip-unsafe-path"]


def test_zip_symlinks_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("manual.yaml")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        archive.writestr("process.bpmn", b"<x/>")
        archive.writestr(link, "/etc/passwd")
    assert [code for code, _ in _refusal(tmp_path / "p.zip")] == ["zip-symlink"]


def test_zip_bounds_on_count_and_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _zip_entries(tmp_path / "p.zip", {f"forms/f{n}.json": b"{}" * 600 for n in range(5)})
    monkeypatch.setattr(package_archive, "MAX_PACKAGE_FILES", 4)
    assert [code for code, _ in _refusal(archive)] == ["zip-too-many-files"]
    monkeypatch.setattr(package_archive, "MAX_PACKAGE_FILES", 500)
    monkeypatch.setattr(package_archive, "MAX_PACKAGE_BYTES", 5000)
    assert [code for code, _ in _refusal(archive)] == ["zip-too-large"]
    monkeypatch.setattr(package_archive, "MAX_ENTRY_BYTES", 1000)
    assert [code for code, _ in _refusal(archive)].count("zip-too-large") == 6


def test_a_file_that_is_not_a_zip_is_refused_with_a_finding(tmp_path: Path) -> None:
    fake = tmp_path / "p.zip"
    fake.write_bytes(b"PK\x03\x04 not really")
    [finding] = validate_path(fake)
    assert (finding.code, finding.file) == ("zip-invalid", "p.zip")


def test_a_manual_of_nested_aliases_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "process.bpmn").write_bytes((PROCEDURES / "building_permit" / "process.bpmn").read_bytes())
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]" for n in range(1, 12)]
    (folder / "manual.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "expands to more than" in _refusal(folder)[0][1]


# --- uploads from a browser ----------------------------------------------------------------


def _permit_uploads() -> list[tuple[str, bytes]]:
    folder = PROCEDURES / "building_permit"
    loose = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]
    return loose + [(p.name, p.read_bytes()) for p in sorted((folder / "forms").iterdir())]


def test_loose_uploaded_files_make_the_same_package_as_the_folder() -> None:
    uploaded = open_upload(_permit_uploads()).files
    assert uploaded.sha256 == read_package(PROCEDURES / "building_permit").sha256


def test_an_uploaded_zip_reads_like_its_folder(tmp_path: Path) -> None:
    archive = tmp_path / "building_permit.zip"
    _zip_folder(PROCEDURES / "building_permit", archive, "building_permit/")
    uploaded = open_upload([("building_permit.zip", archive.read_bytes())]).files
    assert uploaded.sha256 == read_package(PROCEDURES / "building_permit").sha256


def test_a_bare_uploaded_bpmn_is_a_package_named_after_it() -> None:
    data = (PROCEDURES / "building_permit" / "process.bpmn").read_bytes()
    source = open_upload([("Road Works.bpmn", data)])
    assert source.files.code == "road_works" and list(source.files.bpmn) == ["Road Works.bpmn"]


@pytest.mark.parametrize(
    ("uploads", "message"),
    [
        ([], "no file was uploaded"),
        ([("../process.bpmn", b"<x/>")], "not a plain file name"),
        ([("forms\\a.json", b"{}")], "not a plain file name"),
        ([("p.zip", b"PK"), ("manual.yaml", b"code: p")], "uploaded with other files"),
        ([("p.zip", b"not a zip")], "not a readable zip archive"),
        ([("manual.yaml", b"code: p")], r"no \.bpmn file"),
    ],
)
def test_refused_uploads_say_why(uploads: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(ProcedureInvalid, match=message) as refused:
        open_upload(uploads)
    assert refused.value.findings and refused.value.findings[0].severity == "error"


def test_an_oversized_uploaded_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("designer.packages.MAX_FILE_BYTES", 10)
    with pytest.raises(ProcedureInvalid, match=r"process\.bpmn is .* the limit is"):
        open_upload([("process.bpmn", b"<definitions/>" * 2)])


def test_a_written_archive_reads_back_as_the_same_package_and_is_reproducible() -> None:
    package = read_package(PROCEDURES / "building_permit")
    archive = package_archive.write_archive(package)
    assert archive == package_archive.write_archive(package)
    assert open_upload([("download.zip", archive)]).files == package
