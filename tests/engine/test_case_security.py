"""Hostile scripts inside an uploaded model are stopped, and the case is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import OneStop
from engine.errors import ScriptRejected
from tests.conftest import T0, import_test_procedure
from tests.engine.scripted_procedure import write_scripted_procedure

ATTACKS = {
    "import": "import os\nos.system('touch /tmp/onestop-pwned')",
    "dunder_import": "__import__('os').system('touch /tmp/onestop-pwned')",
    "subclasses": "x = ().__class__.__base__.__subclasses__()",
    "getattr_dunder": "x = getattr(1, '__class__')",
    "endless_loop": "while True:\n    pass",
    "huge_list": "x = [0] * (10 ** 9)",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_script_is_rejected_and_case_is_unchanged(
    attack: str, onestop: OneStop, tmp_path: Path
) -> None:
    import_test_procedure(onestop, write_scripted_procedure(tmp_path, f"attack_{attack}", ATTACKS[attack]))
    case = onestop.cases.start_case("clerk1", f"attack_{attack}", "TH.50.01", T0)
    before_events = onestop.queries.events("system", case.dossier_code)
    item = case.open_items[0]

    with pytest.raises(ScriptRejected) as rejected:
        onestop.cases.complete("clerk1", item.id, T0, {})

    assert rejected.value.details.get("element_id") == "calc"
    after = onestop.queries.case("system", case.dossier_code)
    assert after.version == case.version
    assert [i.id for i in after.open_items] == [item.id]
    assert onestop.queries.events("system", case.dossier_code) == before_events
    assert not Path("/tmp/onestop-pwned").exists()
    onestop.workflows.clear()
    assert onestop.verify(case.dossier_code).ok


def test_ordinary_script_runs_inside_the_sandbox(onestop: OneStop, tmp_path: Path) -> None:
    script = "total = 2 * 21\nlabel = 'fee ' + str(total)"
    import_test_procedure(onestop, write_scripted_procedure(tmp_path, "calc_ok", script))
    case = onestop.cases.start_case("clerk1", "calc_ok", "TH.50.01", T0)
    after = onestop.cases.complete("clerk1", case.open_items[0].id, T0, {})
    assert [i.element_id for i in after.open_items] == ["after"]
    kinds = [e.kind for e in onestop.queries.events("system", case.dossier_code)]
    assert "step_completed" in kinds
