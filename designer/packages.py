"""Procedure packages on disk: a folder (``process.bpmn``, ``*.dmn``, ``forms/*.json``,
``manual.yaml``) or a bare ``.bpmn`` file, read into :class:`engine.PackageFiles`.

Nothing is trusted here: sizes are bounded and YAML is read with the safe loader; the
engine checks the XML and the forms when it compiles the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine import PackageFiles
from engine.errors import ProcedureInvalid
from engine.views import Finding

MAX_FILE_BYTES = 5 * 2**20
MANUAL_FILE = "manual.yaml"


def read_package(path: Path) -> PackageFiles:
    """Read a procedure folder or a single ``.bpmn`` file.

    Raises:
        ProcedureInvalid: the path is missing, holds no BPMN, a file is too large, or the
            manual is not valid YAML (the finding names file and line).
    """
    if path.is_file() and path.suffix == ".bpmn":
        return PackageFiles(code=_code_from(path.stem), bpmn={path.name: _read(path)})
    if not path.is_dir():
        raise _invalid(f"{path} is neither a procedure folder nor a .bpmn file", file=str(path))
    bpmn = {p.name: _read(p) for p in sorted(path.glob("*.bpmn"))}
    if not bpmn:
        raise _invalid(f"{path} has no .bpmn file", file=str(path), hint="add process.bpmn")
    dmn = {p.name: _read(p) for p in sorted(path.glob("*.dmn"))}
    forms = {p.name: _read(p) for p in sorted((path / "forms").glob("*.json"))}
    manual = _read_manual(path / MANUAL_FILE)
    code = str(manual.get("code") or _code_from(path.name))
    return PackageFiles(code=code, bpmn=bpmn, dmn=dmn, forms=forms, manual=manual)


def find_packages(root: Path) -> list[Path]:
    """Every procedure folder directly under ``root`` (folders holding a .bpmn file)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.bpmn")))


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _invalid(
            f"{path.name} is {size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB",
            file=path.name,
        )
    return path.read_bytes()


def _read_manual(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        loaded = yaml.safe_load(_read(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _invalid(f"{MANUAL_FILE} is not UTF-8 text", file=MANUAL_FILE) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise _invalid(
            f"{MANUAL_FILE} is not valid YAML: {getattr(exc, 'problem', exc)}", file=MANUAL_FILE, line=line
        ) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise _invalid(
            f"{MANUAL_FILE} must be a mapping of fields, not a {type(loaded).__name__}", file=MANUAL_FILE
        )
    return loaded


def _code_from(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _invalid(
    message: str, *, file: str | None = None, line: int | None = None, hint: str | None = None
) -> ProcedureInvalid:
    finding = Finding(
        severity="error", code="package-unreadable", message=message, file=file, line=line, hint=hint
    )
    return ProcedureInvalid(message, findings=[finding])
