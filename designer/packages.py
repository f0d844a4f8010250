"""Procedure packages on disk: a folder (``process.bpmn``, ``*.dmn``, ``forms/*.json``,
``manual.yaml``, ``i18n/*``), a ``.zip`` of one, or a bare ``.bpmn`` file, read into
:class:`engine.PackageFiles`.

Nothing is trusted here: sizes and file counts are bounded, zips are checked entry by entry
(:mod:`designer.package_archive`), symbolic links are refused and YAML is read with the safe
loader; the engine checks the XML and the forms when it compiles the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import yaml

from designer.package_archive import (
    MAX_PACKAGE_BYTES,
    MAX_PACKAGE_FILES,
    is_ignored_name,
    read_archive,
    read_archive_bytes,
)
from engine import PackageFiles
from engine.errors import ProcedureInvalid
from engine.views import Finding

MAX_FILE_BYTES: Final = 5 * 2**20
MANUAL_FILE: Final = "manual.yaml"
FORMS_DIR: Final = "forms"
I18N_DIR: Final = "i18n"
I18N_SUFFIXES: Final = (".json", ".yaml", ".yml", ".po")
# A YAML manual of shared anchors can stand for an exponentially large document; counting
# nodes as they would be expanded stops that before anything copies or hashes it.
MAX_MANUAL_NODES: Final = 20_000


@dataclass(frozen=True)
class PackageSource:
    """A package as read, with what validation needs beyond :class:`engine.PackageFiles`:
    the manual's text (for line numbers), translation files, and remarks on files that
    were left out."""

    files: PackageFiles
    manual_text: str | None = None
    i18n: dict[str, bytes] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()


def read_package(path: Path) -> PackageFiles:
    """Read a procedure folder, a ``.zip`` of one, or a single ``.bpmn`` file.

    Raises:
        ProcedureInvalid: the path is missing, holds no BPMN, a file is too large, the zip
            is unsafe, or the manual is not valid YAML (the finding names file and line).
    """
    return open_package(path).files


def open_package(path: Path) -> PackageSource:
    """Like :func:`read_package`, keeping what validation needs (see :class:`PackageSource`).

    Raises:
        ProcedureInvalid: as :func:`read_package`.
    """
    if path.is_symlink():
        raise _invalid(f"{path.name} is a symbolic link; give the real path", file=path.name)
    if path.is_file() and path.suffix.lower() == ".bpmn":
        return PackageSource(PackageFiles(code=_code_from(path.stem), bpmn={path.name: _read(path)}))
    if path.is_file() and path.suffix.lower() == ".zip":
        entries = read_archive(path)
        entries, top = _strip_top_folder(entries)
        return _assemble(entries, top or path.stem)
    if not path.is_dir():
        raise _invalid(f"{path} is neither a procedure folder, a .zip nor a .bpmn file", file=str(path))
    return _assemble(_folder_entries(path), path.name)


def open_upload(uploads: Sequence[tuple[str, bytes]]) -> PackageSource:
    """A package sent from a browser: one ``.zip`` of a package, one ``.bpmn`` file, or the
    loose files of a package (``.bpmn``, ``.dmn``, ``manual.yaml`` and the forms' ``.json``
    files, which go under ``forms/``).

    Browsers send bare file names; anything else in a name (folders, ``..``) is refused,
    and the same size and count limits as for folders apply.

    Raises:
        ProcedureInvalid: nothing was sent, a name or size is refused, a zip is sent with
            other files or is unsafe, or the package has no BPMN or an unreadable manual.
    """
    if not uploads:
        raise _invalid("no file was uploaded", hint="drop a .zip of the package, a .bpmn file, or its files")
    if len(uploads) > MAX_PACKAGE_FILES:
        raise _invalid(f"{len(uploads)} files were uploaded; a package has at most {MAX_PACKAGE_FILES}")
    names = [name for name, _ in uploads]
    for name in names:
        if not name or name != PurePosixPath(name).name or "\\" in name or name in (".", ".."):
            raise _invalid(f"the file name {name!r} is not a plain file name", file=name)
    zips = [name for name in names if name.lower().endswith(".zip")]
    if zips and len(uploads) > 1:
        raise _invalid(
            f"{zips[0]} was uploaded with other files", file=zips[0], hint="upload the .zip on its own"
        )
    if zips:
        entries, top = _strip_top_folder(read_archive_bytes(uploads[0][1], zips[0]))
        return _assemble(entries, top or PurePosixPath(zips[0]).stem)
    entries = {}
    for name, data in uploads:
        if len(data) > MAX_FILE_BYTES:
            raise _invalid(
                f"{name} is {len(data) / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB",
                file=name,
            )
        if not is_ignored_name(name):
            entries[f"{FORMS_DIR}/{name}" if name.lower().endswith(".json") else name] = data
    if sum(len(data) for data in entries.values()) > MAX_PACKAGE_BYTES:
        raise _invalid(f"the upload holds more than {MAX_PACKAGE_BYTES // 2**20} MiB")
    stems = [PurePosixPath(name).stem for name in entries if name.lower().endswith(".bpmn")]
    return _assemble(entries, stems[0] if stems else "procedure")


def find_packages(root: Path) -> list[Path]:
    """Every procedure folder directly under ``root`` (folders holding a .bpmn file)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


