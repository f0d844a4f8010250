"""Write a procedure package to disk as a folder or a ``.zip``, laid out as
:mod:`designer.packages` reads it back (``process.bpmn``, ``forms/*.json``, ``manual.yaml``).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from designer.bpmn_generator import manual_yaml
from designer.package_archive import MAX_ENTRY_BYTES, write_archive
from designer.packages import FORMS_DIR, MANUAL_FILE
from designer.spec_model import ProcedureSpec
from engine import PackageFiles

__all__ = ["package_entries", "supplied_forms", "write_package"]


def package_entries(files: PackageFiles) -> dict[str, bytes]:
    """The package's files by their path inside the package."""
    entries = {**files.bpmn, **files.dmn}
    entries.update({f"{FORMS_DIR}/{name}": data for name, data in files.forms.items()})
    if files.manual:
        entries[MANUAL_FILE] = manual_yaml(files.manual).encode()
    return entries


def write_package(files: PackageFiles, target: Path, *, as_zip: bool = False) -> Path:
    """Write the package to the folder ``target`` (created if needed; files of the same
    names are replaced), or to the zip file ``target`` (``.zip`` added when missing).

    Returns:
        The folder or zip file written.

    Raises:
        OSError: the target cannot be written.
    """
    if as_zip:
        archive = target if target.suffix.lower() == ".zip" else target.with_name(f"{target.name}.zip")
        archive.parent.mkdir(parents=True, exist_ok=True)
        archive.write_bytes(write_archive(files, manual_yaml(files.manual) if files.manual else None))
        return archive
    for name, data in sorted(package_entries(files).items()):
        path = target.joinpath(*PurePosixPath(name).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def supplied_forms(spec: ProcedureSpec, folder: Path) -> dict[str, bytes]:
    """The form files the spec's steps name (``form``), read from ``folder/forms``;
    files that are missing or too large are left out (validation reports them missing)."""
    found: dict[str, bytes] = {}
    for step in spec.steps:
        if not step.form or PurePosixPath(step.form).name != step.form:
            continue
        path = folder / FORMS_DIR / step.form
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_ENTRY_BYTES:
            found[step.form] = path.read_bytes()
    return found
