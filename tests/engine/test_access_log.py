"""Listing the access log: filters, paging, and who may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import OneStop
from engine.errors import InputRejected, PermissionDenied
from tests.conftest import T0
from tests.procedures.test_building_permit import COMPLETE


@pytest.fixture
def codes(onestop: OneStop) -> list[str]:
    """Two cases whose data was read: three reads in all, an hour apart."""
    found = []
    for _ in range(2):
        case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
        onestop.cases.complete("somchai", case.open_items[0].id, T0, COMPLETE)
        found.append(case.dossier_code)
    onestop.queries.case_data("somchai", found[0], "applicant at the counter", T0)
    onestop.queries.case_data("lan", found[0], "annual audit", T0 + timedelta(hours=1))
    onestop.queries.case_data("somchai", found[1], "phone call", T0 + timedelta(hours=2))
    return found


def test_the_log_lists_every_read_newest_first(onestop: OneStop, codes: list[str]) -> None:
    page = onestop.access_log.entries("lan")

    assert page.total == 3
    assert [(i.actor, i.purpose) for i in page.items] == [
        ("somchai", "phone call"),
        ("lan", "annual audit"),
        ("somchai", "applicant at the counter"),
    ]
    assert page.items[0].dossier_code == codes[1] and "national_id" in page.items[0].fields
    assert page.items[0].at == T0 + timedelta(hours=2)


def test_filters_by_case_reader_and_period(onestop: OneStop, codes: list[str]) -> None:
    log = onestop.access_log
    assert [i.purpose for i in log.entries("admin", case=codes[0], reader="somchai").items] == [
        "applicant at the counter"
    ]
    assert log.entries("system", reader="lan").total == 1
    period = log.entries("lan", since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2))
    assert [i.purpose for i in period.items] == ["annual audit"]
    paged = log.entries("lan", limit=1, offset=1)
    assert (paged.total, [i.purpose for i in paged.items]) == (3, ["annual audit"])


def test_only_auditors_admins_and_the_system_read_the_log(onestop: OneStop, codes: list[str]) -> None:
    for worker in ("somchai", "niran", "dao"):
        with pytest.raises(PermissionDenied, match="access log"):
            onestop.access_log.entries(worker)


def test_a_period_that_ends_before_it_starts_is_refused(onestop: OneStop) -> None:
    with pytest.raises(InputRejected):
        onestop.access_log.entries("lan", since=T0, until=T0 - timedelta(days=1))
