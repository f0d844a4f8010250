"""The service manual (``manual.yaml``): the catalogue entry a procedure is published with.

It says what the citizen needs to know (names in Thai, Vietnamese and English, the national
code, the legal basis, the responsible unit, channels, steps with their time allowances, the
total time limit and its day type, documents — marking those the state already holds —,
fees, results and where to complain) and what the engine needs (``time_limit``,
``starter_role``, ``process_id``, ``personal_data``). :class:`ServiceManual` is its shape;
:func:`manual_findings` turns every problem into a finding pointing at the line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.views import Finding

__all__ = ["MANUAL_LOCALES", "LineIndex", "ServiceManual", "manual_findings", "manual_roles"]

MANUAL_FILE: Final = "manual.yaml"
MANUAL_LOCALES: Final = ("th", "vi", "en")

Localised = dict[str, str] | str


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeLimit(_Part):
    value: int = Field(ge=0, le=3650, description="Days the law allows from receipt to result (0: same day)")
    unit: Literal["days"] = "days"
    day_type: Literal["calendar", "working"] | None = None
    cutoff: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Receipts after this local time (HH:MM) count from the next working day",
    )
    max_extensions: int | None = Field(
        default=None, ge=0, le=10, description="How often the law allows an extension"
    )


class Step(_Part):
    id: str = Field(min_length=1, description="The BPMN id of the user task")
    name: Localised | None = None
    role: str | None = None
    allowance_days: int | None = Field(default=None, ge=0)


class Document(_Part):
    name: Localised
    required: bool = True
    held_by_state: bool = Field(default=False, description="The state already holds it: look it up")
    note: Localised | None = None


class Fee(_Part):
    name: Localised
    amount: float = Field(ge=0)
    unit: str | None = None
    currency: str | None = None
    basis: str | None = None


class Result(_Part):
    name: Localised
    validity: str | None = None


class PersonalData(_Part):
    fields: list[str] = Field(default_factory=list)
    needed_by: list[str] = Field(default_factory=list)


class ServiceManual(BaseModel):
    """The service manual of one procedure; unknown top-level keys are kept (see findings)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    code: str | None = None
    process_id: str | None = None
    national_code: str | None = None
    name: Localised | None = None
    legal_basis: list[str] = Field(default_factory=list)
    responsible_unit: Localised | None = None
    channels: list[str] = Field(default_factory=list)
    time_limit: TimeLimit | None = None
    steps: list[Step] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    results: list[Result] = Field(default_factory=list)
    complaint_channel: Localised | None = None
    starter_role: str | None = None
    roles: list[str] = Field(default_factory=list, description="Roles of the procedure beyond its steps")
    supplement_pauses_clock: bool = False
    personal_data: PersonalData | None = None


#: Sections a published manual should have, with the hint that goes with a missing one.
_SECTIONS: Final[dict[str, str]] = {
    "name": "name the procedure in th, vi and en",
    "legal_basis": "list the laws and sections the procedure rests on",
    "responsible_unit": "say which unit handles the procedure",
    "channels": "list where the application can be made (counter, online, post ...)",
    "steps": "list the steps with their role and allowance_days",
    "documents": "list the documents to bring, marking held_by_state for those the state has",
    "results": "say what the citizen receives",
    "complaint_channel": "say where to complain",
}


def manual_findings(manual: dict[str, Any], text: str | None, *, present: bool) -> list[Finding]:
    """Check the manual on its own (cross-checks with the process are in the lint rules).

    Args:
        manual: the manual as loaded from YAML.
        text: its source text, for line numbers (``None`` when not at hand).
        present: whether the package has a manual file at all.

    Returns:
        Findings: ``manual-missing``, ``manual-invalid``, ``manual-no-time-limit``,
        ``manual-no-day-type``, ``manual-section-missing``, ``manual-name-incomplete``,
        ``manual-unknown-field``.
    """
    if not present:
        return [
            Finding(
                severity="warning",
                code="manual-missing",
                message="the package has no manual.yaml (service manual)",
                hint="add manual.yaml with the procedure's names, legal basis, time limit, "
                "steps, documents, fees and results",
            ),
            _no_time_limit(None),
        ]
    lines = LineIndex(text)
    try:
        parsed = ServiceManual.model_validate(manual)
    except ValidationError as exc:
        findings = [_invalid(error, lines) for error in exc.errors()]
        if not manual.get("time_limit"):
            findings.append(_no_time_limit(None))
        return findings
    return list(_content_findings(parsed, manual, lines))


