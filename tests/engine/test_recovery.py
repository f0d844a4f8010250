"""A case rebuilt from snapshot + events behaves exactly like the one kept in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine import OneStop
from tests.conftest import DATA, T0, import_test_procedure, make_onestop


@pytest.fixture(params=[1, 3, 1000], ids=["snapshot-every-command", "every-3", "never"])
def looping(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[OneStop]:
    onestop = make_onestop(sqlite_url, snapshot_every=request.param)
    import_test_procedure(onestop, DATA / "review_loop")
    yield onestop
    onestop.close()


def _drive(onestop: OneStop, rounds: int, reload: bool) -> list[tuple[str, str | None, dict[str, object]]]:
    case = onestop.cases.start_case("clerk1", "review_loop", "TH.50.01", T0)
    now = T0
    for n in range(rounds):
        if reload:
            onestop.workflows.clear()
        now += timedelta(minutes=1)
        case = onestop.cases.complete("clerk1", case.open_items[0].id, now, {"finished": n == rounds - 1})
    assert case.status == "completed"
    events = onestop.queries.events("system", case.dossier_code)
    return [(e.kind, e.element_id, e.payload) for e in events[1:]]  # after case_started (own dossier code)


def test_reloading_before_every_step_records_the_same_history_as_a_hot_case(looping: OneStop) -> None:
    hot = _drive(looping, 25, reload=False)
    reloaded = _drive(looping, 25, reload=True)
    assert reloaded == hot
    assert looping.verify().ok


def test_a_case_reloaded_mid_history_continues_its_task_numbering(looping: OneStop) -> None:
    case = looping.cases.start_case("clerk1", "review_loop", "TH.50.01", T0)
    for _ in range(7):
        case = looping.cases.complete("clerk1", case.open_items[0].id, T0, {"finished": False})
    looping.workflows.clear()
    case = looping.cases.complete("clerk1", case.open_items[0].id, T0, {"finished": False})
    assert [i.ref for i in case.open_items] == ["review#9"]
