"""The one door through which uploaded XML (BPMN, DMN) enters OneStop.

SpiffWorkflow parses with whatever lxml is installed and does not pin it; with lxml 4.9 an
external entity in a BPMN file read a local file into a script. So every upload is parsed
here, by a parser that loads no DTD, resolves no entity, touches no network and expands no
XInclude, and only the resulting tree is handed to SpiffWorkflow.

Defence is layered on purpose: the prolog is scanned for ``<!DOCTYPE`` *before* libxml2
sees the bytes (so an entity bomb is refused without being parsed at all), the parser is
configured so that a DTD that slipped past the scan does nothing, and the parsed document
is checked again for any DTD. Every refusal is an :class:`~engine.errors.XmlRejected`
carrying ``file``, ``line``, ``column`` and a ``reason`` code.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from lxml import etree

from engine.errors import ConfigurationError, XmlRejected

__all__ = [
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "REASON_DOCTYPE",
    "REASON_EMPTY",
    "REASON_MALFORMED",
    "REASON_TOO_DEEP",
    "REASON_TOO_LARGE",
    "parse_xml",
]

MAX_XML_BYTES: Final = 5 * 2**20
MAX_XML_DEPTH: Final = 256

REASON_DOCTYPE: Final = "doctype"
REASON_TOO_LARGE: Final = "too_large"
REASON_TOO_DEEP: Final = "too_deep"
REASON_MALFORMED: Final = "malformed"
REASON_EMPTY: Final = "empty"

# lxml 5 made safe entity handling the default and bundles a libxml2 with amplification
# limits; older versions are the ones that leaked files (see SPIFFWORKFLOW_NOTES trap 2).
if etree.LXML_VERSION < (5, 0, 0, 0):  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        f"lxml {etree.__version__} is too old to parse uploads safely; install lxml >= 5"
    )

# Byte-order marks and the first bytes of "<?" in encodings that are not ASCII-compatible,
# so the prolog scan can read UTF-16/32 documents too (XML 1.0 appendix F).
_NON_ASCII_PROLOGS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)

_POSITION_SUFFIX: Final = re.compile(r", line \d+, column \d+$")

_DOCTYPE_HINT: Final = (
    "DOCTYPE declarations are not allowed (they enable entity attacks); remove the <!DOCTYPE ...> line"
)


def parse_xml(
    data: bytes | str,
    *,
    file: str,
    max_bytes: int = MAX_XML_BYTES,
    max_depth: int = MAX_XML_DEPTH,
) -> etree._ElementTree:
    """Parse untrusted XML safely and return its tree.

    Comments, processing instructions and CDATA sections are kept; elements keep
    ``sourceline`` for later error reports. A ``str`` may carry an XML declaration with
    any ``encoding``: the text is already decoded, so the declaration is overridden.

    Args:
        data: the uploaded document.
        file: name shown in error messages (e.g. ``"process.bpmn"``).
        max_bytes: refuse documents larger than this many bytes (UTF-8 for ``str``).
        max_depth: refuse documents whose elements nest deeper than this. libxml2 itself
            stops at 256 levels, so larger values act as 256.

    Returns:
        The parsed document.

    Raises:
        XmlRejected: the document is too large, contains a DOCTYPE (and so possibly
            entity declarations), nests too deeply, is empty or is not well formed.
    """
    raw = _as_bytes(data, file=file, max_bytes=max_bytes)
    _reject_doctype_in_prolog(raw, file=file)
    parser = _safe_parser(encoding="utf-8" if isinstance(data, str) else None)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise _translate_syntax_error(exc, file=file, max_depth=max_depth) from exc
    tree = root.getroottree()
    _reject_parsed_dtd(tree, file=file)
    _reject_too_deep(root, file=file, max_depth=max_depth)
    return tree


def _safe_parser(*, encoding: str | None) -> etree.XMLParser:
    # A new parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        recover=False,
    )


def _as_bytes(data: bytes | str, *, file: str, max_bytes: int) -> bytes:
    # Every character is at least one UTF-8 byte, so a long str is refused before the
    # (possibly large) encoded copy is made.
    if isinstance(data, str) and len(data) > max_bytes:
        raise _too_large(file, max_bytes)
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:
        raise XmlRejected(
            f"{file}: the text contains an invalid character at position {exc.start} "
            "(a lone surrogate); save the model as UTF-8 and upload the file again",
            file=file,
            reason=REASON_MALFORMED,
        ) from exc
    if len(raw) > max_bytes:
        raise _too_large(file, max_bytes)
    if not raw.strip():
        raise XmlRejected(
            f"{file}: the file is empty; upload the exported .bpmn/.dmn file",
            file=file,
            line=1,
            column=1,
            reason=REASON_EMPTY,
        )
    return raw


def _too_large(file: str, max_bytes: int) -> XmlRejected:
    return XmlRejected(
        f"{file}: the file is larger than {max_bytes:,} bytes; "
        "split the model into called processes or remove embedded images",
        file=file,
        reason=REASON_TOO_LARGE,
        max_bytes=max_bytes,
    )


def _prolog_text(raw: bytes) -> str:
    for prefix, encoding in _NON_ASCII_PROLOGS:
        if raw.startswith(prefix):
            return raw.decode(encoding, errors="replace").removeprefix("\ufeff")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    # Latin-1 maps every byte to one character, so markup in any ASCII-compatible
    # encoding (UTF-8, TIS-620, windows-1258 ...) keeps its positions.
    return raw.decode("latin-1")


def _reject_doctype_in_prolog(raw: bytes, *, file: str) -> None:
    """Scan the prolog (everything before the root element) for ``<!DOCTYPE``.

    Only the prolog is scanned: the same characters inside a comment or CDATA section
    of the body are harmless text, and a DOCTYPE anywhere else is not well formed.
    """
    text = _prolog_text(raw)
    pos = len(text) - len(text.lstrip(" \t\r\n"))
    while pos < len(text):
        if text.startswith("<!DOCTYPE", pos):
            line, column = _line_column(text, pos)
            raise XmlRejected(
                f"{file} line {line}: {_DOCTYPE_HINT}",
                file=file,
                line=line,
                column=column,
                reason=REASON_DOCTYPE,
            )
        if text.startswith("<!--", pos):
            end, width = text.find("-->", pos + 4), 3
        elif text.startswith("<?", pos):
            end, width = text.find("?>", pos + 2), 2
        else:
            return
        if end < 0:
            return  # unterminated: the parser reports it with its position
        pos = end + width
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1


def _line_column(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _reject_parsed_dtd(tree: etree._ElementTree, *, file: str) -> None:
    # Reached only if the prolog scan missed a DOCTYPE (an encoding it cannot read);
    # the parser has not resolved anything, but the document is refused all the same.
    docinfo = tree.docinfo
    # libxml2 records an internal subset for every DOCTYPE, even one without brackets.
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected(f"{file}: {_DOCTYPE_HINT}", file=file, reason=REASON_DOCTYPE)


def _reject_too_deep(root: etree._Element, *, file: str, max_depth: int) -> None:
    # Explicit stack: a recursive walk would hit Python's recursion limit on the very
    # documents this check exists to refuse.
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise _too_deep(file, max_depth, _line_of(element))
        stack.extend((child, depth + 1) for child in element if isinstance(child.tag, str))


def _line_of(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def _too_deep(file: str, max_depth: int, line: int | None) -> XmlRejected:
    where = f"{file} line {line}" if line else file
    return XmlRejected(
        f"{where}: elements are nested more than {max_depth} levels deep; "
        "BPMN and DMN models never need this - check the file is the model you meant",
        file=file,
        line=line,
        reason=REASON_TOO_DEEP,
        max_depth=max_depth,
    )


def _translate_syntax_error(exc: etree.XMLSyntaxError, *, file: str, max_depth: int) -> XmlRejected:
    line, column = exc.position
    message = exc.msg or str(exc)
    if "Excessive depth" in message:
        return _too_deep(file, min(max_depth, MAX_XML_DEPTH), line)
    if "amplification" in message or "entity reference loop" in message:
        return XmlRejected(
            f"{file} line {line}: entity expansion refused; {_DOCTYPE_HINT}",
            file=file,
            line=line,
            column=column,
            reason=REASON_DOCTYPE,
        )
    # libxml2 appends ", line N, column M" to its message; we say where ourselves.
    detail = _POSITION_SUFFIX.sub("", message).rstrip(".")
    return XmlRejected(
        f"{file} line {line}, column {column}: not well-formed XML ({detail}); "
        "fix the file or export it again from the modeler",
        file=file,
        line=line,
        column=column,
        reason=REASON_MALFORMED,
    )
