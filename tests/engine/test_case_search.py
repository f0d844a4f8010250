"""Finding cases: filters combine, only visible cases are found, applicant searches are logged."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from engine import OneStop
from engine.case_search import CaseFilters
from engine.errors import InputRejected, PermissionDenied
from tests.conftest import T0


def _receive(onestop: OneStop, name: str, unit: str = "TH.50.01", days: int = 0) -> str:
    starter = "somchai" if unit == "TH.50.01" else "malee"
    view = onestop.cases.start_case(
        starter, "building_permit", unit, T0 + timedelta(days=days), {"applicant_name": name}
    )
    return view.dossier_code


def test_filters_combine_and_pages_count_every_match(onestop: OneStop) -> None:
    codes = [_receive(onestop, f"Applicant {n}", days=n) for n in range(5)]
    other = _receive(onestop, "Someone else", unit="TH.50.02")
    everything = onestop.queries.search("lan", CaseFilters(), now=T0)  # the auditor sees all
    assert everything.total == 6
    first = onestop.queries.search("somchai", CaseFilters(), now=T0, limit=2)
    rest = onestop.queries.search("somchai", CaseFilters(), now=T0, limit=2, offset=2)
    assert first.total == 5
    assert [c.dossier_code for c in first.items + rest.items] == codes[::-1][:4]  # newest first
    in_range = onestop.queries.search(
        "somchai", CaseFilters(received_from=date(2026, 3, 3), received_to=date(2026, 3, 4)), now=T0
    )
    assert sorted(c.dossier_code for c in in_range.items) == codes[1:3]
    by_unit = onestop.queries.search("kanya", CaseFilters(unit="TH.50.02"), now=T0)
    assert [c.dossier_code for c in by_unit.items] == [other]
    by_code = onestop.queries.search("somchai", CaseFilters(code=codes[3][:-1]), now=T0)
    assert codes[3] in [c.dossier_code for c in by_code.items]
    assert onestop.queries.search("somchai", CaseFilters(status="completed"), now=T0).total == 0


def test_another_communes_cases_are_never_found(onestop: OneStop) -> None:
    other = _receive(onestop, "Someone else", unit="TH.50.02")
    found = onestop.queries.search("somchai", CaseFilters(code=other), now=T0)
    assert found.total == 0


def test_an_applicant_search_needs_a_purpose_and_is_logged(onestop: OneStop) -> None:
    code = _receive(onestop, "Somchai Jaidee")
    _receive(onestop, "Malee Srisuk")
    with pytest.raises(PermissionDenied, match="purpose"):
        onestop.queries.search("somchai", CaseFilters(applicant="jaidee"), now=T0)
    found = onestop.queries.search(
        "somchai", CaseFilters(applicant="JAIDEE"), now=T0, purpose="counter enquiry"
    )
    assert [c.dossier_code for c in found.items] == [code]
    with onestop.db.engine.connect() as connection:
        logged = connection.execute(text("SELECT actor, purpose FROM access_log")).all()
    assert [tuple(row) for row in logged] == [("somchai", "search by applicant: counter enquiry")]


def test_a_backwards_date_range_is_refused(onestop: OneStop) -> None:
    with pytest.raises(InputRejected, match="ends before it starts"):
        onestop.queries.search(
            "somchai", CaseFilters(received_from=date(2026, 3, 5), received_to=date(2026, 3, 1)), now=T0
        )