def manual_roles(manual: dict[str, Any]) -> set[str]:
    """Roles the manual names: step roles, the starter role, ``roles`` and ``personal_data.needed_by``."""
    roles: set[str] = set()
    for step in _as_list(manual.get("steps")):
        if isinstance(step, dict) and isinstance(step.get("role"), str):
            roles.add(step["role"])
    if isinstance(manual.get("starter_role"), str):
        roles.add(manual["starter_role"])
    roles.update(r for r in _as_list(manual.get("roles")) if isinstance(r, str))
    personal = manual.get("personal_data")
    if isinstance(personal, dict):
        roles.update(r for r in _as_list(personal.get("needed_by")) if isinstance(r, str))
    return roles


def _content_findings(parsed: ServiceManual, raw: dict[str, Any], lines: LineIndex) -> Iterator[Finding]:
    if parsed.time_limit is None:
        yield _no_time_limit(lines.line(("time_limit",)))
    elif parsed.time_limit.day_type is None:
        yield Finding(
            severity="warning",
            code="manual-no-day-type",
            message="time_limit has no day_type; the engine counts calendar days",
            file=MANUAL_FILE,
            line=lines.line(("time_limit",)),
            hint="set day_type: working or day_type: calendar as the law says",
        )
    for key, hint in _SECTIONS.items():
        if not raw.get(key):
            yield Finding(
                severity="warning",
                code="manual-section-missing",
                message=f"the service manual has no {key}",
                file=MANUAL_FILE,
                hint=hint,
            )
    if isinstance(parsed.name, dict) and parsed.name:
        missing = [locale for locale in MANUAL_LOCALES if not parsed.name.get(locale)]
        if missing:
            yield Finding(
                severity="info",
                code="manual-name-incomplete",
                message=f"the procedure has no name in {', '.join(missing)}",
                file=MANUAL_FILE,
                line=lines.line(("name",)),
                hint="the catalogue shows the English name where a language is missing",
            )
    for key in sorted(parsed.model_extra or {}):
        yield Finding(
            severity="info",
            code="manual-unknown-field",
            message=f"manual.yaml has a field '{key}' that OneStop does not use",
            file=MANUAL_FILE,
            line=lines.line((key,)),
            hint="check the spelling; known fields are " + ", ".join(sorted(ServiceManual.model_fields)),
        )


def _no_time_limit(line: int | None) -> Finding:
    return Finding(
        severity="error",
        code="manual-no-time-limit",
        message="the service manual gives no time limit, so no appointment date can be promised",
        file=MANUAL_FILE,
        line=line,
        hint="add 'time_limit: {value: 15, unit: days, day_type: working}' with the limit the law sets",
    )


def _invalid(error: Any, lines: LineIndex) -> Finding:
    location = tuple(error["loc"])
    where = ".".join(str(part) for part in location) or "(manual)"
    return Finding(
        severity="error",
        code="manual-invalid",
        message=f"manual.yaml field '{where}': {error['msg']}",
        file=MANUAL_FILE,
        line=lines.line(location),
        hint="see the service manual fields in README ('Add a procedure')",
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class LineIndex:
    """Line numbers of values in a YAML text, looked up by their path (``("steps", 2, "id")``)."""

    def __init__(self, text: str | None) -> None:
        self._root: yaml.Node | None = None
        if text:
            try:
                self._root = yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                self._root = None

    def line(self, path: Sequence[Any]) -> int | None:
        """The 1-based line of the deepest part of ``path`` found; ``None`` if none is."""
        node = self._root
        found: int | None = None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                match = next((pair for pair in node.value if getattr(pair[0], "value", None) == part), None)
                if match is None:
                    break
                found = match[0].start_mark.line + 1
                node = match[1]
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                node = node.value[part]
                found = node.start_mark.line + 1
            else:
                break
        return found
