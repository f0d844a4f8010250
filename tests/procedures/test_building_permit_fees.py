"""The building permit's fee table (fee.dmn) against the published manual, and branch coverage
of every permit path.

The fee is Ministerial Regulation No. 7 (B.E. 2528): plan inspection by floor area at a rate
set by storeys and height (0.50 THB/m² up to 2 storeys and 12 m; 2 THB/m² for 3 storeys or
over 12 m up to 15 m; 4 THB/m² above 3 storeys or over 15 m), plus 20 THB for the permit.
The amounts are computed by the engine itself (a trial run: the same workflow, sandbox and
DMN code as a real case) and compared with hand-computed values.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from designer.packages import read_package
from engine import OneStop, PackageFiles
from engine.connectors import building_permit_fee
from tests.conftest import PROCEDURES, T0
from tests.procedures import permit_paths
from tests.procedures.coverage import assert_full_coverage, gateway_coverage
from tests.procedures.driver import CaseDriver
from tests.procedures.test_building_permit import APP, APPROVE, PLAN_OK, SITE

PACKAGE = PROCEDURES / "building_permit"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"


@pytest.fixture(scope="module")
def files() -> PackageFiles:
    return read_package(PACKAGE)


def fee_of(onestop: OneStop, files: PackageFiles, **building: Any) -> dict[str, Any]:
    """Drive a trial of the permit to the payment step; the fee the payment step shows."""
    trial = onestop.trials
    view = trial.start("admin", files, T0, {})
    steps = [
        ("check_completeness", {**APP, **building, "documents_complete": True}),
        ("site_visit", SITE),
        ("plan_review", PLAN_OK),
        ("approval", APPROVE),
    ]
    for element_id, data in steps:
        (ref,) = [t.ref for t in view.open_tasks if t.element_id == element_id]
        view = trial.complete("admin", files, view, ref, view.clock + timedelta(hours=1), data)
    assert [t.element_id for t in view.open_tasks] == ["record_payment"]
    return view.data


# (floor area m², storeys, height m or None) -> (rate THB/m², total THB, band), by hand:
CASES = [
    # 180 × 0.50 = 90, + 20 = 110: the permit tests' two-storey house, no height given.
    ((180.0, 2, None), (0.5, 110.0, "low")),
    # Exactly 12 m stays in the lowest class: 96 × 0.50 = 48, + 20 = 68.
    ((96.0, 1, 12.0), (0.5, 68.0, "low")),
    # Two storeys but 13.5 m high (a tall roof): 180 × 2 = 360, + 20 = 380.
    ((180.0, 2, 13.5), (2.0, 380.0, "mid")),
    # Three storeys, 11 m: 450 × 2 = 900, + 20 = 920.
    ((450.0, 3, 11.0), (2.0, 920.0, "mid")),
    # Exactly 15 m, two storeys: 200 × 2 = 400, + 20 = 420.
    ((200.0, 2, 15.0), (2.0, 420.0, "mid")),
    # Three storeys but 16 m: 300 × 4 = 1,200, + 20 = 1,220.
    ((300.0, 3, 16.0), (4.0, 1220.0, "high")),
    # Five storeys (no height given): 1,200.5 × 4 = 4,802, + 20 = 4,822.
    ((1200.5, 5, None), (4.0, 4822.0, "high")),
]


@pytest.mark.parametrize(
    ("building", "expected"), CASES, ids=[f"{a:g}m2-{s}st-{h}m" for (a, s, h), _ in CASES]
)
def test_the_fee_table_gives_the_hand_computed_fee(
    onestop: OneStop,
    files: PackageFiles,
    building: tuple[float, int, float | None],
    expected: tuple[float, float, str],
) -> None:
    area, storeys, height = building
    rate, total, band = expected
    given = {"floor_area": area, "storeys": storeys} | ({"building_height": height} if height else {})
    data = fee_of(onestop, files, **given)
    assert (data["fee_rate"], data["fee_band"]) == (rate, band)
    assert data["plan_inspection_fee"] == pytest.approx(area * rate)
    assert data["permit_fee"] == 20
    assert data["fee_amount"] == pytest.approx(total)
    # What the payment step's instructions read (fee.amount, fee.currency, fee.basis):
    fee = data["fee"]
    assert fee["amount"] == pytest.approx(total) and fee["currency"] == "THB" and fee["band"] == band
    assert f"{area} m²" in fee["basis"] and "20 THB permit fee" in fee["basis"]
    if height is None:  # the old connector knew storeys only; without a height both agree
        assert building_permit_fee({"floor_area": area, "storeys": storeys})["amount"] == pytest.approx(total)


def _rates(dmn: Path) -> set[float]:
    rules = etree.parse(str(dmn)).getroot().iter(f"{DMN}rule")
    return {float(rule.findall(f"{DMN}outputEntry")[0].findtext(f"{DMN}text") or "") for rule in rules}


def test_the_table_charges_exactly_the_fees_the_manual_publishes() -> None:
    manual = yaml.safe_load((PACKAGE / "manual.yaml").read_text(encoding="utf-8"))
    per_m2 = {fee["amount"] for fee in manual["fees"] if "m²" in fee["unit"]}
    per_permit = {fee["amount"] for fee in manual["fees"] if fee["unit"] == "THB per permit"}
    assert per_m2 == _rates(PACKAGE / "fee.dmn") == {0.5, 2.0, 4.0}
    permit_fees = {
        entry.findtext(f"{DMN}text")
        for rule in etree.parse(str(PACKAGE / "fee.dmn")).getroot().iter(f"{DMN}rule")
        for entry in rule.findall(f"{DMN}outputEntry")[2:3]
    }
    assert per_permit == {20} and permit_fees == {"20"}


def test_every_permit_path_covers_every_branch_and_end_event(onestop: OneStop) -> None:
    codes = [permit_paths.drive(onestop, path) for path in permit_paths.EVERY_PATH]
    report = gateway_coverage(
        (PACKAGE / "process.bpmn").read_bytes(),
        [onestop.queries.events("system", code) for code in codes],
    )
    assert_full_coverage(report, "building_permit")
    verified = onestop.verify()
    assert verified.ok, verified.problems


def test_the_payment_step_shows_the_amount_due(onestop: OneStop) -> None:
    d = CaseDriver(onestop, T0, reload_each_step=True)
    d.start("building_permit")
    d.complete("check_completeness", {**APP, "building_height": 7.5, "documents_complete": True})
    d.complete("site_visit", SITE)
    d.complete("plan_review", PLAN_OK)
    d.complete("approval", APPROVE)
    task = onestop.tasks.task("somchai", d.item("record_payment").id, d.now)
    # 180 m² × 0.50 + 20 = 110 THB, shown read-only with how it was computed.
    assert task.prefill["amount_due"] == pytest.approx(110.0)
    assert "180.0 m² × 0.5 THB/m²" in task.prefill["fee_basis"]
    assert "**110.0 THB**" in (task.instructions or "")
