"""OCEL 2.0 JSON: cases, uploaded documents and gateway decisions as objects.

Object types: ``case`` (one per dossier), ``document`` (a file uploaded with a task, by
content digest, per case) and ``decision`` (one per choice a diverging gateway made, with
the elements it took). Each event relates to its case (``case``), to the documents it
uploaded (``uploaded``) and to the decision it made (``decided``); documents and decisions
relate to their case (``part of``).

The JSON is written incrementally in two passes over the traces — objects, then events —
so memory holds one case at a time; the event types are collected on the way (one per
activity label, a handful per procedure) and written last.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from engine.export_traces import ExportEvent, ExportInfo, Trace, TraceSource, timestamp

_EPOCH = "1970-01-01T00:00:00.000+00:00"
_CASE_ATTRIBUTES = ("procedure", "procedure_version", "unit", "status", "outcome", "received_at")
OBJECT_TYPES = [
    {
        "name": "case",
        "attributes": [
            {"name": name, "type": "integer" if name == "procedure_version" else "string"}
            for name in _CASE_ATTRIBUTES
        ],
    },
    {
        "name": "document",
        "attributes": [
            {"name": "field", "type": "string"},
            {"name": "media_type", "type": "string"},
            {"name": "size", "type": "integer"},
            {"name": "sha256", "type": "string"},
        ],
    },
    {
        "name": "decision",
        "attributes": [{"name": "gateway", "type": "string"}, {"name": "taken", "type": "string"}],
    },
]
_EVENT_ATTRIBUTES = [
    {"name": "org:resource", "type": "string"},
    {"name": "org:role", "type": "string"},
    {"name": "lifecycle:transition", "type": "string"},
    {"name": "seq", "type": "integer"},
    {"name": "kind", "type": "string"},
    {"name": "element", "type": "string"},
]


def ocel_chunks(source: TraceSource, info: ExportInfo) -> Iterator[bytes]:
    """The OCEL 2.0 JSON document for the traces of ``source``, as UTF-8 chunks.

    ``info`` is unused: OCEL 2.0 has no log-level attributes.
    """
    del info
    yield b'{"objectTypes": ' + _json(OBJECT_TYPES) + b',\n"objects": ['
    separator = b"\n"
    for trace in source():
        for item in _objects(trace):
            yield separator + _json(item)
            separator = b",\n"
    yield b'],\n"events": ['
    separator = b"\n"
    activities: set[str] = set()
    for trace in source():
        for item in _events(trace):
            activities.add(item["type"])
            yield separator + _json(item)
            separator = b",\n"
    event_types = [{"name": name, "attributes": _EVENT_ATTRIBUTES} for name in sorted(activities)]
    yield b'],\n"eventTypes": ' + _json(event_types) + b"}\n"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _attributes(values: dict[str, Any], at: str) -> list[dict[str, Any]]:
    return [{"name": name, "time": at, "value": value} for name, value in values.items() if value is not None]


def _objects(trace: Trace) -> Iterator[dict[str, Any]]:
    header = trace.header
    case_values = {
        "procedure": header.procedure,
        "procedure_version": header.version,
        "unit": header.unit,
        "status": header.status,
        "outcome": header.outcome,
        "received_at": timestamp(header.received_at),
    }
    yield {"id": header.dossier_code, "type": "case", "attributes": _attributes(case_values, _EPOCH)}
    part_of = [{"objectId": header.dossier_code, "qualifier": "part of"}]
    seen: set[str] = set()
    for event in trace.events:
        for document in event.documents:
            object_id = _document_id(trace, document.digest)
            if object_id in seen:
                continue
            seen.add(object_id)
            values = {
                "field": document.field,
                "media_type": document.media_type,
                "size": document.size,
                "sha256": document.digest,
            }
            yield {
                "id": object_id,
                "type": "document",
                "attributes": _attributes(values, timestamp(event.at)),
                "relationships": part_of,
            }
    for event, decision_id in _decisions(trace):
        values = {"gateway": event.element, "taken": ", ".join(event.taken or ())}
        yield {
            "id": decision_id,
            "type": "decision",
            "attributes": _attributes(values, timestamp(event.at)),
            "relationships": part_of,
        }


def _events(trace: Trace) -> Iterator[dict[str, Any]]:
    code = trace.header.dossier_code
    decisions = {event.seq: decision_id for event, decision_id in _decisions(trace)}
    for event in trace.events:
        related = [{"objectId": code, "qualifier": "case"}]
        uploaded = dict.fromkeys(_document_id(trace, document.digest) for document in event.documents)
        related += [{"objectId": object_id, "qualifier": "uploaded"} for object_id in uploaded]
        if event.seq in decisions:
            related.append({"objectId": decisions[event.seq], "qualifier": "decided"})
        yield {
            "id": f"{code}#{event.seq}",
            "type": event.activity,
            "time": timestamp(event.at),
            "attributes": _event_attributes(event),
            "relationships": related,
        }


def _event_attributes(event: ExportEvent) -> list[dict[str, Any]]:
    values = {
        "org:resource": event.actor,
        "org:role": event.role,
        "lifecycle:transition": event.transition,
        "seq": event.seq,
        "kind": event.kind,
        "element": event.element,
    }
    return [{"name": name, "value": value} for name, value in values.items() if value is not None]


def _decisions(trace: Trace) -> Iterator[tuple[ExportEvent, str]]:
    """Decision events with stable ids (``<dossier>/<gateway>#<n>``, n per gateway)."""
    counts: Counter[str] = Counter()
    for event in trace.events:
        if event.taken is None or event.element is None:
            continue
        counts[event.element] += 1
        yield event, f"{trace.header.dossier_code}/{event.element}#{counts[event.element]}"


def _document_id(trace: Trace, digest: str) -> str:
    return f"{trace.header.dossier_code}/sha256:{digest}"
