"""What the engine itself says about a procedure package, as findings, never as an exception.

This is the compile that importing runs (:func:`engine.specs.compile_package`), so a
package that passes here also imports. SpiffWorkflow's messages are made readable and a
crash of its parser becomes an ``engine-crash`` finding naming the exception type.
"""

from __future__ import annotations

import re
from typing import Final

from engine.errors import OneStopError, ProcedureInvalid
from engine.specs import PackageFiles, compile_package
from engine.views import Finding

__all__ = ["engine_findings"]

_ELEMENT_REPR: Final = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")
_WRAPPED_CRASH: Final = re.compile(r"^(?P<kind>[A-Z]\w*(?:Error|Exception))\((?P<text>.*)\)$", re.DOTALL)
_RECURSION_HINT: Final = (
    "the engine's parser follows a chain of steps recursively and this one is too long; split the "
    "process into called processes (call activities) of a few hundred steps at most"
)
_ENGINE_HINT: Final = (
    "the engine cannot run the model as it is: change the element named here in the modeler "
    "(or the element on this line)"
)
_HINTS: Final = {
    "no-executable-process": 'mark the process to run with isExecutable="true"',
    "form-invalid": "fix the form's JSON Schema at this line (it must be a JSON object schema)",
    "xml-unsafe-or-malformed": "export the model again as plain BPMN 2.0 XML, without a DOCTYPE",
}
_CRASH_HINT: Final = (
    "the engine's parser stopped on something in this model it does not handle; look at the other "
    "findings for the element, simplify it, and report the model if the problem stays"
)


def engine_findings(files: PackageFiles) -> list[Finding]:
    """Compile ``files`` as an import would and return the engine's findings.

    Never raises for bad input: refusals come back as their findings, and any other
    exception out of SpiffWorkflow as one ``engine-crash`` finding.

    Returns:
        Findings with codes such as ``bpmn-invalid``, ``engine-parse``, ``engine-crash``,
        ``no-executable-process``, ``form-missing`` and ``form-invalid``; empty when the
        package compiles.
    """
    try:
        compile_package(files)
    except ProcedureInvalid as exc:
        return [_readable(f) for f in exc.findings if isinstance(f, Finding)]
    except OneStopError as exc:
        return [Finding(severity="error", code="engine-parse", message=exc.message)]
    except Exception as exc:  # any crash of the parser must become a finding
        return [
            Finding(
                severity="error",
                code="engine-crash",
                message=f"the engine's BPMN parser crashed with {type(exc).__name__}: {exc}",
                hint=_CRASH_HINT,
            )
        ]
    return []


def _readable(finding: Finding) -> Finding:
    update: dict[str, str] = {}
    message = _ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", finding.message)
    crash = _WRAPPED_CRASH.match(message) if finding.code == "bpmn-invalid" else None
    if crash:
        # SpiffWorkflow wraps an exception its parser raised by accident as a validation error.
        kind, text = crash.group("kind"), crash.group("text").strip("'\"")
        update["code"] = "engine-crash"
        message = f"the engine's BPMN parser crashed at this element with {kind}: {text}"
        update["hint"] = _RECURSION_HINT if kind == "RecursionError" else _CRASH_HINT
    if message != finding.message:
        update["message"] = message
    if not finding.hint and "hint" not in update:
        update["hint"] = _HINTS.get(finding.code, _ENGINE_HINT)
    return finding.model_copy(update=update) if update else finding
