"""Form field texts: the locale's title and help, and the mark on state-sourced fields."""

from __future__ import annotations

from runtime.form_widgets import help_text, label

FIELD = {
    "title": "Applicant",
    "x-title": {"th": "ผู้ยื่นคำขอ", "vi": "Người nộp hồ sơ", "en": "Applicant"},
    "x-description": {"en": "As on the ID card."},
    "readOnly": True,
    "x-source": "population_registry",
}


def test_a_state_sourced_field_says_where_its_value_comes_from_in_the_page_language() -> None:
    assert label(FIELD, "applicant_name", "vi") == "Người nộp hồ sơ"
    assert help_text(FIELD, "en") == (
        "As on the ID card.\n\n🏛️ From the population registry: the applicant is not asked for it."
    )
    assert help_text(FIELD, "th") == "🏛️ ข้อมูลจากทะเบียนราษฎร: ไม่ต้องขอจากผู้ยื่นคำขอ"
    plain = {"title": "Phone", "description": "Mobile"}
    assert help_text(plain, "th") == "Mobile"
    assert help_text({"title": "x"}, "en") is None
