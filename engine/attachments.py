"""Documents attached to a case: uploaded through a form's file fields, stored once per case.

A form asks for a file the way JSON-Schema form tools do: a string field with
``"format": "data-url"`` (or an array of them for several files). The bytes never travel in
the form data or the events: the upload is checked, stored in ``attachments`` and the field
holds a reference ``sha256:<hex digest>``; the ``task_completed`` event lists each stored
file (field, name, media type, size, digest), so the event chain vouches for the content.

Uploads are untrusted: the media type is read from the content (the browser's claim is
ignored), only document and image types are accepted, and the file name is reduced to a
plain name without folders or control characters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, select

from engine.errors import FieldError
from engine.persistence.models import Attachment, table_of
from engine.persistence.prepared import Prepared, Tx, insert_values

FILE_FORMAT: Final = "data-url"
REFERENCE_PREFIX: Final = "sha256:"
_REFERENCE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_FILES_PER_FIELD: Final = 10
MAX_NAME_CHARS: Final = 200

# Leading bytes of each accepted kind of document.
_SIGNATURES: Final = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
ACCEPTED_TYPES: Final = ("application/pdf", "image/jpeg", "image/png", "image/tiff", "image/webp")
_TYPE_NAMES: Final = "PDF, JPEG, PNG, TIFF or WebP"

_TABLE = table_of(Attachment)
_FIND = Prepared(
    select(_TABLE.c.id).where(
        _TABLE.c.case_id == bindparam("case_id"), _TABLE.c.sha256 == bindparam("sha256")
    )
)
_INSERT = Prepared(
    insert_values(_TABLE, "case_id sha256 filename media_type size content uploaded_by uploaded_at")
)
_OF_CASE = Prepared(select(_TABLE.c.sha256).where(_TABLE.c.case_id == bindparam("case_id")))


@dataclass(frozen=True)
class Upload:
    """One file as the user sent it (name and bytes; whatever type the browser claimed is
    not trusted)."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class StoredFile:
    """A checked upload, as recorded in the completing event."""

    field: str
    sha256: str
    filename: str
    media_type: str
    size: int

    @property
    def reference(self) -> str:
        return REFERENCE_PREFIX + self.sha256

    def as_payload(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "sha256": self.sha256,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
        }


def reference_problem(value: str) -> str | None:
    """Why ``value`` is not a reference to an uploaded file (None when it is one)."""
    return None if _REFERENCE.match(value) else "upload the file here"


def sniff_media_type(content: bytes) -> str | None:
    """The accepted media type ``content`` really is, or None."""
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_filename(name: str) -> str:
    """A plain file name: no folders, no control or format characters, at most 200
    characters (keeping the extension), never empty."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    kept = kept.strip(" .") or "document"
    if len(kept) > MAX_NAME_CHARS:
        stem, dot, extension = kept.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            kept = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            kept = kept[:MAX_NAME_CHARS]
    return kept


def file_fields(schema: Mapping[str, Any] | None) -> dict[str, bool]:
    """The form's file fields, each mapped to whether it takes several files."""
    found: dict[str, bool] = {}
    for name, definition in ((schema or {}).get("properties") or {}).items():
        if not isinstance(definition, dict):
            continue
        if definition.get("type") == "string" and definition.get("format") == FILE_FORMAT:
            found[name] = False
        items = definition.get("items")
        if (
            definition.get("type") == "array"
            and isinstance(items, dict)
            and items.get("format") == FILE_FORMAT
        ):
            found[name] = True
    return found


