"""Procedure packages uploaded as a ``.zip``: read within bounds, or refused with findings.

A zip is untrusted: names may climb out of the package (``../``, absolute paths, drive
letters, backslashes), entries may be symbolic links or encrypted, and sizes in the
headers may lie (zip bombs). Every entry is checked before anything is read, every
violation is reported at once, and reading stops at the limits whatever the headers say.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Final

import yaml

from engine import PackageFiles
from engine.errors import ProcedureInvalid
from engine.views import Finding

__all__ = [
    "MAX_ARCHIVE_BYTES",
    "MAX_ENTRY_BYTES",
    "MAX_PACKAGE_BYTES",
    "MAX_PACKAGE_FILES",
    "is_ignored_name",
    "read_archive",
    "read_archive_bytes",
    "write_archive",
]

MAX_ARCHIVE_BYTES: Final = 20 * 2**20
MAX_ENTRY_BYTES: Final = 5 * 2**20
MAX_PACKAGE_BYTES: Final = 50 * 2**20
MAX_PACKAGE_FILES: Final = 500

_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_ENCRYPTED_FLAG: Final = 0x1
_JUNK: Final = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"})


def is_ignored_name(name: str) -> bool:
    """Files that archivers and desktops add on their own (``__MACOSX/``, ``.DS_Store``, dot files)."""
    return any(part in _JUNK or part.startswith(".") for part in name.split("/") if part)


def read_archive(path: Path) -> dict[str, bytes]:
    """The files of a zip archive by their path inside it (``forms/approval.json``).

    Directories, desktop litter and dot files are left out.

    Raises:
        ProcedureInvalid: as :func:`read_archive_bytes`.
    """
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise _too_large(size, path.name)
    return read_archive_bytes(path.read_bytes(), path.name)


def read_archive_bytes(data: bytes, name: str) -> dict[str, bytes]:
    """Like :func:`read_archive`, for an archive already in memory (an upload) named ``name``.

    Raises:
        ProcedureInvalid: the archive is too large, not a zip, has too many entries, or an
            entry is unsafe (path traversal, absolute path, symbolic link, encrypted,
            larger than allowed); the findings list every violation.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _too_large(len(data), name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_PACKAGE_FILES:
                raise _refused(
                    "zip-too-many-files",
                    f"{name} holds {len(infos)} entries; a package may have at most {MAX_PACKAGE_FILES}",
                    name,
                )
            wanted, problems = _check_entries(infos, name)
            if problems:
                raise ProcedureInvalid(f"{name} is refused: {problems[0].message}", findings=problems)
            return {info.filename: _read_entry(archive, info, name) for info in wanted}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
        raise _refused("zip-invalid", f"{name} is not a readable zip archive: {exc}", name) from exc
    except RuntimeError as exc:  # zipfile raises it for entries that need a password
        raise _refused("zip-encrypted", f"{name} has an encrypted entry: {exc}", name) from exc


def write_archive(files: PackageFiles, manual_text: str | None = None) -> bytes:
    """A ``.zip`` of the package in one folder named by its code, the way
    :func:`read_archive` reads it back: ``<code>/process.bpmn``, ``<code>/forms/*.json``,
    ``<code>/manual.yaml`` (``manual_text`` when given, else the manual written as YAML).
    Entries carry a fixed date, so the same package always gives the same bytes."""
    entries = {**files.bpmn, **files.dmn, **{f"forms/{name}": data for name, data in files.forms.items()}}
    if manual_text is not None or files.manual:
        text = manual_text or yaml.safe_dump(files.manual, allow_unicode=True, sort_keys=False, width=100)
        entries["manual.yaml"] = text.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(f"{files.code}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _too_large(size: int, name: str) -> ProcedureInvalid:
    return _refused(
        "zip-too-large",
        f"{name} is {size / 2**20:.1f} MiB; a package archive may be at most "
        f"{MAX_ARCHIVE_BYTES // 2**20} MiB",
        name,
    )


def _check_entries(infos: list[zipfile.ZipInfo], archive: str) -> tuple[list[zipfile.ZipInfo], list[Finding]]:
    problems: list[Finding] = []
    wanted: list[zipfile.ZipInfo] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        unsafe = _unsafe_name(name)
        if unsafe:
            problems.append(_finding("zip-unsafe-path", f"entry '{name}' {unsafe}", archive))
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(_finding("zip-symlink", f"entry '{name}' is a symbolic link", archive))
            continue
        if info.is_dir() or is_ignored_name(name):
            continue
        if info.flag_bits & _ENCRYPTED_FLAG:
            problems.append(_finding("zip-encrypted", f"entry '{name}' is encrypted", archive))
        if name in seen:
            problems.append(_finding("zip-unsafe-path", f"entry '{name}' appears twice", archive))
        seen.add(name)
        if info.file_size > MAX_ENTRY_BYTES:
            problems.append(
                _finding(
                    "zip-too-large",
                    f"entry '{name}' unpacks to {info.file_size:,} bytes; "
                    f"a file may have at most {MAX_ENTRY_BYTES:,}",
                    archive,
                )
            )
        total += info.file_size
        wanted.append(info)
    if total > MAX_PACKAGE_BYTES:
        problems.append(
            _finding(
                "zip-too-large",
                f"the archive unpacks to {total:,} bytes; a package may have at most {MAX_PACKAGE_BYTES:,}",
                archive,
            )
        )
    return wanted, problems


def _unsafe_name(name: str) -> str | None:
    """Why an entry name could write or read outside the package, or ``None``."""
    if "\\" in name or "\x00" in name:
        return "has a backslash or NUL character in its path"
    if name.startswith("/") or _DRIVE.match(name):
        return "has an absolute path"
    if any(part == ".." for part in name.split("/")):
        return "climbs out of the package ('..' in its path)"
    return None


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_name: str) -> bytes:
    # Headers may lie about sizes: never take more than the limit, whatever they say.
    with archive.open(info) as entry:
        data = entry.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES or len(data) > info.file_size:
        raise _refused(
            "zip-too-large",
            f"entry '{info.filename}' unpacks to more than its header says or than {MAX_ENTRY_BYTES:,} bytes",
            archive_name,
        )
    return data


def _finding(code: str, message: str, archive: str) -> Finding:
    return Finding(
        severity="error",
        code=code,
        message=message,
        file=archive,
        hint="pack the procedure folder again with a plain zip tool (files only, relative paths, no links)",
    )


def _refused(code: str, message: str, archive: str) -> ProcedureInvalid:
    return ProcedureInvalid(message, findings=[_finding(code, message, archive)])
