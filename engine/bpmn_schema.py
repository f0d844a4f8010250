"""The BPMN 2.0 and DMN schemas (XSD) that SpiffWorkflow ships, applied to uploaded files.

SpiffWorkflow's own validator stops at the first schema violation and reports it without
the element. Here every violation of a file comes back as a finding with file, line and,
where the offending element has one, its id, so a process designer can fix them in one go.

The schemas are local files of the installed SpiffWorkflow (trusted); they are compiled once
per process. Trees handed in come from :func:`engine.xml_safety.parse_xml`.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from typing import Final, Literal, cast

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from engine.views import Finding

__all__ = ["BPMN_NAMESPACE", "MAX_SCHEMA_FINDINGS", "SPIFF_NAMESPACE", "schema_findings"]

BPMN_NAMESPACE: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NAMESPACE: Final = "http://spiffworkflow.org/bpmn/schema/1.0/core"
MAX_SCHEMA_FINDINGS: Final = 50

_XSD_NAMESPACE: Final = "http://www.w3.org/2001/XMLSchema"
_PREFIXES: Final = {
    BPMN_NAMESPACE: "bpmn:",
    SPIFF_NAMESPACE: "spiffworkflow:",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi:",
    "http://www.omg.org/spec/DD/20100524/DC": "dc:",
    "http://www.omg.org/spec/DD/20100524/DI": "di:",
    **{namespace: "dmn:" for namespace in DMN_SCHEMAS},
}
_QUALIFIED: Final = re.compile(r"\{([^}]*)\}")
_SCHEMA_HINT: Final = (
    "the file does not follow the BPMN 2.0 schema here: export it again from the modeler, "
    "or fix the element on this line"
)

Kind = Literal["bpmn", "dmn"]

_lock = threading.Lock()
_schemas: dict[str, etree.XMLSchema] = {}


def schema_findings(tree: etree._ElementTree, *, file: str, kind: Kind) -> list[Finding]:
    """Every XSD violation of one BPMN or DMN document, as error findings.

    The tree is not modified. At most :data:`MAX_SCHEMA_FINDINGS` violations are listed,
    followed by one finding saying how many more there are.

    Args:
        tree: a document parsed by :func:`engine.xml_safety.parse_xml`.
        file: the file name the findings carry.
        kind: ``"bpmn"`` for a process model, ``"dmn"`` for a decision table.

    Returns:
        Findings with code ``xsd-invalid`` (or ``xml-not-bpmn`` / ``xml-not-dmn`` when the
        root element is not a BPMN or DMN ``definitions``); an empty list when valid.
    """
    root = tree.getroot()
    name = etree.QName(root)
    schema_key = _schema_key(kind, name.namespace)
    if name.localname != "definitions" or schema_key is None:
        return [_wrong_root(kind, file, root)]
    checked = copy.deepcopy(tree)
    _normalise(checked)
    schema = _schema(schema_key)
    with _lock:
        schema.validate(checked)
        errors = list(cast(Iterable[etree._LogEntry], schema.error_log))
    findings = [_finding(error, checked, file) for error in errors[:MAX_SCHEMA_FINDINGS]]
    if len(errors) > MAX_SCHEMA_FINDINGS:
        findings.append(
            Finding(
                severity="error",
                code="xsd-invalid",
                message=f"{len(errors) - MAX_SCHEMA_FINDINGS} more schema violations are not listed",
                file=file,
                hint="fix the ones listed and validate again",
            )
        )
    return findings


def _schema_key(kind: Kind, namespace: str | None) -> str | None:
    if kind == "bpmn":
        return "bpmn" if namespace == BPMN_NAMESPACE else None
    return namespace if namespace in DMN_SCHEMAS else None


def _schema(key: str) -> etree.XMLSchema:
    with _lock:
        found = _schemas.get(key)
        if found is None:
            found = _schemas[key] = _build_bpmn() if key == "bpmn" else _build(DMN_SCHEMAS[key])
        return found


def _build_bpmn() -> etree.XMLSchema:
    document = etree.parse(XSD_PATH)
    spiff = etree.Element(f"{{{_XSD_NAMESPACE}}}import", namespace=SPIFF_NAMESPACE, schemaLocation=SPIFF_XSD)
    document.getroot().insert(0, spiff)
    return etree.XMLSchema(document)


def _build(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def _normalise(tree: etree._ElementTree) -> None:
    # bpmn.io writes correlation retrieval expressions as bpmn:formalExpression, which the
    # schema calls bpmn:messagePath; SpiffWorkflow accepts both (it renames them the same way).
    path = f"{{{BPMN_NAMESPACE}}}correlationPropertyRetrievalExpression/{{{BPMN_NAMESPACE}}}formalExpression"
    for element in tree.getroot().iterfind(f".//{path}"):
        element.tag = f"{{{BPMN_NAMESPACE}}}messagePath"


def _finding(error: etree._LogEntry, tree: etree._ElementTree, file: str) -> Finding:
    element = _element_at(tree, error.path, error.line)
    return Finding(
        severity="error",
        code="xsd-invalid",
        message=_readable(error.message),
        file=file,
        line=error.line if error.line > 0 else None,
        column=error.column if error.column > 0 else None,
        element_id=element.get("id") if element is not None else None,
        hint=_SCHEMA_HINT,
    )


def _element_at(tree: etree._ElementTree, path: str | None, line: int) -> etree._Element | None:
    if path:
        namespaces = {prefix: uri for prefix, uri in tree.getroot().nsmap.items() if prefix}
        try:
            found = tree.xpath(path, namespaces=namespaces)
        except etree.XPathError:
            found = []
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return found[0]
    for element in tree.getroot().iter():
        if _line_of(element) == line and isinstance(element.tag, str):
            return element
    return None


def _line_of(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) and line > 0 else None


def _readable(message: str) -> str:
    """Schema messages with ``bpmn:task`` instead of ``{http://www.omg.org/...}task``."""
    return _QUALIFIED.sub(lambda m: _PREFIXES.get(m.group(1), ""), message).strip()


def _wrong_root(kind: Kind, file: str, root: etree._Element) -> Finding:
    expected = "a BPMN 2.0 <bpmn:definitions>" if kind == "bpmn" else "a DMN <definitions>"
    return Finding(
        severity="error",
        code=f"xml-not-{kind}",
        message=f"{file} is XML but its root element <{_readable(str(root.tag))}> is not {expected}",
        file=file,
        line=_line_of(root),
        hint=f"export the model as {kind.upper()} 2.0 XML"
        if kind == "bpmn"
        else "export the decision table as DMN 1.1–1.3 XML",
    )
