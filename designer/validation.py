"""Validate a procedure package: every problem comes back as a finding a designer can act on.

Validation runs in layers, each on what the one before let through:

1. package and XML safety — the files can be read (folder, ``.zip`` or bare ``.bpmn``), and
   each XML file is well formed and free of DTDs and entities (line and column);
2. schema — each BPMN and DMN file follows its XSD (every violation, with its line);
3. engine — the package compiles as an import would compile it (SpiffWorkflow's errors
   translated, a crash of its parser reported as ``engine-crash``); skipped while layers 1–2
   report errors, because the engine would stop at the first of them;
4. lint — rules on structure (:mod:`designer.lint_rules`), on tasks, roles, forms, connectors
   and messages (:mod:`designer.lint_tasks`), on scripts and timers
   (:mod:`designer.lint_scripts`), and on the service manual (:mod:`designer.manual`).

Nothing here raises for bad input: a rule that fails on an unexpected model is reported as a
``lint-crash`` finding instead. Publishing is refused while any finding is an error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable
from pathlib import Path, PurePosixPath
from typing import Any, Final, Literal

import yaml
from lxml import etree

from designer.bpmn_model import BpmnModel, LintContext, line_of
from designer.lint_rules import STRUCTURE_RULES, Rule
from designer.lint_scripts import SCRIPT_RULES
from designer.lint_tasks import TASK_RULES
from designer.manual import MANUAL_LOCALES, manual_findings
from designer.packages import PackageSource, open_package
from engine import PackageFiles
from engine.bpmn_schema import schema_findings
from engine.connectors import default_connectors
from engine.errors import ProcedureInvalid, XmlRejected
from engine.package_check import engine_findings
from engine.views import Finding
from engine.xml_safety import REASON_DOCTYPE, REASON_TOO_DEEP, REASON_TOO_LARGE, parse_xml

__all__ = ["RULES", "has_errors", "validate_package", "validate_path"]

RULES: Final[tuple[Rule, ...]] = (*STRUCTURE_RULES, *TASK_RULES, *SCRIPT_RULES)

_SEVERITY_ORDER: Final = {"error": 0, "warning": 1, "info": 2}
_XML_CODES: Final = {
    REASON_DOCTYPE: ("xml-unsafe", "remove the <!DOCTYPE ...> declaration; BPMN files never need one"),
    REASON_TOO_LARGE: ("xml-too-large", "remove embedded images or split the model into called processes"),
    REASON_TOO_DEEP: ("xml-too-deep", "the elements nest too deeply; export the model again"),
}
_MALFORMED_HINT: Final = "the file is not well-formed XML: fix it at this line, or export it again"
# Engine messages that name no element, by the lint code that reports the same problem with one.
_EXPLAINED_BY: Final = {"data-store-unsupported": "Data Store with name"}


def validate_path(
    path: Path, *, known_roles: Collection[str] = (), connectors: Collection[str] | None = None
) -> list[Finding]:
    """Validate a procedure folder, a ``.zip`` of one, or a bare ``.bpmn`` file.

    Args:
        path: where the package is.
        known_roles: roles granted in the directory, besides those the manual names.
        connectors: names of the registered connectors (the bundled ones by default).

    Returns:
        Every finding, sorted by file and line; no error means the package may be published.
    """
    try:
        source = open_package(path)
    except ProcedureInvalid as exc:
        return _sorted(f for f in exc.findings if isinstance(f, Finding))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return [
            Finding(severity="error", code="package-unreadable", message=f"{path} cannot be read: {reason}")
        ]
    return _validate(source, known_roles, connectors)


def validate_package(
    files: PackageFiles,
    *,
    manual_text: str | None = None,
    known_roles: Collection[str] = (),
    connectors: Collection[str] | None = None,
) -> list[Finding]:
    """Validate a package already in memory (as the engine stores it).

    Args:
        files: the package.
        manual_text: the manual's YAML text, for line numbers in manual findings.
        known_roles: roles granted in the directory, besides those the manual names.
        connectors: names of the registered connectors (the bundled ones by default).

    Returns:
        Every finding, sorted by file and line.
    """
    return _validate(PackageSource(files, manual_text=manual_text), known_roles, connectors)


def validate_source(
    source: PackageSource, *, known_roles: Collection[str] = (), connectors: Collection[str] | None = None
) -> list[Finding]:
    """Validate a package as read by :func:`designer.packages.open_upload` or
    :func:`designer.packages.open_package`, with the remarks made while reading it.

    Returns:
        Every finding, sorted by file and line.
    """
    return _validate(source, known_roles, connectors)


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether any finding is an error (the package may not be published)."""
    return any(f.severity == "error" for f in findings)