def media_types_allowed(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The field's own restriction (``contentMediaType``, e.g. ``application/pdf`` or
    ``image/*``), if any."""
    target = definition.get("items") if definition.get("type") == "array" else definition
    wanted = target.get("contentMediaType") if isinstance(target, dict) else None
    return tuple(part.strip() for part in wanted.split(",")) if isinstance(wanted, str) else ()


def type_matches(media_type: str, allowed: Sequence[str]) -> bool:
    """Whether ``media_type`` is one of ``allowed`` (``image/*`` covers every image; an
    empty restriction allows every accepted type)."""
    return not allowed or any(
        media_type == pattern or (pattern.endswith("/*") and media_type.startswith(pattern[:-1]))
        for pattern in allowed
    )


def check_upload(
    field: str, upload: Upload, allowed: tuple[str, ...], max_bytes: int
) -> StoredFile | FieldError:
    """The file as it will be stored in ``field``, or why it cannot be."""
    name = clean_filename(upload.filename)
    size = len(upload.content)
    if size == 0:
        return FieldError(field, f"'{name}' is empty")
    if size > max_bytes:
        return FieldError(
            field, f"'{name}' is {size / 2**20:.1f} MiB; files may be at most {max_bytes / 2**20:.1f} MiB"
        )
    media_type = sniff_media_type(upload.content)
    if media_type is None:
        return FieldError(field, f"'{name}' is not a {_TYPE_NAMES} file")
    if not type_matches(media_type, allowed):
        return FieldError(field, f"'{name}' is {media_type}; this field takes {', '.join(allowed)}")
    return StoredFile(field, hashlib.sha256(upload.content).hexdigest(), name, media_type, size)


@dataclass(frozen=True)
class AttachmentPolicy:
    """How large one uploaded file may be."""

    max_bytes: int = 10 * 2**20


def store_uploads(
    tx: Tx,
    *,
    case_id: int,
    schema: Mapping[str, Any] | None,
    data: dict[str, Any],
    uploads: Mapping[str, Sequence[Upload]],
    policy: AttachmentPolicy,
    actor: str,
    now: datetime,
) -> tuple[dict[str, Any], list[StoredFile], list[FieldError]]:
    """Check and store the uploads of one form submission inside the command's transaction.

    Returns the form data with each file field set to its reference(s), the stored files,
    and every problem found (the caller refuses the submission if there is any, which rolls
    the stored rows back). Content already attached to the case is not stored twice.
    """
    fields = file_fields(schema)
    properties = (schema or {}).get("properties") or {}
    merged = dict(data)
    stored: list[StoredFile] = []
    problems: list[FieldError] = []
    for field, files in uploads.items():
        files = [f for f in files if f is not None]
        if not files:
            continue
        if field not in fields:
            problems.append(FieldError(field, "this field takes no file"))
            continue
        if not fields[field] and len(files) > 1:
            problems.append(FieldError(field, "this field takes one file"))
            continue
        if len(files) > MAX_FILES_PER_FIELD:
            problems.append(FieldError(field, f"at most {MAX_FILES_PER_FIELD} files"))
            continue
        allowed = media_types_allowed(properties[field])
        checked = [check_upload(field, upload, allowed, policy.max_bytes) for upload in files]
        refused = [found for found in checked if isinstance(found, FieldError)]
        if refused:
            problems.extend(refused)
            continue
        accepted = [found for found in checked if isinstance(found, StoredFile)]
        refs = []
        for upload, kept in zip(files, accepted, strict=True):
            _store(tx, case_id, kept, upload.content, actor, now)
            stored.append(kept)
            refs.append(kept.reference)
        merged[field] = refs if fields[field] else refs[0]
    return merged, stored, problems


def unknown_references(
    tx: Tx, case_id: int, schema: Mapping[str, Any] | None, data: Mapping[str, Any]
) -> list[FieldError]:
    """File fields in ``data`` naming content that was never uploaded to this case."""
    fields = file_fields(schema)
    named = {
        field: (value if isinstance(value, list) else [value])
        for field, value in data.items()
        if field in fields and value is not None
    }
    if not named:
        return []
    held = {REFERENCE_PREFIX + row["sha256"] for row in _OF_CASE.rows(tx, {"case_id": case_id})}
    return [
        FieldError(field, "this file was not uploaded to this case; upload it again")
        for field, refs in named.items()
        if any(isinstance(ref, str) and _REFERENCE.match(ref) and ref not in held for ref in refs)
    ]


def _store(tx: Tx, case_id: int, file: StoredFile, content: bytes, actor: str, now: datetime) -> None:
    """Store a checked file unless the case already holds the same content."""
    if _FIND.first(tx, {"case_id": case_id, "sha256": file.sha256}) is None:
        _INSERT.run(
            tx,
            {
                "case_id": case_id,
                "sha256": file.sha256,
                "filename": file.filename,
                "media_type": file.media_type,
                "size": file.size,
                "content": content,
                "uploaded_by": actor,
                "uploaded_at": now,
            },
        )
