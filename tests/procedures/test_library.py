"""Quality gates every bundled procedure passes: no validation finding at all, a manual
complete in Thai, Vietnamese and English, forms labelled in the three languages, and a
scenario test module that drives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from designer.packages import find_packages, open_package
from designer.validation import validate_source
from tests.conftest import PROCEDURES

PACKAGES = find_packages(PROCEDURES)
LANGUAGES = ("th", "vi", "en")
TESTS = Path(__file__).resolve().parent


def _ids(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("folder", PACKAGES, ids=_ids)
def test_the_procedure_validates_without_a_single_finding(folder: Path) -> None:
    findings = validate_source(open_package(folder))
    assert [f"{f.severity} {f.code}: {f.message}" for f in findings] == []


@pytest.mark.parametrize("folder", PACKAGES, ids=_ids)
def test_the_manual_names_the_procedure_and_its_steps_in_three_languages(folder: Path) -> None:
    manual = open_package(folder).files.manual
    assert set(LANGUAGES) <= set(manual["name"]), manual["name"]
    for step in manual.get("steps", []):
        assert set(LANGUAGES) <= set(step["name"]), f"step {step['id']}"
    for section in ("legal_basis", "time_limit", "documents", "fees", "results", "complaint_channel"):
        assert manual.get(section) not in (None, "", []), f"{folder.name}: manual has no {section}"


@pytest.mark.parametrize("folder", PACKAGES, ids=_ids)
def test_every_form_and_field_is_labelled_in_three_languages(folder: Path) -> None:
    for name, data in open_package(folder).files.forms.items():
        schema = json.loads(data)
        assert set(LANGUAGES) <= set(schema.get("x-title", {})), f"{name}: form title"
        for field, definition in schema.get("properties", {}).items():
            assert set(LANGUAGES) <= set(definition.get("x-title", {})), f"{name}: field {field}"


@pytest.mark.parametrize("folder", PACKAGES, ids=_ids)
def test_a_scenario_module_drives_the_procedure_and_checks_branch_coverage(folder: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name]
    modules = [text for text in texts if folder.name in text]
    assert modules, f"no scenario test names {folder.name!r}"
    assert any("assert_full_coverage" in text for text in modules), folder.name
