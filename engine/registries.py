"""State registries a procedure may consult instead of asking the citizen (once-only).

A registry adapter answers :class:`PopulationRegistry` ``lookup``; the bundled
:class:`FileRegistry` reads a JSON file of invented people (``demo/population.json``), and a
real deployment registers an adapter to its national population database under the same
connector name. The connector ``registry.population`` answers service tasks with the
person's data and names the fields that came from the state, so forms can show them as
state-sourced (``x-source: population_registry``) rather than asking for them again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.errors import ConfigurationError
from engine.identifiers import thai_national_id_problem, vn_citizen_id_problem

SOURCE = "population_registry"
MAX_FILE_BYTES = 16 * 2**20


class Person(BaseModel):
    """What a population registry holds about one person (the part procedures need)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id_number: str
    country: Literal["TH", "VN"]
    full_name: str
    full_name_latin: str | None = None
    birth_date: str
    sex: Literal["female", "male"]
    address: str


class PopulationRegistry(Protocol):
    """The interface a registry adapter implements."""

    def lookup(self, id_number: str) -> Person | None:
        """The person with this ID number, or None when the registry has none."""
        ...


class FileRegistry:
    """A registry read from a JSON file ``{"people": [...]}`` (read once, on first use).

    Args:
        path: the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._people: dict[str, Person] | None = None
        self._lock = threading.Lock()

    def lookup(self, id_number: str) -> Person | None:
        return self._load().get(id_number)

    def _load(self) -> dict[str, Person]:
        with self._lock:
            if self._people is None:
                self._people = _read(self.path)
            return self._people


def _read(path: Path) -> dict[str, Person]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigurationError(f"population registry file {path} is larger than 16 MiB")
        raw = json.loads(path.read_text(encoding="utf-8"))
        people = [Person.model_validate(entry) for entry in raw["people"]]
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        raise ConfigurationError(f"population registry file {path} cannot be read: {exc}") from exc
    return {person.id_number: person for person in people}


def id_problem(id_number: str) -> str | None:
    """Why ``id_number`` is neither a valid Thai national ID nor a Vietnamese citizen ID."""
    if len(id_number) == 13:
        return thai_national_id_problem(id_number)
    if len(id_number) == 12:
        return vn_citizen_id_problem(id_number)
    return "an ID number has 13 digits (Thailand) or 12 digits (Vietnam)"


def population_connector(registry: PopulationRegistry | None) -> Any:
    """The ``registry.population`` connector: ``{"id_number": ...}`` in, the person out.

    The answer always has ``found``; when found, the person's fields (``applicant_name``,
    ``birth_date``, ``sex``, ``address``), ``source`` and ``state_sourced`` (the fields the
    registry vouches for); when not, ``problem`` says why. It never raises on a bad number:
    the model decides what an unknown person means.
    """

    def lookup(params: Mapping[str, Any]) -> dict[str, Any]:
        raw = params.get("id_number")
        id_number = str(raw).strip() if raw is not None else ""
        problem = id_problem(id_number) if id_number else "no ID number was given"
        if problem is None and registry is None:
            problem = "no population registry is connected; enter the applicant's data by hand"
        if problem is not None or registry is None:
            return {"found": False, "id_number": id_number, "problem": problem}
        person = registry.lookup(id_number)
        if person is None:
            return {
                "found": False,
                "id_number": id_number,
                "problem": "the registry has no person with this number",
            }
        fields = {
            "applicant_name": person.full_name,
            "birth_date": person.birth_date,
            "sex": person.sex,
            "address": person.address,
        }
        return {
            "found": True,
            "id_number": id_number,
            **fields,
            "source": SOURCE,
            "state_sourced": sorted(fields),
        }

    return lookup
