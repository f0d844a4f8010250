"""SLA reports on hand-built building-permit cases (45 calendar days), every figure counted
by hand. Times are Bangkok (UTC+7); the deadline of a case received on day D is D + 45,
and it is late from local midnight after that day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from designer.packages import read_package
from engine import OneStop
from engine.errors import InputRejected, OrgUnitNotFound, PermissionDenied, ProcedureNotFound
from engine.open_data import OPEN_DATA_COLUMNS, open_data_csv
from tests.conftest import PROCEDURES, T0, make_onestop
from tests.procedures.driver import CaseDriver
from tests.procedures.test_building_permit import APPROVE, COMPLETE, ISSUE, PAY, PLAN_OK, SITE

BKK = ZoneInfo("Asia/Bangkok")
ZONE = "Asia/Bangkok"
NOW = datetime(2026, 4, 29, 12, 0, tzinfo=BKK)
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 4, 1), "zone": ZONE, "now": NOW}


def bkk(month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    """A Bangkok time in 2026 (half past the hour unless told)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BKK)


def issued(onestop: OneStop, received: datetime, closed: datetime) -> str:
    """A permit issued at ``closed``; every earlier step 5 minutes after the previous one
    (so ``issue_permit`` is ready 25 minutes after receipt)."""
    d = CaseDriver(onestop, received, reload_each_step=False)
    d.start("building_permit")
    for element, data in (
        ("check_completeness", COMPLETE),
        ("site_visit", SITE),
        ("plan_review", PLAN_OK),
        ("approval", APPROVE),
        ("record_payment", PAY),
    ):
        d.complete(element, data)
    d.now = closed - timedelta(minutes=5)
    d.complete("issue_permit", ISSUE)
    return d.code


def in_review(onestop: OneStop, received: datetime) -> str:
    """Completeness checked 5 minutes after receipt; site visit and plan review open."""
    d = CaseDriver(onestop, received, reload_each_step=False)
    d.start("building_permit")
    d.complete("check_completeness", COMPLETE)
    return d.code


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[OneStop, dict[str, str]]]:
    onestop = make_onestop(database_url)
    onestop.procedures.import_package("admin", read_package(PROCEDURES / "building_permit"), T0, publish=True)
    onestop.directory.ensure_user(username="nogrant", display_name="No grant", grants=[])
    codes = {
        # received in February
        "A": issued(onestop, bkk(2, 2), bkk(3, 10, 10)),  # due 19 Mar; closed 10 Mar: early
        "B": issued(onestop, bkk(2, 2, 10), bkk(3, 19, 14)),  # due 19 Mar; closed that day: on time
        "C": issued(onestop, bkk(2, 3), bkk(3, 25, 10)),  # due 20 Mar; closed 25 Mar: late
        "D": issued(onestop, bkk(2, 5), bkk(2, 20, 10)),  # due 22 Mar; closed 20 Feb: early, in Feb
        "E": in_review(onestop, bkk(2, 10)),  # due 27 Mar; still open: late
        "L": issued(onestop, bkk(2, 4), bkk(4, 3, 10)),  # due 21 Mar; closed 3 Apr: late in April
        # received in March
        "G": issued(onestop, bkk(3, 3), bkk(3, 20, 10)),  # due 17 Apr; closed 20 Mar: early
        "K": issued(onestop, bkk(3, 4), bkk(4, 5, 10)),  # due 18 Apr; closed 5 Apr: early, in April
        "H": in_review(onestop, bkk(3, 16)),  # due 30 Apr: nearly late at NOW (36 h left)
    }
    f = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0, {})
    onestop.cases.cancel("somchai", f.dossier_code, "Applicant withdrew", bkk(3, 5))
    codes["F"] = f.dossier_code  # received 2 Mar, withdrawn 5 Mar
    i = onestop.cases.start_case("malee", "building_permit", "TH.50.02", bkk(3, 20), {})
    codes["I"] = i.dossier_code  # San Sai, due 4 May: open, not nearly late
    yield onestop, codes
    onestop.close()


