from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from engine import xml_safety
from engine.errors import XmlRejected
from engine.xml_safety import (
    MAX_XML_BYTES,
    REASON_DOCTYPE,
    REASON_EMPTY,
    REASON_MALFORMED,
    REASON_TOO_DEEP,
    REASON_TOO_LARGE,
    parse_xml,
)

DATA = Path(__file__).parent.parent / "data" / "xml"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _everything_said(exc: BaseException) -> str:
    """All text an error carries along its chain: message, repr, structured details."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts += [str(current), repr(current), repr(getattr(current, "details", ""))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _reject(data: bytes | str, file: str = "upload.bpmn", **limits: int) -> XmlRejected:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(data, file=file, **limits)
    return caught.value


def _line(element: etree._Element) -> object:
    # lxml-stubs type sourceline as "..."; it is an int at runtime.
    line: object = element.sourceline
    return line


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    marker = "ONESTOP-SECRET-7f3a9c"
    path = tmp_path / "secret.txt"
    path.write_text(f"{marker}\n", encoding="utf-8")
    return path, marker


def test_reference_bpmn_parses_with_source_lines() -> None:
    tree = parse_xml((DATA / "miwg-A.1.0.bpmn").read_bytes(), file="A.1.0.bpmn")

    root = tree.getroot()
    assert root.tag == f"{{{BPMN_NS}}}definitions"
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None
    assert process.get("id") == "WFP-6-"
    assert _line(process) == 3
    start = process.find(f"{{{BPMN_NS}}}startEvent")
    assert start is not None
    assert _line(start) == 4


def test_xxe_reading_etc_passwd_is_rejected_before_parsing() -> None:
    exc = _reject((DATA / "xxe_file.bpmn").read_bytes(), file="process.bpmn")

    assert exc.details["reason"] == REASON_DOCTYPE
    assert exc.details["line"] == 3
    assert exc.details["file"] == "process.bpmn"
    assert str(exc).startswith("process.bpmn line 3: DOCTYPE declarations are not allowed")
    assert "remove the <!DOCTYPE ...> line" in str(exc)
    said = _everything_said(exc)
    assert "root:" not in said
    passwd = Path("/etc/passwd")
    if passwd.exists():
        for line in passwd.read_text(encoding="utf-8", errors="replace").splitlines():
            assert line not in said


def test_xxe_content_never_reaches_tree_even_without_the_dtd_checks(
    monkeypatch: pytest.MonkeyPatch, secret_file: tuple[Path, str]
) -> None:
    # Switch off both DOCTYPE checks to prove the parser itself resolves nothing:
    # each layer must hold on its own.
    monkeypatch.setattr(xml_safety, "_reject_doctype_in_prolog", lambda raw, *, file: None)
    monkeypatch.setattr(xml_safety, "_reject_parsed_dtd", lambda tree, *, file: None)
    path, marker = secret_file
    document = (
        f'<!DOCTYPE r [<!ENTITY s SYSTEM "{path.as_uri()}">]>\n<r a="x"><script>&s;</script></r>'
    ).encode()

    tree = parse_xml(document, file="p.bpmn")

    serialized = etree.tostring(tree, encoding="unicode")
    texts = "".join(str(text) for text in tree.getroot().itertext())
    assert marker not in serialized
    assert marker not in texts


def test_doctype_missed_by_prolog_scan_is_caught_after_parsing(
    monkeypatch: pytest.MonkeyPatch, secret_file: tuple[Path, str]
) -> None:
    monkeypatch.setattr(xml_safety, "_reject_doctype_in_prolog", lambda raw, *, file: None)
    path, marker = secret_file
    document = f'<!DOCTYPE r [<!ENTITY s SYSTEM "{path.as_uri()}">]>\n<r>&s;</r>'

    exc = _reject(document.encode())

    assert exc.details["reason"] == REASON_DOCTYPE
    assert marker not in _everything_said(exc)


def test_doctype_in_utf16_document_is_found_by_prolog_scan(
    secret_file: tuple[Path, str],
) -> None:
    path, marker = secret_file
    document = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<!DOCTYPE r [<!ENTITY s SYSTEM "{path.as_uri()}">]>\n<r>&s;</r>'
    )

    exc = _reject(document.encode("utf-16"))

    assert exc.details["reason"] == REASON_DOCTYPE
    assert exc.details["line"] == 2
    assert marker not in _everything_said(exc)


@pytest.mark.parametrize(
    ("fixture", "line"),
    [("xxe_parameter_entity.bpmn", 2), ("external_dtd.bpmn", 3)],
)
def test_parameter_entities_and_external_dtds_are_rejected(fixture: str, line: int) -> None:
    exc = _reject((DATA / fixture).read_bytes(), file=fixture)

    assert exc.details["reason"] == REASON_DOCTYPE
    assert exc.details["line"] == line
    assert "root:" not in _everything_said(exc)


def test_billion_laughs_is_rejected_fast_without_expansion() -> None:
    data = (DATA / "billion_laughs.bpmn").read_bytes()

    started = time.perf_counter()
    exc = _reject(data)
    elapsed = time.perf_counter() - started

    assert exc.details["reason"] == REASON_DOCTYPE
    assert elapsed < 0.5
    assert "lollol" not in _everything_said(exc)


def test_billion_laughs_is_stopped_by_the_parser_as_well(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml_safety, "_reject_doctype_in_prolog", lambda raw, *, file: None)

    started = time.perf_counter()
    exc = _reject((DATA / "billion_laughs.bpmn").read_bytes())

    assert time.perf_counter() - started < 0.5
    assert exc.details["reason"] == REASON_DOCTYPE


def test_oversized_file_is_rejected_before_parsing() -> None:
    # Not well formed and with a DOCTYPE: only a size check that runs first says "too large".
    document = b"<!DOCTYPE r [<!ENTITY x 'y'>]><r>" + b"x" * 200

    exc = _reject(document, max_bytes=100)

    assert exc.details["reason"] == REASON_TOO_LARGE
    assert "larger than 100 bytes" in str(exc)


def test_default_size_limit_is_five_mebibytes() -> None:
    body = b"<r>" + b"x" * (MAX_XML_BYTES - len(b"<r></r>")) + b"</r>"
    assert len(body) == MAX_XML_BYTES
    assert parse_xml(body, file="big.bpmn").getroot().tag == "r"

    exc = _reject(body + b" ")
    assert exc.details["reason"] == REASON_TOO_LARGE


def test_size_limit_counts_utf8_bytes_of_text_input() -> None:
    text = "<r>" + "ก" * 40 + "</r>"  # 47 characters, 127 bytes in UTF-8

    exc = _reject(text, max_bytes=100)

    assert exc.details["reason"] == REASON_TOO_LARGE


def test_nesting_deeper_than_max_depth_is_rejected_with_line() -> None:
    depth = 11
    document = "\n".join(f"<e{i}>" for i in range(depth)) + "".join(
        f"</e{i}>" for i in reversed(range(depth))
    )

    exc = _reject(document, max_depth=10)

    assert exc.details["reason"] == REASON_TOO_DEEP
    assert exc.details["line"] == 11
    assert "nested more than 10 levels" in str(exc)
    assert parse_xml(document, file="ok.bpmn", max_depth=11).getroot().tag == "e0"


def test_nesting_beyond_default_limit_is_rejected() -> None:
    exc = _reject(b"<a>" * 5000 + b"</a>" * 5000)

    assert exc.details["reason"] == REASON_TOO_DEEP
    assert "nested more than 256 levels" in str(exc)


def test_malformed_xml_reports_line_and_column() -> None:
    exc = _reject((DATA / "malformed.bpmn").read_bytes(), file="malformed.bpmn")

    assert exc.details == {
        "file": "malformed.bpmn",
        "line": 7,
        "column": 15,
        "reason": REASON_MALFORMED,
    }
    assert str(exc).startswith("malformed.bpmn line 7, column 15: not well-formed XML")
    assert "userTsk" in str(exc)
    assert "), line" not in str(exc)


def test_undefined_entity_is_a_well_formedness_error() -> None:
    exc = _reject("<r>\n  &nbsp;\n</r>")

    assert exc.details["reason"] == REASON_MALFORMED
    assert exc.details["line"] == 2


@pytest.mark.parametrize("data", [b"", b"  \n", ""])
def test_empty_upload_is_rejected(data: bytes | str) -> None:
    assert _reject(data).details["reason"] == REASON_EMPTY


def test_text_with_encoding_declaration_parses() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<r name="Đăng ký">é ก</r>'

    root = parse_xml(text, file="decl.bpmn").getroot()

    assert root.text == "é ก"
    assert root.get("name") == "Đăng ký"


def test_text_that_cannot_be_encoded_is_rejected() -> None:
    assert _reject("<r>\ud800</r>").details["reason"] == REASON_MALFORMED


def test_utf16_and_latin1_bytes_parse() -> None:
    text = '<?xml version="1.0" encoding="{}"?>\n<r>é</r>'

    utf16 = parse_xml(text.format("UTF-16").encode("utf-16"), file="a.bpmn")
    latin1 = parse_xml(text.format("ISO-8859-1").encode("latin-1"), file="b.bpmn")

    assert utf16.getroot().text == latin1.getroot().text == "é"


def test_comments_processing_instructions_and_cdata_are_kept() -> None:
    document = (
        b'<?xml version="1.0"?>\n<!-- exported by modeler -->\n'
        b"<r><!-- note --><?app hint?><s><![CDATA[if a < b: pass]]></s></r>"
    )

    tree = parse_xml(document, file="c.bpmn")

    serialized = etree.tostring(tree)
    assert b"<!-- exported by modeler -->" in serialized
    assert b"<!-- note -->" in serialized
    assert b"<?app hint?>" in serialized
    assert b"<![CDATA[if a < b: pass]]>" in serialized


def test_doctype_text_inside_body_is_not_mistaken_for_a_declaration() -> None:
    document = b"<r><!-- <!DOCTYPE x> --><s><![CDATA[<!DOCTYPE html>]]></s></r>"

    tree = parse_xml(document, file="d.bpmn")

    assert tree.getroot().findtext("s") == "<!DOCTYPE html>"


def test_doctype_after_prolog_comment_and_bom_reports_its_line() -> None:
    document = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a\n b -->\n<!DOCTYPE r>\n<r/>'

    exc = _reject(document)

    assert exc.details["reason"] == REASON_DOCTYPE
    assert exc.details["line"] == 4
    assert exc.details["column"] == 1
