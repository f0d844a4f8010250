"""The shape of a procedure built from a table of steps (see :mod:`designer.procedure_spec`).

A :class:`StepSpec` is flat on purpose: one step is one row of the builder's table, and
every column is a plain text or number. What a row *means* (which columns a kind of step
uses, whether a goto target exists ...) is checked by :mod:`designer.spec_checks`; the
models only check each value on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "END",
    "IDENTIFIER_PATTERN",
    "DocumentSpec",
    "Issue",
    "Names",
    "ProcedureSpec",
    "ResultSpec",
    "RouteSpec",
    "Severity",
    "StepKind",
    "StepSpec",
]

IDENTIFIER_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
#: The goto target that ends the case.
END: Final = "end"
MAX_DAYS: Final = 3650

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64)]
Days = Annotated[int, Field(gt=0, le=MAX_DAYS)]
StepKind = Literal["task", "decision", "supplement", "approval"]
Severity = Literal["error", "warning", "info"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Names(_Spec):
    """A name in English (required), Thai and Vietnamese."""

    en: str = Field(min_length=1, max_length=300)
    th: str | None = Field(default=None, max_length=300)
    vi: str | None = Field(default=None, max_length=300)

    def as_dict(self) -> dict[str, str]:
        """The names given, by locale (th, vi, en order)."""
        return {locale: text for locale in ("th", "vi", "en") if (text := getattr(self, locale))}


Text = Names | str


class DocumentSpec(_Spec):
    """A document the applicant brings (or the state already holds)."""

    name: Text
    required: bool = True
    held_by_state: bool = False


class ResultSpec(_Spec):
    """What the citizen receives at the end."""

    name: Text
    validity: str | None = None


class RouteSpec(_Spec):
    """One branch of a decision: when ``when`` holds, go to step ``goto`` (or ``end``)."""

    when: str = Field(min_length=1, max_length=1000)
    goto: Identifier


class StepSpec(_Spec):
    """One row of the step table; which columns apply depends on ``kind``."""

    id: Identifier
    kind: StepKind = "task"
    name_en: str | None = Field(default=None, max_length=300)
    name_th: str | None = Field(default=None, max_length=300)
    name_vi: str | None = Field(default=None, max_length=300)
    role: Identifier | None = None
    fields: str = Field(default="", max_length=5000, description="The form, as 'name:type!, ...'")
    form: str | None = Field(default=None, max_length=200, description="A form file supplied as is")
    allowance_days: Days | None = None
    parallel: str | None = Field(default=None, max_length=64, description="Parallel group label")
    routes: list[RouteSpec] = Field(default_factory=list)
    default: Identifier | None = None
    condition: str | None = Field(default=None, max_length=1000)
    wait_days: Days | None = None
    goto: Identifier | None = None

    @field_validator(
        "name_en",
        "name_th",
        "name_vi",
        "role",
        "form",
        "parallel",
        "default",
        "condition",
        "goto",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # A cleared table cell and an empty YAML value both mean "not given".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("fields", mode="before")
    @classmethod
    def _fields_text(cls, value: Any) -> Any:
        # YAML authors may list fields one per line; the table holds them as one text.
        if value is None:
            return ""
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return ", ".join(item.strip() for item in value)
        return value

    def names(self) -> dict[str, str]:
        """The step's names given, by locale."""
        found = {"th": self.name_th, "vi": self.name_vi, "en": self.name_en}
        return {locale: text for locale, text in found.items() if text}


class ProcedureSpec(_Spec):
    """A whole procedure: catalogue facts for the service manual and the ordered steps."""

    code: Identifier
    name: Names
    time_limit_days: Days
    day_type: Literal["working", "calendar"] = "working"
    legal_basis: list[str] = Field(default_factory=list)
    responsible_unit: str | None = None
    channels: list[str] = Field(default_factory=list)
    documents: list[DocumentSpec] = Field(default_factory=list)
    results: list[ResultSpec] = Field(default_factory=list)
    complaint_channel: Text | None = None
    steps: list[StepSpec] = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class Issue:
    """A problem with the steps, located in the spec rather than in a file: ``step`` indexes
    the steps, ``column`` names the step's field and ``path`` goes below it (``(0, "goto")``
    for the first route's target). Readers turn issues into findings with lines or rows."""

    severity: Severity
    code: str
    message: str
    hint: str | None = None
    step: int | None = None
    column: str | None = None
    path: tuple[str | int, ...] = ()
