"""Case histories exported for process mining: XES, CSV and OCEL 2.0, streamed."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import insert, select

from engine import OneStop
from engine.attachments import Upload
from engine.errors import InputRejected, PermissionDenied, ProcedureNotFound
from engine.export_csv import COLUMNS, csv_chunks, neutralised
from engine.export_traces import ExportEvent, ExportInfo, Trace, TraceHeader
from engine.persistence.models import Case, CaseEvent, OrgUnit, ProcedureVersion
from tests.conftest import PROCEDURES, T0
from tests.procedures.driver import CaseDriver
from tests.procedures.permit_paths import (
    amended_then_refused,
    drive,
    issued,
    lapsed_unpaid,
    returned_without_supplement,
    supplied_then_issued,
)
from tests.procedures.test_building_permit import (
    COMPLETE,
    review_and_approve,
)

XES = "{http://www.xes-standard.org/}"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def export(onestop: OneStop, fmt: str, actor: str = "lan", **options: Any) -> bytes:
    return b"".join(onestop.exports.stream(actor, fmt, "building_permit", now=T0, **options))  # type: ignore[arg-type]


def with_upload(d: CaseDriver) -> None:
    d.tick()
    item = d.item("check_completeness")
    files = {"id_card_copy": [Upload("Somchai ID card.pdf", PDF)]}
    d.onestop.cases.complete("somchai", item.id, d.now, COMPLETE, files=files)
    review_and_approve(d)


def test_xes_declares_its_extensions_and_every_event_carries_the_standard_keys(onestop: OneStop) -> None:
    code = drive(onestop, issued)
    root = etree.fromstring(export(onestop, "xes"))
    assert root.tag == f"{XES}log" and root.get("xes.version") == "1849-2016"
    assert {e.get("prefix") for e in root.findall(f"{XES}extension")} == {
        "concept",
        "time",
        "org",
        "lifecycle",
    }
    (trace,) = root.findall(f"{XES}trace")
    header = {a.get("key"): a.get("value") for a in trace if a.tag != f"{XES}event"}
    assert header["concept:name"] == code
    assert (header["procedure"], header["procedure_version"], header["unit"]) == (
        "building_permit",
        "1",
        "TH.50.01",
    )
    assert (header["status"], header["outcome"]) == ("completed", "Permit issued")
    events = [{a.get("key"): a.get("value") for a in event} for event in trace.findall(f"{XES}event")]
    standard = {"concept:name", "time:timestamp", "org:resource", "lifecycle:transition"}
    assert all(standard <= set(event) for event in events)
    assert [e["onestop:seq"] for e in events] == [str(n) for n in range(1, len(events) + 1)]
    approval = [e for e in events if e.get("onestop:element") == "approval"]
    assert [(e["concept:name"], e["lifecycle:transition"], e.get("org:role")) for e in approval] == [
        ("Decide on the permit", "schedule", "approver"),
        ("Decide on the permit", "complete", "approver"),
    ]
    assert all(e["time:timestamp"].endswith("+00:00") for e in events)
    assert b"Somchai Jaidee" not in export(onestop, "xes")  # form values never travel


def test_csv_has_the_mining_columns_one_row_per_event_and_rfc4180_line_ends(onestop: OneStop) -> None:
    code = drive(onestop, issued)
    raw = export(onestop, "csv")
    assert raw.count(b"\r\n") == len(raw.splitlines())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert tuple(rows[0]) == COLUMNS
    events = onestop.queries.events("system", code)
    assert len(rows) - 1 == sum(e.kind != "timers_due" for e in events)
    assert {row[0] for row in rows[1:]} == {code}


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    assert [neutralised(c) for c in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "plain", "")] == [
        "'=1+1",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "plain",
        "",
    ]
    header = TraceHeader('=HYPERLINK("http://x")', "p", 1, "U", "completed", "-bad", T0, None)
    event = ExportEvent(1, T0, "@evil", "case_started", None, "Case received", None, "complete")
    info = ExportInfo("p", T0, "all")
    rows = list(
        csv.reader(io.StringIO(b"".join(csv_chunks(lambda: iter([Trace(header, (event,))]), info)).decode()))
    )
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert rows[1][3] == "'@evil" and rows[1][10] == "'-bad"


def test_ocel_relates_events_to_their_case_documents_and_decisions(onestop: OneStop) -> None:
    code = drive(onestop, with_upload)
    raw = export(onestop, "ocel")
    assert b"Somchai ID card" not in raw  # file names may name people
    log = json.loads(raw)
    assert {t["name"] for t in log["objectTypes"]} == {"case", "document", "decision"}
    objects = {o["id"]: o for o in log["objects"]}
    by_type = {
        kind: [o for o in objects.values() if o["type"] == kind] for kind in ("case", "document", "decision")
    }
    assert [o["id"] for o in by_type["case"]] == [code]
    assert len(by_type["document"]) == 1 and by_type["decision"]
    assert all(
        o["relationships"] == [{"objectId": code, "qualifier": "part of"}]
        for o in by_type["document"] + by_type["decision"]
    )
    qualifiers = {r["qualifier"] for e in log["events"] for r in e["relationships"]}
    assert qualifiers == {"case", "uploaded", "decided"}
    assert all(r["objectId"] in objects for e in log["events"] for r in e["relationships"])
    assert {e["type"] for e in log["events"]} == {t["name"] for t in log["eventTypes"]}
    decided = [e for e in log["events"] if any(r["qualifier"] == "decided" for r in e["relationships"])]
    assert {e["type"] for e in decided} >= {"Dossier complete?", "Amendments needed?"}


def test_date_filters_select_cases_by_their_receipt_day(onestop: OneStop) -> None:
    first = drive(onestop, issued)
    second = drive(onestop, issued, start=T0 + timedelta(days=3))

    def traces(**window: date) -> list[str]:
        root = etree.fromstring(export(onestop, "xes", **window))
        return [t.find(f"{XES}string[@key='concept:name']").get("value") for t in root.iter(f"{XES}trace")]  # type: ignore[union-attr]

    assert traces() == [first, second]
    assert traces(since=date(2026, 3, 3)) == [second]
    assert traces(until=date(2026, 3, 4)) == [first]
    assert traces(since=date(2026, 3, 2), until=date(2026, 3, 2)) == [first]
    with pytest.raises(InputRejected, match="ends before it starts"):
        onestop.exports.stream(
            "lan", "csv", "building_permit", since=date(2026, 3, 5), until=date(2026, 3, 1), now=T0
        )


def test_only_auditors_admins_and_the_system_may_export(onestop: OneStop) -> None:
    drive(onestop, issued)
    for actor in ("lan", "admin", "system"):
        assert export(onestop, "csv", actor=actor)
    for actor in ("niran", "nobody"):
        with pytest.raises(PermissionDenied):
            onestop.exports.stream(actor, "xes", "building_permit", now=T0)
    with pytest.raises(ProcedureNotFound):
        onestop.exports.stream("lan", "xes", "no_such_procedure", now=T0)
    with pytest.raises(InputRejected):
        onestop.exports.stream("lan", "pdf", "building_permit", now=T0)  # type: ignore[arg-type]


def test_an_export_without_cases_is_still_a_valid_document(onestop: OneStop) -> None:
    root = etree.fromstring(export(onestop, "xes"))
    assert root.findall(f"{XES}trace") == [] and root.findall(f"{XES}extension")
    assert export(onestop, "csv").decode().splitlines() == [",".join(COLUMNS)]
    assert json.loads(export(onestop, "ocel"))["events"] == []


def add_synthetic_cases(onestop: OneStop, cases: int, events_each: int, first: int) -> None:
    """Insert finished-looking cases and their events in bulk (no workflow runs)."""
    with onestop.db.engine.begin() as connection:
        version = connection.scalar(select(ProcedureVersion.id))
        unit = connection.scalar(select(OrgUnit.id).where(OrgUnit.code == "TH.50.01"))
        case_rows = [
            {
                "uid": f"00000000-0000-0000-0000-{n:012d}",
                "dossier_code": f"SYN-{n:06d}",
                "procedure_version_id": version,
                "org_unit_id": unit,
                "applicant": {},
                "status": "completed",
                "outcome": "Permit issued",
                "current_step": "",
                "received_at": T0,
                "updated_at": T0,
                "version": events_each,
                "last_seq": events_each,
                "last_hash": "0" * 64,
                "snapshot": "",
                "snapshot_seq": 0,
                "commands_since_snapshot": 0,
            }
            for n in range(first, first + cases)
        ]
        connection.execute(insert(Case), case_rows)
        ids = connection.scalars(
            select(Case.id).where(Case.dossier_code.in_([r["dossier_code"] for r in case_rows]))
        )
        payload = json.dumps({"ref": "plan_review#1", "data": {"review_notes": "x" * 200}})
        connection.execute(
            insert(CaseEvent),
            [
                {
                    "case_id": case_id,
                    "seq": seq,
                    "at": T0 + timedelta(minutes=seq),
                    "actor": "niran",
                    "kind": "task_completed",
                    "element_id": "plan_review",
                    "payload": payload,
                    "prev_hash": "0" * 64,
                    "hash": "0" * 64,
                }
                for case_id in ids.all()
                for seq in range(1, events_each + 1)
            ],
        )


def peak_while_exporting(onestop: OneStop, fmt: str) -> tuple[int, int]:
    tracemalloc.start()
    try:
        stream = onestop.exports.stream("lan", fmt, "building_permit", now=T0)  # type: ignore[arg-type]
        size = sum(len(chunk) for chunk in stream)
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_history_grows(sqlite_url: str) -> None:
    """1k and then 4k synthetic events (bulk-inserted, no workflow runs): in every format
    the peak barely moves though the output quadruples."""
    from designer.packages import read_package
    from tests.conftest import make_onestop

    formats = ("xes", "csv", "ocel")
    onestop = make_onestop(sqlite_url)
    try:
        package = read_package(PROCEDURES / "building_permit")
        onestop.procedures.import_package("admin", package, T0, publish=True)
        add_synthetic_cases(onestop, 10, 100, first=0)
        for fmt in formats:  # warms caches (compiled spec, prepared statements)
            b"".join(onestop.exports.stream("lan", fmt, "building_permit", now=T0))  # type: ignore[arg-type]
        small = {fmt: peak_while_exporting(onestop, fmt) for fmt in formats}
        add_synthetic_cases(onestop, 30, 100, first=10)
        large = {fmt: peak_while_exporting(onestop, fmt) for fmt in formats}
    finally:
        onestop.close()
    for fmt in formats:
        (small_peak, small_size), (large_peak, large_size) = small[fmt], large[fmt]
        assert large_size > 3.5 * small_size, fmt
        assert large_peak < 1.3 * small_peak, (fmt, small_peak, large_peak)


def test_chunks_are_produced_case_by_case_while_the_database_is_read(onestop: OneStop) -> None:
    add_synthetic_cases(onestop, 20, 10, first=0)
    stream = onestop.exports.stream("lan", "xes", "building_permit", now=T0)
    assert (stream.cases, stream.events) == (0, 0)  # nothing read before the first chunk is asked for
    head = next(stream)
    assert b"<extension" in head and b"<trace" not in head
    first_trace = next(stream)
    assert first_trace.count(b"<trace>") == 1 and (stream.cases, stream.events) == (1, 10)
    rest = b"".join(stream)
    assert rest.count(b"<trace>") == 19 and (stream.cases, stream.events) == (20, 200)


def _inline_subprocesses(process: Any) -> None:
    """Replace each embedded subprocess by its content (see :func:`petri_net_of`)."""
    for sub in process.findall(f"{{{BPMN}}}subProcess"):
        sub_id = sub.get("id")
        for side in process.findall(
            f"{{{BPMN}}}boundaryEvent[@attachedToRef='{sub_id}'][@cancelActivity='false']"
        ):
            doomed, frontier = set(), [side.get("id")]
            while frontier:
                node = frontier.pop()
                doomed.add(node)
                for flow in process.findall(f"{{{BPMN}}}sequenceFlow[@sourceRef='{node}']"):
                    frontier.append(flow.get("targetRef"))
                    process.remove(flow)
            for element in list(process):
                if element.get("id") in doomed:
                    process.remove(element)
        start = sub.find(f"{{{BPMN}}}startEvent")
        end = sub.find(f"{{{BPMN}}}endEvent")
        for flow in process.findall(f"{{{BPMN}}}sequenceFlow[@targetRef='{sub_id}']"):
            flow.set("targetRef", start.get("id"))
        for flow in process.findall(f"{{{BPMN}}}sequenceFlow[@sourceRef='{sub_id}']"):
            flow.set("sourceRef", end.get("id"))
        for event in (start, end):
            event.tag = f"{{{BPMN}}}task"
            event.attrib.pop("name", None)
        for child in list(sub):
            if child.tag not in (f"{{{BPMN}}}incoming", f"{{{BPMN}}}outgoing", f"{{{BPMN}}}documentation"):
                process.append(child)
        process.remove(sub)


def petri_net_of(bpmn_path: Path, work: Path) -> Any:
    """The procedure's own BPMN as a Petri net, via PM4Py's BPMN converter.

    PM4Py converts tasks, start/end events and exclusive, parallel and inclusive gateways;
    it drops intermediate catch events, event-based gateways and boundary events, which
    would cut the supplement and lapse paths out of the net. Before conversion they are
    rewritten into what they mean for control flow, nothing discovered from the log:
    an event-based gateway is a (deferred) exclusive choice; a catch event is a silent step
    (an unnamed task, which PM4Py leaves unlabelled); an interrupting boundary event on a
    task is a choice, where the task would start, between doing the task and the event.
    PM4Py does not read embedded subprocesses either: each is inlined (its start and end
    become silent steps), and the non-interrupting boundary event on it (the delay notices,
    a side path none of these cases reaches) is left out with what follows it.
    """
    import pm4py

    tree = etree.parse(str(bpmn_path))
    process = tree.find(f"{{{BPMN}}}process")
    assert process is not None
    _inline_subprocesses(process)
    for gateway in process.findall(f"{{{BPMN}}}eventBasedGateway"):
        gateway.tag = f"{{{BPMN}}}exclusiveGateway"
    for event in process.findall(f"{{{BPMN}}}intermediateCatchEvent"):
        event.tag = f"{{{BPMN}}}task"
        event.attrib.pop("name", None)
    for event in process.findall(f"{{{BPMN}}}boundaryEvent"):
        task = event.attrib.pop("attachedToRef")
        event.tag = f"{{{BPMN}}}task"
        event.attrib.pop("name", None)
        choice = etree.SubElement(process, f"{{{BPMN}}}exclusiveGateway", id=f"choice_{task}")
        for flow in process.findall(f"{{{BPMN}}}sequenceFlow[@targetRef='{task}']"):
            flow.set("targetRef", choice.get("id"))
        for target in (task, event.get("id")):
            etree.SubElement(
                process,
                f"{{{BPMN}}}sequenceFlow",
                id=f"flow_choice_{target}",
                sourceRef=choice.get("id"),
                targetRef=target,
            )
    rewritten = work / "process.bpmn"
    tree.write(str(rewritten))
    return pm4py.convert_to_petri_net(pm4py.read_bpmn(str(rewritten)))


@pytest.mark.filterwarnings("ignore::UserWarning:pm4py")  # advice to install faster optional backends
def test_pm4py_replays_the_exported_log_on_the_procedures_own_model(onestop: OneStop, tmp_path: Path) -> None:
    """Five cases along the permit's paths (issued, supplied, amended and refused, returned
    after the supplement timer, lapsed on the boundary timer), exported with ``activities="tasks"``
    — task completions labelled with the BPMN task names PM4Py gives its transitions — fit
    the model perfectly; dropping one approval from the log breaks the fit."""
    import pm4py

    paths = [issued, supplied_then_issued, amended_then_refused, returned_without_supplement, lapsed_unpaid]
    for n, path in enumerate(paths):
        drive(onestop, path, start=T0 + timedelta(days=n))
    log_path = tmp_path / "permit.xes"
    log_path.write_bytes(export(onestop, "xes", activities="tasks"))
    net, initial, final = petri_net_of(PROCEDURES / "building_permit" / "process.bpmn", tmp_path)
    labels = {t.label for t in net.transitions if t.label}
    log = pm4py.read_xes(str(log_path), return_legacy_log_object=True)
    assert {event["concept:name"] for trace in log for event in trace} <= labels

    honest = pm4py.fitness_token_based_replay(log, net, initial, final)
    assert honest["log_fitness"] == pytest.approx(1.0), honest

    tampered = etree.parse(str(log_path))
    approval = tampered.xpath(
        "//x:event[x:string[@key='concept:name' and @value='Decide on the permit']]",
        namespaces={"x": XES[1:-1]},
    )[0]
    approval.getparent().remove(approval)
    tampered.write(str(log_path))
    broken = pm4py.fitness_token_based_replay(
        pm4py.read_xes(str(log_path), return_legacy_log_object=True), net, initial, final
    )
    assert broken["log_fitness"] < 1.0, broken
    print(
        f"PM4Py token-based replay fitness: honest {honest['log_fitness']:.4f}, without one approval {broken['log_fitness']:.4f}"
    )
