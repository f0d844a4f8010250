"""Worklists: the right items, soonest due first, a page at a time, with the total."""

from __future__ import annotations

from datetime import timedelta

from engine import OneStop
from tests.conftest import T0


def _receive(onestop: OneStop, count: int, unit: str = "TH.50.01", starter: str = "somchai") -> list[str]:
    return [
        onestop.cases.start_case(starter, "building_permit", unit, T0 + timedelta(hours=n)).dossier_code
        for n in range(count)
    ]


def test_pages_cover_every_item_once_soonest_due_first(onestop: OneStop) -> None:
    codes = _receive(onestop, 7)
    first = onestop.queries.worklist("somchai", limit=3)
    second = onestop.queries.worklist("somchai", limit=3, offset=3)
    third = onestop.queries.worklist("somchai", limit=3, offset=6)
    assert (first.total, second.total, third.total) == (7, 7, 7)
    seen = [item.case_code for page in (first, second, third) for item in page.items]
    assert seen == codes  # received an hour apart, so due an hour apart
    due = [item.due_at for page in (first, second, third) for item in page.items]
    assert due == sorted(due)


def test_the_worklist_holds_only_my_roles_in_my_units(onestop: OneStop) -> None:
    _receive(onestop, 2)
    _receive(onestop, 3, unit="TH.50.02", starter="malee")
    assert onestop.queries.worklist("somchai").total == 2
    assert onestop.queries.worklist("malee").total == 3
    assert onestop.queries.worklist("niran").total == 0  # engineer: nothing at intake yet
    assert onestop.queries.worklist("lan").total == 0  # auditors have no worklist


def test_only_mine_leaves_out_items_held_by_others(onestop: OneStop) -> None:
    onestop.directory.ensure_user(
        username="somsri", display_name="Somsri", grants=[("intake_officer", "TH.50.01")]
    )
    _receive(onestop, 3)
    items = onestop.queries.worklist("somchai").items
    onestop.cases.claim("somsri", items[0].id, T0)
    onestop.cases.claim("somchai", items[1].id, T0)
    mine = onestop.queries.worklist("somchai", mine_only=True)
    assert mine.total == 2
    assert {i.id for i in mine.items} == {items[1].id, items[2].id}
    assert onestop.queries.worklist("somchai").total == 3


def test_a_procedure_filter_and_an_unknown_procedure(onestop: OneStop) -> None:
    _receive(onestop, 2)
    assert onestop.queries.worklist("somchai", procedure="building_permit").total == 2
    assert onestop.queries.worklist("somchai", procedure="no_such_procedure").total == 0


def test_work_for_still_returns_the_whole_list(onestop: OneStop) -> None:
    codes = _receive(onestop, 4)
    assert [i.case_code for i in onestop.queries.work_for("somchai")] == codes
