"""Compile a procedure package into an executable process spec, safely and once.

Uploaded XML goes through :func:`engine.xml_safety.parse_xml` (no DTD, no entities, size and
depth bounds) before SpiffWorkflow sees it; SpiffWorkflow then validates against the
BPMN 2.0 XSD and builds the spec. Compiled procedures are cached in-process by the sha256
of their files, so each version is parsed once per process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.errors import OneStopError, ProcedureInvalid
from engine.event_chain import canonical_json
from engine.forms import FormSchema, load_form_schema
from engine.snapshots import dump_spec, load_spec
from engine.time_rules import TimeRules
from engine.views import Finding
from engine.xml_safety import parse_xml

DEFAULT_STARTER_ROLE = "intake_officer"


@dataclass(frozen=True)
class PackageFiles:
    """The files of one procedure version, as uploaded (untrusted until compiled)."""

    code: str
    bpmn: dict[str, bytes]
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)
    manual: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Digest over every file and the manual: equal packages, equal digests."""
        digest = hashlib.sha256()
        for group, files in (("bpmn", self.bpmn), ("dmn", self.dmn), ("forms", self.forms)):
            for name in sorted(files):
                digest.update(f"{group}/{name}\0".encode())
                digest.update(hashlib.sha256(files[name]).digest())
        digest.update(canonical_json(self.manual).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class UserTaskInfo:
    element_id: str
    name: str
    lane: str | None
    form: str | None
    instructions: str | None


@dataclass(frozen=True)
class CompiledProcedure:
    """An executable procedure version: spec, forms and what the engine needs to know."""

    sha256: str
    process_id: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    user_tasks: dict[str, UserTaskInfo]
    lanes: tuple[str, ...]
    starter_role: str
    forms: dict[str, FormSchema]
    time_rules: TimeRules = field(default_factory=TimeRules)

    def form_for(self, element_id: str) -> FormSchema | None:
        info = self.user_tasks.get(element_id)
        if info is None or info.form is None:
            return None
        return self.forms.get(info.form)


def compile_package(files: PackageFiles) -> tuple[CompiledProcedure, str]:
    """Parse and check a package; return the compiled procedure and its spec JSON.

    Raises:
        ProcedureInvalid: with findings naming file, line and element for every problem
            found (unsafe XML, XSD violations, engine parse errors, missing forms).
    """
    findings: list[Finding] = []
    forms = _load_forms(files, findings)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, data in sorted(files.bpmn.items()):
        _add(parser.add_bpmn_xml, data, name, findings)
    for name, data in sorted(files.dmn.items()):
        # SpiffWorkflow's DMN reader wants the root element, its BPMN reader the tree.
        _add(
            lambda tree, filename: parser.add_dmn_xml(tree.getroot(), filename=filename), data, name, findings
        )
    if findings:
        raise ProcedureInvalid(_summary(files.code, findings), findings=findings)
    process_id = _executable_process(parser, files, findings)
    try:
        spec = parser.get_spec(process_id)
        subs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise ProcedureInvalid(
            _summary(files.code, [_finding_from_validation(exc)]),
            findings=[_finding_from_validation(exc)],
        ) from exc
    except SpiffWorkflowException as exc:
        finding = Finding(
            severity="error", code="engine-parse", message=f"the engine cannot build this process: {exc}"
        )
        raise ProcedureInvalid(_summary(files.code, [finding]), findings=[finding]) from exc
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        finding = _engine_crash(exc, None)
        raise ProcedureInvalid(_summary(files.code, [finding]), findings=[finding]) from exc
    compiled = _describe(files, process_id, spec, subs, forms, findings)
    if any(f.severity == "error" for f in findings):
        raise ProcedureInvalid(_summary(files.code, findings), findings=findings)
    return compiled, dump_spec(spec, subs)


def _add(add: Any, data: bytes, name: str, findings: list[Finding]) -> None:
    try:
        tree = parse_xml(data, file=name)
        add(tree, filename=name)
    except OneStopError as exc:
        findings.append(_finding_from_error(exc, "xml-unsafe-or-malformed", name))
    except ValidationException as exc:
        findings.append(_finding_from_validation(exc, default_file=name))
    except (SpiffWorkflowException, etree.LxmlError) as exc:
        findings.append(
            Finding(
                severity="error",
                code="engine-parse",
                message=f"the engine cannot read {name}: {exc}",
                file=name,
            )
        )
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        # SpiffWorkflow's parser raises TypeError for a messageRef without <message>.
        findings.append(_engine_crash(exc, name))


def _engine_crash(exc: Exception, name: str | None) -> Finding:
    """A finding for an exception SpiffWorkflow's parser raised by accident, not by design."""
    where = f" reading {name}" if name else ""
    return Finding(
        severity="error",
        code="engine-crash",
        message=f"the engine's BPMN parser failed{where} with {type(exc).__name__}: {exc}",
        file=name,
        hint="the model uses something the engine does not handle; "
        "'onestop procedures validate' lists the likely cause",
    )


def _finding_from_error(exc: OneStopError, code: str, name: str) -> Finding:
    """A finding from one of our errors, keeping the line and JSON pointer it carries."""
    return Finding(
        severity="error",
        code=code,
        message=exc.message,
        file=name,
        line=exc.details.get("line"),
        hint=exc.details.get("pointer"),
    )


def _finding_from_validation(exc: ValidationException, default_file: str | None = None) -> Finding:
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
    return Finding(
        severity="error",
        code="bpmn-invalid",
        message=str(exc.args[0]) if exc.args else str(exc),
        file=exc.file_name or default_file,
        line=line,
        element_id=exc.id or None,
    )


def _executable_process(parser: SpiffBpmnParser, files: PackageFiles, findings: list[Finding]) -> str:
    ids = parser.get_process_ids()
    wanted = files.manual.get("process_id")
    if wanted and wanted in ids:
        return str(wanted)
    if len(ids) == 1:
        return str(ids[0])
    message = (
        'no executable process found: set isExecutable="true" on the process to run'
        if not ids
        else f"several executable processes ({', '.join(ids)}): "
        "name the one to run as process_id in manual.yaml"
    )
    finding = Finding(severity="error", code="no-executable-process", message=message)
    raise ProcedureInvalid(_summary(files.code, [*findings, finding]), findings=[*findings, finding])


def _load_forms(files: PackageFiles, findings: list[Finding]) -> dict[str, FormSchema]:
    forms: dict[str, FormSchema] = {}
    for name, data in sorted(files.forms.items()):
        try:
            forms[name] = load_form_schema(data, file=name)
        except ProcedureInvalid as exc:
            findings.append(_finding_from_error(exc, "form-invalid", name))
    return forms


def _describe(
    files: PackageFiles,
    process_id: str,
    spec: BpmnProcessSpec,
    subs: dict[str, BpmnProcessSpec],
    forms: dict[str, FormSchema],
    findings: list[Finding],
) -> CompiledProcedure:
    user_tasks: dict[str, UserTaskInfo] = {}
    lanes: list[str] = []
    for task_spec in [*spec.task_specs.values(), *(t for s in subs.values() for t in s.task_specs.values())]:
        lane = getattr(task_spec, "lane", None)
        if lane and lane not in lanes:
            lanes.append(lane)
        if not isinstance(task_spec, UserTask):
            continue
        properties = task_spec.extensions.get("properties", {}) if task_spec.extensions else {}
        form = properties.get("formJsonSchemaFilename")
        if form and form not in forms:
            findings.append(
                Finding(
                    severity="error",
                    code="form-missing",
                    message=f"user task '{task_spec.bpmn_id}' names form '{form}', which is not in forms/",
                    element_id=task_spec.bpmn_id,
                    hint="add the JSON Schema file under forms/ or fix formJsonSchemaFilename",
                )
            )
        user_tasks[task_spec.bpmn_id] = UserTaskInfo(
            element_id=task_spec.bpmn_id,
            name=task_spec.bpmn_name or task_spec.bpmn_id,
            lane=lane,
            form=form,
            instructions=task_spec.extensions.get("instructionsForEndUser") if task_spec.extensions else None,
        )
    return CompiledProcedure(
        sha256=files.sha256,
        process_id=process_id,
        spec=spec,
        subprocess_specs=subs,
        user_tasks=user_tasks,
        lanes=tuple(lanes),
        starter_role=str(files.manual.get("starter_role") or _start_lane(spec) or DEFAULT_STARTER_ROLE),
        forms=forms,
        time_rules=TimeRules.of(files.manual, files.bpmn.values()),
    )


def _start_lane(spec: BpmnProcessSpec) -> str | None:
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ == "StartEvent":
            return getattr(task_spec, "lane", None)
    return None


def _summary(code: str, findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    first = errors[0] if errors else findings[0]
    where = ":".join(str(p) for p in (first.file, first.line) if p) or first.element_id or code
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"procedure '{code}' cannot be imported: {where}: {first.message}{more}"


class SpecCache:
    """Compiled procedures by sha256, rebuilt from stored spec JSON on a miss."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, CompiledProcedure] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, files: PackageFiles, spec_json: str) -> CompiledProcedure:
        """The compiled procedure for a stored version (parsed at most once per process)."""
        found = self._cached(sha256)
        return found if found is not None else self._remember(sha256, self._rebuild(files, spec_json))

    def compile(self, files: PackageFiles) -> CompiledProcedure:
        """The compiled procedure of a package that need not be stored (a draft being
        tried out), compiled at most once per process for the same files.

        Raises:
            ProcedureInvalid: as :func:`compile_package`; nothing is cached then.
        """
        sha256 = files.sha256
        found = self._cached(sha256)
        return found if found is not None else self._remember(sha256, compile_package(files)[0])

    def _cached(self, sha256: str) -> CompiledProcedure | None:
        with self._lock:
            found = self._items.get(sha256)
            if found is not None:
                self._items.move_to_end(sha256)
            return found

    def _remember(self, sha256: str, compiled: CompiledProcedure) -> CompiledProcedure:
        with self._lock:
            self._items[sha256] = compiled
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return compiled

    @staticmethod
    def _rebuild(files: PackageFiles, spec_json: str) -> CompiledProcedure:
        compiled, _ = compile_package(files)
        spec, subs = load_spec(spec_json)
        # The stored spec is the one cases were started on; prefer it over a re-parse.
        return replace(compiled, spec=spec, subprocess_specs=subs)
