"""The one exception tree of OneStop.

Every error a user, a designer or an operator can cause is an :class:`OneStopError`.
Library errors (SpiffWorkflow, lxml, jsonschema, SQLAlchemy) are translated where they
enter our code, with ``raise ... from exc``; anything else escaping is a bug.

::

    OneStopError
    ├── ConfigurationError        settings or environment unusable
    ├── NotFound
    │   ├── CaseNotFound
    │   ├── ProcedureNotFound
    │   ├── WorkItemNotFound
    │   ├── UserNotFound
    │   └── OrgUnitNotFound
    ├── SignInFailed              wrong user name or password (never says which)
    │   ├── SignInThrottled       too many failures; try again after a pause
    │   └── SignInRefused         an identity provider vouched, OneStop refuses (no role ...)
    ├── InputRejected             untrusted input refused before it did anything
    │   ├── XmlRejected           unsafe or malformed XML (file, line, column)
    │   ├── DiagramUnavailable    a BPMN file without the diagram (DI) needed to draw it
    │   ├── ProcedureInvalid      a procedure package that cannot be imported (findings)
    │   └── FormInvalid           form data failing its JSON Schema (every field error)
    ├── ScriptError               a script, condition, DMN cell or expression of a model
    │   ├── ScriptRejected        refused by the sandbox (forbidden construct, time, memory)
    │   └── ScriptFailed          raised an ordinary error while running
    ├── CommandRefused            a case command that cannot be applied now
    │   ├── PermissionDenied      the actor lacks the role in the case's unit
    │   ├── CaseConflict          the case changed since the caller read it
    │   ├── TaskNotReady          the work item is not open (completed, cancelled ...)
    │   ├── MessageNotExpected    the case is not waiting for that message
    │   ├── CaseClosed            the case has already ended
    │   └── VersionStatusRefused  a procedure version cannot go to that status (retire a draft)
    ├── WorkflowFailed            the engine could not run a step (model or engine fault)
    ├── DeliveryFailed            a notifier could not deliver an outbox message (``permanent``)
    └── IntegrityError            stored history does not verify (hash chain, snapshot)

Errors carry structured fields (``case``, ``element_id``, ``file``, ``line``, ``field`` ...)
so that pages and the CLI can say what failed, where, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class OneStopError(Exception):
    """Base of every error OneStop raises on purpose.

    Args:
        message: what failed and what to do, in one or two sentences.
        **details: structured context (case, element_id, file, line, field ...).
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class ConfigurationError(OneStopError):
    """Settings, database URL or environment cannot be used."""


class NotFound(OneStopError):
    """Something named by the caller does not exist."""


class CaseNotFound(NotFound):
    """No case has that id or dossier code."""


class ProcedureNotFound(NotFound):
    """No procedure (or version of it) has that code."""


class WorkItemNotFound(NotFound):
    """No open or past work item has that id."""


class DocumentNotFound(NotFound):
    """The case has no attachment with that id."""


class UserNotFound(NotFound):
    """No user has that name."""


class OrgUnitNotFound(NotFound):
    """No org unit has that code."""


class SignInFailed(OneStopError):
    """Unknown user, inactive user or wrong password: one message for all three."""


class SignInThrottled(SignInFailed):
    """Too many failed sign-ins for this account; ``retry_after`` seconds to wait."""


class SignInRefused(SignInFailed):
    """An identity provider signed the person in, but OneStop will not: no role maps to
    them, their account is deactivated, the claims are unusable or too old, or the user
    name belongs to another account. The message says which and what to do."""


class InputRejected(OneStopError):
    """Untrusted input was refused before it changed anything."""


class XmlRejected(InputRejected):
    """An XML file is unsafe (DTD, entities, too big, too deep) or not well formed."""


@dataclass(frozen=True)
class FieldError:
    """One field of a form that failed validation.

    ``field`` is a dotted path (``applicant.national_id``); ``""`` means the whole form.
    """

    field: str
    message: str


class FormInvalid(InputRejected):
    """Form data failed its JSON Schema; ``errors`` lists every failing field at once."""

    def __init__(self, message: str, errors: list[FieldError], **details: Any) -> None:
        super().__init__(message, **details)
        self.errors = errors


class DiagramUnavailable(InputRejected):
    """The BPMN file has no diagram interchange (DI) for the process, so it cannot be drawn."""


class ProcedureInvalid(InputRejected):
    """A procedure package cannot be imported; ``findings`` say what and where."""

    def __init__(self, message: str, findings: list[Any] | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.findings = list(findings or [])


class ScriptError(OneStopError):
    """A script, condition, DMN cell or other expression in a model went wrong."""


class ScriptRejected(ScriptError):
    """The sandbox refused or stopped a script (forbidden construct, CPU time, memory)."""


class ScriptFailed(ScriptError):
    """A script raised an ordinary error (unknown name, division by zero ...)."""


class CommandRefused(OneStopError):
    """A case command cannot be applied in the case's current state."""


class PermissionDenied(CommandRefused):
    """The actor has no grant for the needed role in the case's org unit."""


class CaseConflict(CommandRefused):
    """The case changed since the caller read it: reload and try again."""


class TaskNotReady(CommandRefused):
    """The work item is not open any more (or not yet)."""


class MessageNotExpected(CommandRefused):
    """The case is not waiting for the message that was delivered."""


class CaseClosed(CommandRefused):
    """The case has ended; no further command applies."""


class VersionStatusRefused(CommandRefused):
    """A procedure version cannot change status as asked: a draft cannot be retired, nor a
    retired version retired again."""


class WorkflowFailed(OneStopError):
    """The workflow engine could not run a step."""


class DeliveryFailed(OneStopError):
    """A notifier could not deliver an outbox message.

    ``permanent`` says retrying cannot help (no recipient address, a refused recipient);
    otherwise the outbox tries again later with exponential backoff.
    """

    def __init__(self, message: str, *, permanent: bool = False, **details: Any) -> None:
        super().__init__(message, **details)
        self.permanent = permanent


class IntegrityError(OneStopError):
    """Stored history does not verify (hash chain, snapshot or replay)."""