def _validate(
    source: PackageSource, known_roles: Collection[str], connectors: Collection[str] | None
) -> list[Finding]:
    files = source.files
    findings = list(source.findings)
    bpmn = _parsed(files.bpmn, "bpmn", findings)
    dmn = _parsed(files.dmn, "dmn", findings)
    if has_errors(findings):
        engine: list[Finding] = [
            Finding(
                severity="info",
                code="engine-check-skipped",
                message="the engine's own check runs once the XML and schema errors are fixed",
            )
        ]
    else:
        engine = _safely("the engine check", lambda: engine_findings(files))
    lint = _safely("the lint rules", lambda: _lint(files, bpmn, dmn, known_roles, connectors))
    present = source.manual_text is not None or bool(files.manual)
    lint += _safely(
        "the manual check", lambda: manual_findings(files.manual, source.manual_text, present=present)
    )
    lint += _safely("the translation check", lambda: _i18n_findings(source.i18n))
    findings += _merged_engine_findings(engine, lint, files, bpmn)
    # The schema reports a repeated id as an invalid xs:ID; the lint says which and why.
    duplicates = {(f.file, f.line) for f in lint if f.code == "duplicate-id"}
    findings = [f for f in findings if not (f.code == "xsd-invalid" and (f.file, f.line) in duplicates)]
    return _sorted([*findings, *lint])


def _parsed(
    documents: dict[str, bytes], kind: Literal["bpmn", "dmn"], findings: list[Finding]
) -> dict[str, etree._ElementTree]:
    """Layers 1 and 2: safe parse, then the schema; well-formed trees are kept for linting."""
    trees: dict[str, etree._ElementTree] = {}
    for name, data in sorted(documents.items()):
        try:
            tree = parse_xml(data, file=name)
        except XmlRejected as exc:
            code, hint = _XML_CODES.get(exc.details.get("reason", ""), ("xml-malformed", _MALFORMED_HINT))
            findings.append(
                Finding(
                    severity="error",
                    code=code,
                    message=exc.message.strip(),
                    file=name,
                    line=exc.details.get("line"),
                    column=exc.details.get("column"),
                    hint=hint,
                )
            )
            continue
        except (etree.LxmlError, ValueError) as exc:
            message = f"{name} cannot be read as XML: {exc}"
            findings.append(
                Finding(
                    severity="error", code="xml-malformed", message=message, file=name, hint=_MALFORMED_HINT
                )
            )
            continue
        trees[name] = tree
        findings += _safely(
            f"the schema check of {name}", functools.partial(schema_findings, tree, file=name, kind=kind)
        )
    return trees


def _lint(
    files: PackageFiles,
    bpmn: dict[str, etree._ElementTree],
    dmn: dict[str, etree._ElementTree],
    known_roles: Collection[str],
    connectors: Collection[str] | None,
) -> list[Finding]:
    if not bpmn:
        return []  # nothing could be read; layer 1 said why
    process_id = files.manual.get("process_id")
    ctx = LintContext(
        model=BpmnModel(bpmn, process_id if isinstance(process_id, str) else None),
        dmn=dmn,
        forms=files.forms,
        manual=files.manual,
        known_roles=frozenset(known_roles),
        connectors=frozenset(default_connectors().names() if connectors is None else connectors),
    )
    findings: list[Finding] = []
    for rule in RULES:
        findings += _safely(f"lint rule {rule.__name__}", functools.partial(rule, ctx))
    return findings


