"""Procedure versions: import (draft), publish, retire, and their compiled specs.

A version's files, manual and serialized spec are stored once; cases reference the
version. Running cases stay on the version they started with. Retiring a version stops
new cases; who published and who retired it, and when, is kept on the version.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from engine.authorization import load_principal
from engine.clock import as_utc, stored_instant
from engine.errors import (
    InputRejected,
    PermissionDenied,
    ProcedureInvalid,
    ProcedureNotFound,
    UserNotFound,
    VersionStatusRefused,
)
from engine.persistence.database import Database
from engine.persistence.models import Case, Procedure, ProcedureVersion
from engine.persistence.prepared import Prepared, Tx
from engine.specs import CompiledProcedure, PackageFiles, SpecCache, compile_package
from engine.views import Finding, ImportResult, ProcedureVersionView

#: Checks a package before it is published (the designer's validation); errors refuse it.
PublishCheck = Callable[[PackageFiles], Sequence[Finding]]

#: Roles that may retire a version; readers may also fetch a version's files.
VERSION_MANAGERS = frozenset({"admin", "designer"})
VERSION_READERS = VERSION_MANAGERS | {"auditor"}

_PUBLISHED = Prepared(
    select(ProcedureVersion.id)
    .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
    .where(Procedure.code == bindparam("code"), ProcedureVersion.status == "published")
)
_CODES = Prepared(select(Procedure.code).order_by(Procedure.code))
_VERSION = Prepared(
    select(
        Procedure.code,
        ProcedureVersion.version,
        ProcedureVersion.manual,
        ProcedureVersion.sha256,
        ProcedureVersion.files,
        ProcedureVersion.spec_json,
    )
    .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
    .where(ProcedureVersion.id == bindparam("version_id"))
)


@dataclass(frozen=True)
class VersionInfo:
    """What a command needs of a procedure version; immutable once stored."""

    id: int
    procedure_code: str
    version: int
    manual: dict[str, Any]
    compiled: CompiledProcedure

    @property
    def step_allowances(self) -> dict[str, int]:
        return dict(self.compiled.time_rules.allowances)


class ProcedureCatalog:
    """Stored procedure versions and their compiled, cached specs.

    Args:
        db: the database.
        cache: compiled specs by sha256.
        publish_check: run on a version before it is published; any error finding refuses
            the publication (the entry points pass the designer's validation).
    """

    def __init__(
        self, db: Database, cache: SpecCache | None = None, publish_check: PublishCheck | None = None
    ) -> None:
        self.db = db
        self.cache = cache or SpecCache()
        self.publish_check = publish_check
        self._infos: dict[int, VersionInfo] = {}
        self._lock = threading.Lock()

    def info(self, tx: Tx, version_id: int) -> VersionInfo:
        """Version facts by id, read from ``connection`` once per process (versions never
        change content).

        Raises:
            ProcedureNotFound: no version has that id.
        """
        with self._lock:
            found = self._infos.get(version_id)
        if found is not None:
            return found
        row = _VERSION.first(tx, {"version_id": version_id})
        if row is None:
            raise ProcedureNotFound(f"no procedure version with id {version_id}")
        compiled = self.cache.get(row["sha256"], _decode_files(row["files"], row["manual"]), row["spec_json"])
        info = VersionInfo(version_id, row["code"], row["version"], dict(row["manual"]), compiled)
        with self._lock:
            self._infos[version_id] = info
        return info

    def import_package(
        self, actor: str, files: PackageFiles, now: datetime, *, publish: bool = False
    ) -> ImportResult:
        """Store a package as a new draft version (or return the identical one).

        Raises:
            ProcedureInvalid: the package does not compile, or ``publish`` is asked and the
                publish check finds errors (findings attached; nothing is stored).
            InputRejected: the procedure code is not usable.
            PermissionDenied: the actor is neither an admin nor a designer.
        """
        now = as_utc(now)
        with self.db.read() as session:
            _require_role(session, actor, VERSION_MANAGERS, f"import procedure '{files.code}'")
        _check_code(files.code)
        compiled, spec_json = compile_package(files)
        if publish:
            self._refuse_errors(files)
        with self.db.write() as session:
            procedure = session.scalar(select(Procedure).where(Procedure.code == files.code))
            if procedure is None:
                procedure = Procedure(code=files.code, names=_names(files.manual), created_at=now)
                session.add(procedure)
                session.flush()
            elif files.manual.get("name"):
                procedure.names = _names(files.manual)
            existing = session.scalar(
                select(ProcedureVersion).where(
                    ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.sha256 == compiled.sha256
                )
            )
            created = existing is None
            if existing is None:
                number = (
                    session.scalar(
                        select(func.max(ProcedureVersion.version)).where(
                            ProcedureVersion.procedure_id == procedure.id
                        )
                    )
                    or 0
                ) + 1
                existing = ProcedureVersion(
                    procedure_id=procedure.id,
                    version=number,
                    status="draft",
                    sha256=compiled.sha256,
                    process_id=compiled.process_id,
                    files=_encode_files(files),
                    manual=files.manual,
                    spec_json=spec_json,
                    lanes=list(compiled.lanes),
                    starter_role=compiled.starter_role,
                    created_by=actor,
                    created_at=now,
                )
                session.add(existing)
                session.flush()
            if publish and existing.status != "published":
                self._publish(session, procedure, existing, actor, now)
            return ImportResult(version=_view(procedure, existing), created=created)

    def publish(self, actor: str, code: str, version: int, now: datetime) -> ProcedureVersionView:
        """Make ``version`` the one new cases use; the previous published one is retired.

        Raises:
            PermissionDenied: the actor is neither an admin nor a designer.
            ProcedureNotFound: no such procedure or version.
            ProcedureInvalid: the publish check finds errors in the version (findings attached).
        """
        action = f"publish procedure '{code}' version {version}"
        with self.db.read() as session:
            _require_role(session, actor, VERSION_MANAGERS, action)
            _, stored = _version_row(session, code, version)
            files = _decode_files(stored.files, stored.manual) if self.publish_check is not None else None
        if files is not None:
            self._refuse_errors(files)
        with self.db.write() as session:
            procedure, row = _version_row(session, code, version, lock=True)
            self._publish(session, procedure, row, actor, as_utc(now))
            return _view(procedure, row)

    def _refuse_errors(self, files: PackageFiles) -> None:
        findings = list(self.publish_check(files)) if self.publish_check is not None else []
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            first = errors[0]
            where = first.location() or files.code
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ProcedureInvalid(
                f"procedure '{files.code}' cannot be published while errors remain: "
                f"{where}: {first.message}{more}",
                findings=findings,
            )

    def retire(self, actor: str, code: str, version: int, now: datetime) -> ProcedureVersionView:
        """Stop new cases of ``version``; cases already running on it carry on unchanged.

        When it was the published version, ``code`` has none until another is published.

        Raises:
            PermissionDenied: the actor is neither an admin nor a designer.
            ProcedureNotFound: no such procedure or version.
            VersionStatusRefused: the version is a draft or is already retired.
        """
        with self.db.write() as session:
            _require_role(session, actor, VERSION_MANAGERS, f"retire procedure '{code}' version {version}")
            procedure, row = _version_row(session, code, version, lock=True)
            if row.status == "draft":
                raise VersionStatusRefused(
                    f"procedure '{code}' version {version} is a draft, which no case can start; "
                    "only a published version can be retired",
                    procedure=code,
                    version=version,
                )
            if row.status == "retired":
                when = f" on {row.retired_at:%Y-%m-%d}" if row.retired_at else ""
                who = f" by {row.retired_by}" if row.retired_by else ""
                raise VersionStatusRefused(
                    f"procedure '{code}' version {version} is already retired{when}{who}",
                    procedure=code,
                    version=version,
                )
            row.status, row.retired_by, row.retired_at = "retired", actor, as_utc(now)
            session.flush()
            return _view(procedure, row)

    def package_files(self, actor: str, code: str, version: int) -> PackageFiles:
        """The files and manual stored for ``version``, as they were imported.

        Raises:
            PermissionDenied: the actor is not an admin, a designer or an auditor.
            ProcedureNotFound: no such procedure or version.
        """
        with self.db.read() as session:
            _require_role(session, actor, VERSION_READERS, f"read procedure '{code}' version {version}")
            _, row = _version_row(session, code, version)
            return _decode_files(row.files, row.manual)

    @staticmethod
    def _publish(
        session: Session, procedure: Procedure, row: ProcedureVersion, actor: str, now: datetime
    ) -> None:
        session.execute(
            update(ProcedureVersion)
            .where(ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.status == "published")
            .values(status="retired", retired_by=actor, retired_at=now)
        )
        row.status, row.published_by, row.published_at = "published", actor, now
        session.flush()

    def list_versions(self) -> list[ProcedureVersionView]:
        """Every version of every procedure, newest first within a procedure, with how many
        cases are still running on it."""
        running = (
            select(Case.procedure_version_id, func.count().label("running"))
            .where(Case.status == "running")
            .group_by(Case.procedure_version_id)
            .subquery()
        )
        with self.db.read() as session:
            rows = session.execute(
                select(Procedure, ProcedureVersion, running.c.running)
                .join(ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id)
                .outerjoin(running, running.c.procedure_version_id == ProcedureVersion.id)
                .order_by(Procedure.code, ProcedureVersion.version.desc())
            ).all()
            return [_view(procedure, version, count or 0) for procedure, version, count in rows]

    def published(self, tx: Tx, code: str) -> VersionInfo:
        """The published version of ``code``.

        Raises:
            ProcedureNotFound: unknown code, or no version is published.
        """
        row = _PUBLISHED.first(tx, {"code": code})
        if row is None:
            known = [found["code"] for found in _CODES.rows(tx)]
            raise ProcedureNotFound(
                f"no published version of procedure '{code}' "
                f"(known procedures: {', '.join(known) or 'none'})",
                procedure=code,
            )
        return self.info(tx, row["id"])

    def compiled(self, row: ProcedureVersion) -> CompiledProcedure:
        """The compiled procedure of a stored version (parsed once per process)."""
        return self.cache.get(row.sha256, _decode_files(row.files, row.manual), row.spec_json)


def _require_role(session: Session, actor: str, roles: frozenset[str], action: str) -> None:
    """Refuse unless ``actor`` is the system or holds one of ``roles`` on any unit."""
    try:
        principal = load_principal(Tx.of(session.connection()), actor)
    except UserNotFound as exc:
        raise PermissionDenied(
            f"{actor} may not {action}: no active user has that name", actor=actor
        ) from exc
    if principal.is_system or principal.roles & roles:
        return
    needed = " or ".join(f"'{role}'" for role in sorted(roles))
    raise PermissionDenied(f"{actor} may not {action}: it needs the role {needed}", actor=actor)


def _check_code(code: str) -> None:
    if not code or not code.replace("_", "").replace("-", "").isalnum() or len(code) > 100:
        raise InputRejected(
            f"procedure code '{code}' must be 1-100 letters, digits, '_' or '-' (it names the folder)"
        )


def _names(manual: dict[str, Any]) -> dict[str, str]:
    name = manual.get("name")
    if isinstance(name, dict):
        return {str(k): str(v) for k, v in name.items()}
    return {"en": str(name)} if name else {}


def _encode_files(files: PackageFiles) -> dict[str, Any]:
    def enc(group: dict[str, bytes]) -> dict[str, str]:
        return {name: base64.b64encode(data).decode() for name, data in group.items()}

    return {"code": files.code, "bpmn": enc(files.bpmn), "dmn": enc(files.dmn), "forms": enc(files.forms)}


def _decode_files(stored: dict[str, Any], manual: dict[str, Any]) -> PackageFiles:
    def dec(group: dict[str, str]) -> dict[str, bytes]:
        return {name: base64.b64decode(data) for name, data in group.items()}

    return PackageFiles(
        code=stored["code"],
        bpmn=dec(stored["bpmn"]),
        dmn=dec(stored.get("dmn", {})),
        forms=dec(stored.get("forms", {})),
        manual=manual,
    )


def _version_row(
    session: Session, code: str, version: int, *, lock: bool = False
) -> tuple[Procedure, ProcedureVersion]:
    """The procedure and one of its versions; ``lock`` holds the procedure's row until the
    transaction ends (PostgreSQL), so that two status changes of it run one after the other."""
    query = select(Procedure).where(Procedure.code == code)
    procedure = session.scalar(query.with_for_update() if lock else query)
    row = (
        session.scalar(
            select(ProcedureVersion).where(
                ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.version == version
            )
        )
        if procedure
        else None
    )
    if procedure is None or row is None:
        raise ProcedureNotFound(f"procedure '{code}' has no version {version}", procedure=code)
    return procedure, row


def _instant(moment: datetime | None) -> datetime | None:
    return None if moment is None else stored_instant(moment)


def _view(procedure: Procedure, row: ProcedureVersion, running_cases: int = 0) -> ProcedureVersionView:
    return ProcedureVersionView(
        procedure_code=procedure.code,
        version=row.version,
        status=row.status,  # type: ignore[arg-type]
        sha256=row.sha256,
        process_id=row.process_id,
        names=procedure.names,
        lanes=tuple(row.lanes),
        starter_role=row.starter_role,
        time_limit=row.manual.get("time_limit"),
        created_by=row.created_by,
        created_at=stored_instant(row.created_at),
        published_by=row.published_by,
        published_at=_instant(row.published_at),
        retired_by=row.retired_by,
        retired_at=_instant(row.retired_at),
        running_cases=running_cases,
    )
