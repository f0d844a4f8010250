"""The population-registry connector: state-sourced applicant data, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.connectors import default_connectors
from engine.errors import ConfigurationError
from engine.registries import FileRegistry, population_connector

DEMO = Path(__file__).resolve().parents[2] / "demo" / "population.json"


def test_a_known_person_comes_back_with_the_fields_the_state_vouches_for() -> None:
    lookup = population_connector(FileRegistry(DEMO))
    found = lookup({"id_number": "1101700230074"})
    assert found["found"] is True
    assert (found["applicant_name"], found["birth_date"]) == ("นางสาวสมศรี ใจดี", "1990-05-14")
    assert found["source"] == "population_registry"
    assert found["state_sourced"] == ["address", "applicant_name", "birth_date", "sex"]
    assert lookup({"id_number": "001090012345"})["applicant_name"] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("1101700230075", "check digit"),
        ("12345", "13 digits (Thailand) or 12 digits (Vietnam)"),
        ("", "no ID number"),
        ("3500100456790", "check digit"),
        ("079123456789", None),  # well formed, not in the demo registry
    ],
)
def test_an_unknown_or_malformed_number_is_an_answer_not_an_error(number: str, problem: str | None) -> None:
    answer = population_connector(FileRegistry(DEMO))({"id_number": number})
    assert answer["found"] is False
    assert (problem or "has no person") in answer["problem"]


def test_without_a_registry_the_connector_says_so_and_a_broken_file_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    answer = default_connectors().call("lookup", "registry.population", {"id_number": "1101700230074"})
    assert answer["found"] is False and "no population registry is connected" in answer["problem"]
    broken = tmp_path / "people.json"
    broken.write_text('{"people": [{"id_number": 1}]}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        FileRegistry(broken).lookup("1101700230074")