def _folder_entries(folder: Path) -> dict[str, bytes]:
    paths = [p for p in sorted(folder.iterdir()) if not is_ignored_name(p.name)]
    for sub in (FORMS_DIR, I18N_DIR):
        if (folder / sub).is_dir() and not (folder / sub).is_symlink():
            paths.remove(folder / sub)
            paths += [p for p in sorted((folder / sub).iterdir()) if not is_ignored_name(p.name)]
    if len(paths) > MAX_PACKAGE_FILES:
        raise _invalid(f"{folder.name} holds more than {MAX_PACKAGE_FILES} files", file=folder.name)
    entries: dict[str, bytes] = {}
    total = 0
    for path in paths:
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise _invalid(f"{name} is a symbolic link; copy the file into the package", file=name)
        if path.is_dir():
            entries[f"{name}/"] = b""
            continue
        entries[name] = _read(path, name)
        total += len(entries[name])
        if total > MAX_PACKAGE_BYTES:
            raise _invalid(
                f"{folder.name} holds more than {MAX_PACKAGE_BYTES // 2**20} MiB", file=folder.name
            )
    return entries


def _strip_top_folder(entries: dict[str, bytes]) -> tuple[dict[str, bytes], str | None]:
    """Zips of a folder hold ``building_permit/process.bpmn``: read them from that folder."""
    tops = {name.split("/", 1)[0] for name in entries}
    if len(tops) != 1 or all("/" not in name for name in entries):
        return entries, None
    top = tops.pop()
    return {name.split("/", 1)[1]: data for name, data in entries.items()}, top


def _assemble(entries: dict[str, bytes], default_code: str) -> PackageSource:
    bpmn: dict[str, bytes] = {}
    dmn: dict[str, bytes] = {}
    forms: dict[str, bytes] = {}
    i18n: dict[str, bytes] = {}
    ignored: list[Finding] = []
    manual_bytes: bytes | None = None
    for name, data in sorted(entries.items()):
        path = PurePosixPath(name)
        suffix = path.suffix.lower()
        if name.endswith("/"):
            ignored.append(_ignored(name.rstrip("/"), "folder"))
        elif len(path.parts) == 1 and suffix == ".bpmn":
            bpmn[name] = data
        elif len(path.parts) == 1 and suffix == ".dmn":
            dmn[name] = data
        elif name == MANUAL_FILE:
            manual_bytes = data
        elif len(path.parts) == 2 and path.parts[0] == FORMS_DIR and suffix == ".json":
            forms[path.name] = data
        elif len(path.parts) == 2 and path.parts[0] == I18N_DIR and suffix in I18N_SUFFIXES:
            i18n[name] = data
        else:
            ignored.append(_ignored(name, "file"))
    if not bpmn:
        raise _invalid("the package has no .bpmn file", file=None, hint="add process.bpmn at the top level")
    manual, manual_text = _read_manual(manual_bytes) if manual_bytes is not None else ({}, None)
    code = str(manual.get("code") or _code_from(default_code))
    files = PackageFiles(code=code, bpmn=bpmn, dmn=dmn, forms=forms, manual=manual)
    return PackageSource(files, manual_text=manual_text, i18n=i18n, findings=tuple(ignored))


def _read(path: Path, name: str | None = None) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _invalid(
            f"{name or path.name} is {size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB",
            file=name or path.name,
        )
    return path.read_bytes()


def _read_manual(data: bytes) -> tuple[dict[str, Any], str]:
    try:
        text = data.decode("utf-8")
        loaded = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise _invalid(f"{MANUAL_FILE} is not UTF-8 text", file=MANUAL_FILE) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise _invalid(
            f"{MANUAL_FILE} is not valid YAML: {getattr(exc, 'problem', exc)}", file=MANUAL_FILE, line=line
        ) from exc
    if loaded is None:
        return {}, text
    if not isinstance(loaded, dict):
        raise _invalid(
            f"{MANUAL_FILE} must be a mapping of fields, not a {type(loaded).__name__}", file=MANUAL_FILE
        )
    if count_nodes(loaded, MAX_MANUAL_NODES) > MAX_MANUAL_NODES:
        raise _invalid(
            f"{MANUAL_FILE} expands to more than {MAX_MANUAL_NODES:,} values (anchors and aliases "
            "repeated inside each other); write the values out",
            file=MANUAL_FILE,
        )
    return loaded, text


def count_nodes(value: Any, budget: int) -> int:
    """Values in ``value`` counted as if every alias were written out, stopping past ``budget``."""
    count = 0
    stack = [value]
    while stack and count <= budget:
        current = stack.pop()
        count += 1
        if isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return count


def _code_from(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _ignored(name: str, kind: str) -> Finding:
    return Finding(
        severity="info",
        code="package-file-ignored",
        message=f"{kind} '{name}' is not part of a procedure package and was left out",
        file=name,
        hint="a package holds *.bpmn, *.dmn, manual.yaml, forms/*.json and i18n/* files",
    )


def _invalid(
    message: str, *, file: str | None = None, line: int | None = None, hint: str | None = None
) -> ProcedureInvalid:
    finding = Finding(
        severity="error", code="package-unreadable", message=message, file=file, line=line, hint=hint
    )
    return ProcedureInvalid(message, findings=[finding])
