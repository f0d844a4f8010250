"""IEEE 1849-2016 XES, written trace by trace.

The log declares the Concept, Time, Organizational and Lifecycle extensions, global
defaults for the keys every trace and event carries, and two classifiers (activity;
activity and transition). Each chunk yielded is one trace, so memory holds one case.
The markup is fixed and every value goes through :func:`escaped`, which is several times
faster than building an element tree per event on long histories.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from engine.export_traces import ExportEvent, ExportInfo, Trace, TraceHeader, TraceSource, timestamp

XES_NAMESPACE = "http://www.xes-standard.org/"
EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
_EPOCH = "1970-01-01T00:00:00.000+00:00"
_GLOBALS = {
    "trace": (("string", "concept:name", "UNKNOWN"),),
    "event": (
        ("string", "concept:name", "UNKNOWN"),
        ("date", "time:timestamp", _EPOCH),
        ("string", "org:resource", "UNKNOWN"),
        ("string", "lifecycle:transition", "complete"),
    ),
}


_ESCAPES: dict[int, str | None] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
_ESCAPES |= {ord(c): f"&#{ord(c)};" for c in "\t\n\r"}
# XML 1.0 cannot carry the other C0 control characters at all, not even as references.
_ESCAPES |= {code: None for code in range(0x20) if chr(code) not in "\t\n\r"}


def xes_chunks(source: TraceSource, info: ExportInfo) -> Iterator[bytes]:
    """The XES document for the traces of ``source``, as UTF-8 chunks."""
    yield _head(info).encode("utf-8")
    for trace in source():
        yield _trace(trace).encode("utf-8")
    yield b"</log>\n"


@lru_cache(maxsize=4096)
def escaped(value: str) -> str:
    """``value`` made safe inside a double-quoted XML attribute (cached: labels, actors and
    kinds repeat on every event)."""
    return value.translate(_ESCAPES)


def _attribute(kind: str, key: str, value: str) -> str:
    # Dates and numbers are formatted here and need no escaping.
    shown = escaped(value) if kind == "string" else value
    return f'<{kind} key="{key}" value="{shown}"/>'


def _head(info: ExportInfo) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<log xmlns="{XES_NAMESPACE}" xes.version="1849-2016" xes.features="">\n',
    ]
    parts += [f'<extension name="{n}" prefix="{p}" uri="{u}"/>\n' for n, p, u in EXTENSIONS]
    for scope, attributes in _GLOBALS.items():
        declared = "".join(_attribute(*attribute) for attribute in attributes)
        parts.append(f'<global scope="{scope}">{declared}</global>\n')
    parts.append('<classifier name="Activity" keys="concept:name"/>\n')
    parts.append('<classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>\n')
    parts += [
        _attribute("string", "concept:name", f"OneStop {info.procedure}"),
        _attribute("string", "onestop:procedure", info.procedure),
        _attribute("string", "onestop:activities", info.scope),
        _attribute("date", "onestop:exported_at", timestamp(info.exported_at)),
        "\n",
    ]
    return "".join(parts)


def _trace(trace: Trace) -> str:
    parts = ["<trace>"]
    parts += [_attribute(*attribute) for attribute in _case_attributes(trace.header)]
    parts += [_event(event) for event in trace.events]
    parts.append("</trace>\n")
    return "".join(parts)


def _case_attributes(header: TraceHeader) -> Iterator[tuple[str, str, str]]:
    yield "string", "concept:name", header.dossier_code
    yield "string", "procedure", header.procedure
    yield "int", "procedure_version", str(header.version)
    yield "string", "unit", header.unit
    yield "string", "status", header.status
    if header.outcome is not None:
        yield "string", "outcome", header.outcome
    yield "date", "received_at", timestamp(header.received_at)
    if header.closed_at is not None:
        yield "date", "closed_at", timestamp(header.closed_at)


def _event(event: ExportEvent) -> str:
    parts = [
        "\n<event>",
        _attribute("string", "concept:name", event.activity),
        _attribute("date", "time:timestamp", timestamp(event.at)),
        _attribute("string", "org:resource", event.actor),
        _attribute("string", "lifecycle:transition", event.transition),
    ]
    if event.role:
        parts.append(_attribute("string", "org:role", event.role))
    parts.append(_attribute("int", "onestop:seq", str(event.seq)))
    parts.append(_attribute("string", "onestop:kind", event.kind))
    if event.element:
        parts.append(_attribute("string", "onestop:element", event.element))
    parts.append("</event>")
    return "".join(parts)