def _safely(what: str, run: Callable[[], Iterable[Finding]]) -> list[Finding]:
    """Run one check; if it fails on an unexpected model, say so instead of raising."""
    try:
        return list(run())
    except Exception as exc:  # a checker's bug must not hide the other findings
        return [
            Finding(
                severity="error",
                code="lint-crash",
                message=f"{what} failed on this package with {type(exc).__name__}: {exc}",
                hint="the other findings are complete; report the package so that the check can be fixed",
            )
        ]


def _merged_engine_findings(
    engine: list[Finding], lint: list[Finding], files: PackageFiles, trees: dict[str, etree._ElementTree]
) -> list[Finding]:
    """The engine's findings located in the files, minus those a lint rule explains better."""
    explained = {f.element_id for f in lint if f.severity == "error" and f.element_id}
    same = {(f.code, f.file, f.element_id) for f in lint}
    codes = {f.code for f in lint if f.severity == "error"}
    merged: list[Finding] = []
    for finding in engine:
        finding = _located(finding, files, trees)
        if finding.element_id in explained or (finding.code, finding.file, finding.element_id) in same:
            continue
        if finding.code in codes and finding.code in {
            "no-executable-process",
            "form-invalid",
            "form-missing",
        }:
            continue
        if any(code in codes and text in finding.message for code, text in _EXPLAINED_BY.items()):
            continue
        merged.append(finding)
    return merged


def _located(finding: Finding, files: PackageFiles, trees: dict[str, etree._ElementTree]) -> Finding:
    update: dict[str, Any] = {}
    if finding.file in files.forms and finding.file not in files.bpmn:
        update["file"] = f"forms/{finding.file}"
    if finding.element_id and finding.line is None:
        for name, tree in sorted(trees.items()):
            found = tree.getroot().xpath("//*[@id=$ident]", ident=finding.element_id)
            if isinstance(found, list) and found and isinstance(found[0], etree._Element):
                update.update(file=name, line=line_of(found[0]))
                break
    return finding.model_copy(update=update) if update else finding


def _i18n_findings(documents: dict[str, bytes]) -> list[Finding]:
    findings: list[Finding] = []
    for name, data in sorted(documents.items()):
        path = PurePosixPath(name)
        if path.stem not in MANUAL_LOCALES:
            findings.append(
                Finding(
                    severity="warning",
                    code="i18n-unknown-locale",
                    message=f"{name} is for locale '{path.stem}', which OneStop does not offer",
                    file=name,
                    hint=f"name translation files after a locale: {', '.join(MANUAL_LOCALES)}",
                )
            )
        problem = _translation_problem(path.suffix.lower(), data)
        if problem:
            findings.append(
                Finding(
                    severity="error",
                    code="i18n-invalid",
                    message=f"{name}: {problem}",
                    file=name,
                    hint="a translation file maps each text to its translation",
                )
            )
    return findings


def _translation_problem(suffix: str, data: bytes) -> str | None:
    if suffix == ".po":
        return None if b"msgid" in data else "no msgid entries"
    try:
        text = data.decode("utf-8")
        loaded = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        return f"cannot be read: {exc}"
    if not isinstance(loaded, dict) or not all(isinstance(v, str | dict) for v in loaded.values()):
        return "must be a mapping of texts to their translations"
    return None


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    unique = {(f.severity, f.code, f.file, f.line, f.element_id, f.message): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (
            f.file or "",
            f.line or 0,
            f.column or 0,
            _SEVERITY_ORDER[f.severity],
            f.code,
            f.element_id or "",
        ),
    )