def test_march_summary_counts_every_case_by_hand(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, _ = world
    summary = onestop.sla.summary("lan", **MARCH)
    total = summary.total
    # Alive in March: A B C E L (carried over) and F G H I K (received); D closed in February.
    assert (total.received, total.carried_over, total.to_process) == (5, 5, 10)
    # Completed in March: A early, B on time, C late, G early. F is withdrawn, not processed.
    assert (total.processed, total.early, total.on_time, total.late) == (4, 2, 1, 1)
    assert (total.no_deadline, total.withdrawn) == (0, 1)
    # Open and late at 1 Apr 00:00: E (due 27 Mar) and L (due 21 Mar, closed only on 3 Apr).
    assert total.late_open == 2
    assert total.on_time_rate == pytest.approx(3 / 4)  # (2 early + 1 on time) / 4 processed
    assert total.late_rate == pytest.approx(3 / 10)  # (2 late open + 1 late) / 10 to process
    assert summary.as_of == bkk(4, 1, 0, 0)
    units = {row.label: row for row in summary.by_unit}
    assert set(units) == {"TH.50.01", "TH.50.02"}
    assert (units["TH.50.01"].received, units["TH.50.01"].to_process) == (4, 9)
    assert (units["TH.50.02"].received, units["TH.50.02"].to_process, units["TH.50.02"].late_rate) == (
        1,
        1,
        0,
    )
    assert [row.label for row in summary.by_month] == ["2026-03"]
    assert summary.by_month[0].processed == 4


def test_months_split_the_period_and_open_cases_are_judged_at_each_month_end(
    world: tuple[OneStop, dict[str, str]],
) -> None:
    onestop, _ = world
    summary = onestop.sla.summary("admin", start=date(2026, 2, 1), end=date(2026, 4, 1), zone=ZONE, now=NOW)
    february, march = summary.by_month
    # February: A B C D E L received; D processed early; nothing due before 1 Mar.
    assert (february.received, february.carried_over, february.processed, february.early) == (6, 0, 1, 1)
    assert (february.late_open, february.late_rate, february.on_time_rate) == (0, 0, 1.0)
    assert (march.carried_over, march.received, march.late_open) == (5, 5, 2)
    # The whole period: 6 + 5 received; processed D in February and A B C G in March,
    # of which A, D and G early.
    assert (summary.total.received, summary.total.processed, summary.total.early) == (11, 5, 3)


def test_an_unfinished_period_judges_open_cases_now(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, _ = world
    # April up to NOW (29 Apr noon): L and K processed (L late, K early); E late open;
    # H due 30 Apr is not late yet.
    summary = onestop.sla.summary("lan", start=date(2026, 4, 1), end=date(2026, 5, 1), zone=ZONE, now=NOW)
    assert summary.as_of == NOW
    assert (summary.total.processed, summary.total.early, summary.total.late) == (2, 1, 1)
    assert summary.total.late_open == 1


def test_filters_and_visibility(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, _ = world
    san_sai = onestop.sla.summary("lan", **MARCH, unit="TH.50.02")
    assert (san_sai.total.received, san_sai.total.to_process) == (1, 1)
    province = onestop.sla.summary("lan", **MARCH, unit="TH.50", procedure="building_permit")
    assert province.total.to_process == 10
    # Somchai holds a grant in Chiang Mai City only: the San Sai case is not counted.
    mine = onestop.sla.summary("somchai", **MARCH)
    assert (mine.total.to_process, [r.label for r in mine.by_unit]) == (9, ["TH.50.01"])
    assert onestop.sla.summary("somchai", **MARCH, unit="TH.50").total.to_process == 9
    with pytest.raises(PermissionDenied):
        onestop.sla.summary("somchai", **MARCH, unit="TH.50.02")
    with pytest.raises(PermissionDenied):
        onestop.sla.summary("nogrant", **MARCH)
    with pytest.raises(PermissionDenied):
        onestop.sla.summary("nobody", **MARCH)


def test_bad_input_is_refused(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, _ = world
    with pytest.raises(InputRejected):
        onestop.sla.summary("lan", start=date(2026, 3, 1), end=date(2026, 3, 1), zone=ZONE, now=NOW)
    with pytest.raises(InputRejected):
        onestop.sla.summary("lan", start=date(2020, 1, 1), end=date(2026, 1, 2), zone=ZONE, now=NOW)
    with pytest.raises(InputRejected):
        onestop.sla.summary("lan", start=date(2026, 3, 1), end=date(2026, 4, 1), zone="Mars/Base", now=NOW)
    with pytest.raises(ProcedureNotFound):
        onestop.sla.summary("lan", **MARCH, procedure="no_such_procedure")
    with pytest.raises(OrgUnitNotFound):
        onestop.sla.summary("lan", **MARCH, unit="XX.99")
    with pytest.raises(InputRejected):
        onestop.sla.monthly_open_data("lan", first_month=date(2026, 3, 1), last_month=date(2026, 2, 1))
    with pytest.raises(InputRejected):
        onestop.sla.nearly_late("lan", now=NOW, threshold=timedelta(0))


def test_nearly_late_lists_open_cases_due_within_the_threshold(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, codes = world
    # At NOW: H is due at 1 May 00:00 (36 h away); E is already late. I, received 20 March, would
    # be due on 4 May, Coronation Day: the period ends on the next working day, 5 May, so it is
    # due at 6 May 00:00 (156 h).
    found = onestop.sla.nearly_late("lan", now=NOW, threshold=timedelta(hours=48))
    assert [(c.dossier_code, c.unit, c.due_date, c.hours_left) for c in found] == [
        (codes["H"], "TH.50.01", date(2026, 4, 30), 36.0)
    ]
    assert "applicant" not in found[0].model_dump()
    assert len(onestop.sla.nearly_late("lan", now=NOW, threshold=timedelta(hours=155))) == 1
    wider = onestop.sla.nearly_late("lan", now=NOW, threshold=timedelta(hours=156))
    assert [c.dossier_code for c in wider] == [codes["H"], codes["I"]]
    assert (
        onestop.sla.nearly_late("somchai", now=NOW, threshold=timedelta(hours=156), unit="TH.50.01") == found
    )


def test_step_durations_take_median_and_p90_of_items_completed_in_the_period(
    world: tuple[OneStop, dict[str, str]],
) -> None:
    onestop, _ = world
    steps = {s.element_id: s for s in onestop.sla.step_durations("lan", **MARCH, procedure="building_permit")}
    issue = steps["issue_permit"]
    # issue_permit is ready 25 min after receipt; completed in March for A, B, C and G:
    #   A 2 Feb 09:55 -> 10 Mar 10:30 = 36 d 35 min = 864.583 h
    #   B 2 Feb 10:55 -> 19 Mar 14:30 = 45 d 3 h 35 min = 1083.583 h
    #   C 3 Feb 09:55 -> 25 Mar 10:30 = 50 d 35 min = 1200.583 h
    #   G 3 Mar 09:55 -> 20 Mar 10:30 = 17 d 35 min = 408.583 h
    # median = (864.583 + 1083.583) / 2 = 974.083; p90 by nearest rank = 4th of 4 = 1200.583.
    assert (issue.completed, issue.median_hours, issue.p90_hours) == (4, 974.1, 1200.6)
    # check_completeness took 5 minutes for G, K and H (F was withdrawn before it).
    check = steps["check_completeness"]
    assert (check.completed, check.median_hours) == (3, 0.1)
    # Open now: I's completeness check; E's and H's site visit and plan review — all past due.
    assert (check.open_now, check.late_open_now) == (1, 1)
    assert (steps["site_visit"].open_now, steps["site_visit"].late_open_now) == (2, 2)
    assert next(iter(steps)) == "issue_permit"  # the slowest step first
    diagram = onestop.sla.process_diagram("somchai", "building_permit")
    assert 'id="issue_permit"' in diagram.bpmn


def test_open_data_suppresses_small_cells(world: tuple[OneStop, dict[str, str]]) -> None:
    onestop, codes = world
    rows = onestop.sla.monthly_open_data("lan", first_month=date(2026, 2, 1), last_month=date(2026, 3, 1))
    keyed = {(r.month, r.unit): r for r in rows}
    assert set(keyed) == {
        (date(2026, 2, 1), "TH.50.01"),
        (date(2026, 3, 1), "TH.50.01"),
        (date(2026, 3, 1), "TH.50.02"),
    }
    feb = keyed[(date(2026, 2, 1), "TH.50.01")]
    # February: 6 received (shown), 1 processed (suppressed), late rate 0 / 6 (shown).
    assert (feb.received, feb.to_process, feb.processed, feb.early) == (6, 6, None, None)
    assert (feb.on_time_rate, feb.late_rate) == (None, 0.0)
    mar = keyed[(date(2026, 3, 1), "TH.50.01")]
    # March in Chiang Mai City: 5 carried over and 9 to process shown; 4 received, 4
    # processed, 2 late open suppressed; late rate (2 + 1) / 9 shown, on-time rate over 4 not.
    assert (mar.carried_over, mar.to_process, mar.received, mar.processed, mar.late_open) == (
        5,
        9,
        None,
        None,
        None,
    )
    assert mar.late_rate == pytest.approx(3 / 9)
    assert mar.on_time_rate is None
    small = keyed[(date(2026, 3, 1), "TH.50.02")]
    assert (small.received, small.to_process, small.late_rate) == (None, None, None)
    shown = onestop.sla.monthly_open_data(
        "lan", first_month=date(2026, 3, 1), last_month=date(2026, 3, 1), min_cell=1
    )
    assert [(r.unit, r.received, r.processed, r.on_time_rate) for r in shown] == [
        ("TH.50.01", 4, 4, 0.75),
        ("TH.50.02", 1, None, None),  # 0 processed is below 1
    ]
    text = open_data_csv(rows)
    lines = text.splitlines()
    assert lines[0] == ",".join(OPEN_DATA_COLUMNS)
    assert lines[1].startswith("2026-02,building_permit,TH.50.01,6,<5,6,<5,")
    assert lines[1].endswith(",<5,0.0000")
    assert not any(code in text for code in codes.values())
    with pytest.raises(PermissionDenied):
        onestop.sla.monthly_open_data("nogrant", first_month=date(2026, 3, 1), last_month=date(2026, 3, 1))


def test_deadline_boundaries_follow_closed_timeliness(onestop: OneStop) -> None:
    # Due 23 Mar, closed the instant that day begins: on time. Due 24 Mar, closed the
    # instant that day ends: late. Due 25 Mar, closed a millisecond before that day: early.
    issued(onestop, bkk(2, 6), bkk(3, 23, 0, 0))
    issued(onestop, bkk(2, 7), bkk(3, 25, 0, 0))
    issued(onestop, bkk(2, 8), datetime(2026, 3, 24, 23, 59, 59, 999000, tzinfo=BKK))
    total = onestop.sla.summary("lan", **MARCH).total
    assert (total.processed, total.early, total.on_time, total.late) == (3, 1, 1, 1)
