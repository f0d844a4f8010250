"""A heat map over a BPMN drawing: activities tinted from pale yellow to red."""

from __future__ import annotations

from lxml import etree

from designer.diagram import render_svg
from designer.diagram_shapes import heat_colour
from tests.conftest import PROCEDURES

SVG = "{http://www.w3.org/2000/svg}"
PERMIT = (PROCEDURES / "building_permit" / "process.bpmn").read_bytes()


def fills(svg: str) -> dict[str, str | None]:
    """The inline style of the outline of every drawn element, by element id."""
    root = etree.fromstring(svg.encode())
    found: dict[str, str | None] = {}
    for group in root.iter(f"{SVG}g"):
        element_id = group.get("data-element-id")
        if element_id and "element" in (group.get("class") or "").split():
            outline = next((child for child in group if "shape" in (child.get("class") or "").split()), None)
            found[element_id] = outline.get("style") if outline is not None else None
    return found


def test_without_heat_the_drawing_is_unchanged() -> None:
    plain = render_svg(PERMIT, numbers={"issue_permit": 3})
    assert render_svg(PERMIT, numbers={"issue_permit": 3}, heat=None) == plain
    assert render_svg(PERMIT, numbers={"issue_permit": 3}, heat={}) == plain
    assert "fill:#" not in " ".join(v for v in fills(plain).values() if v)


def test_heat_tints_activities_from_pale_yellow_to_red() -> None:
    svg = render_svg(
        PERMIT,
        heat={
            "issue_permit": 1.0,
            "check_completeness": 0.0,
            "plan_review": 0.5,
            "site_visit": 7.0,  # clamped to 1
            "start_application_received": 1.0,  # an event: not tinted
            "no_such_element": 1.0,
        },
    )
    styles = fills(svg)
    assert styles["issue_permit"] == "fill:#d93025"
    assert styles["check_completeness"] == "fill:#fff8c5"
    assert styles["plan_review"] == f"fill:{heat_colour(0.5)}" == "fill:#ec9475"
    assert styles["site_visit"] == "fill:#d93025"
    assert styles["start_application_received"] is None
    assert styles["approval"] is None
    assert "no_such_element" not in svg


def test_heat_colour_is_clamped() -> None:
    assert heat_colour(-1) == heat_colour(0) == "#fff8c5"
    assert heat_colour(2) == heat_colour(1) == "#d93025"
    assert heat_colour(float("nan")) == "#fff8c5"
