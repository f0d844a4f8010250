"""Retiring procedure versions and reading a version's stored files."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from designer.packages import read_package
from engine import OneStop, PackageFiles
from engine.errors import PermissionDenied, ProcedureNotFound, VersionStatusRefused
from tests.conftest import PROCEDURES, T0
from tests.procedures.test_building_permit import COMPLETE

LATER = T0 + timedelta(days=3)


def _second_version(onestop: OneStop) -> PackageFiles:
    package = read_package(PROCEDURES / "building_permit")
    manual = {**package.manual, "time_limit": {**package.manual["time_limit"], "value": 30}}
    files = replace(package, manual=manual)
    assert onestop.procedures.import_package("admin", files, T0).version.version == 2
    return files


def _version(onestop: OneStop, number: int) -> str:
    found = [v for v in onestop.procedures.list_versions() if v.version == number]
    return found[0].status


def test_retiring_the_only_published_version_stops_new_cases_but_not_running_ones(onestop: OneStop) -> None:
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)

    retired = onestop.procedures.retire("admin", "building_permit", 1, LATER)

    assert (retired.status, retired.retired_by, retired.retired_at) == ("retired", "admin", LATER)
    assert retired.published_by == "admin"
    with pytest.raises(ProcedureNotFound, match="no published version of procedure 'building_permit'"):
        onestop.cases.start_case("somchai", "building_permit", "TH.50.01", LATER)
    item = onestop.queries.work_for("somchai")[0]
    assert item.case_code == case.dossier_code
    after = onestop.cases.complete("somchai", item.id, LATER, COMPLETE)
    assert after.procedure_version == 1 and after.current_step != case.current_step


def test_the_version_list_counts_the_cases_still_running_on_each_version(onestop: OneStop) -> None:
    first = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    onestop.cases.start_case("somchai", "building_permit", "TH.50.01", T0)
    _second_version(onestop)
    onestop.procedures.publish("admin", "building_permit", 2, LATER)
    onestop.cases.start_case("somchai", "building_permit", "TH.50.01", LATER)
    onestop.cases.cancel("somchai", first.dossier_code, "withdrawn by the applicant", LATER)

    running = {v.version: v.running_cases for v in onestop.procedures.list_versions()}

    assert running == {1: 1, 2: 1}


def test_a_designer_may_retire_and_a_work_role_may_not(onestop: OneStop) -> None:
    onestop.directory.ensure_user(username="dara", display_name="Dara", grants=[("designer", "TH.50")])

    with pytest.raises(PermissionDenied, match="niran may not retire procedure 'building_permit' version 1"):
        onestop.procedures.retire("niran", "building_permit", 1, LATER)
    with pytest.raises(PermissionDenied, match="no active user"):
        onestop.procedures.retire("nobody", "building_permit", 1, LATER)
    assert _version(onestop, 1) == "published"

    assert onestop.procedures.retire("dara", "building_permit", 1, LATER).retired_by == "dara"


def test_a_draft_or_an_already_retired_version_is_not_retired(onestop: OneStop) -> None:
    _second_version(onestop)

    with pytest.raises(VersionStatusRefused, match="version 2 is a draft"):
        onestop.procedures.retire("admin", "building_permit", 2, LATER)
    onestop.procedures.retire("admin", "building_permit", 1, LATER)
    with pytest.raises(VersionStatusRefused, match="already retired on 2026-03-05 by admin"):
        onestop.procedures.retire("admin", "building_permit", 1, LATER)
    with pytest.raises(ProcedureNotFound, match="has no version 9"):
        onestop.procedures.retire("admin", "building_permit", 9, LATER)


def test_publishing_a_successor_records_who_retired_the_previous_version(onestop: OneStop) -> None:
    _second_version(onestop)

    published = onestop.procedures.publish("admin", "building_permit", 2, LATER)

    versions = {v.version: v for v in onestop.procedures.list_versions()}
    assert published.status == "published" and published.published_at == LATER
    assert (versions[1].status, versions[1].retired_by, versions[1].retired_at) == ("retired", "admin", LATER)
    case = onestop.cases.start_case("somchai", "building_permit", "TH.50.01", LATER)
    assert case.procedure_version == 2


def test_stored_files_are_read_by_designers_and_auditors_only(onestop: OneStop) -> None:
    files = _second_version(onestop)

    stored = onestop.procedures.package_files("lan", "building_permit", 2)

    assert stored.sha256 == files.sha256
    assert onestop.procedures.package_files("admin", "building_permit", 1).manual["time_limit"]["value"] == 45
    with pytest.raises(PermissionDenied, match="'admin' or 'auditor' or 'designer'"):
        onestop.procedures.package_files("somchai", "building_permit", 1)


def test_only_admins_and_designers_import_and_publish(onestop: OneStop) -> None:
    files = read_package(PROCEDURES / "building_permit")
    with pytest.raises(PermissionDenied, match="somchai may not import procedure 'building_permit'"):
        onestop.procedures.import_package("somchai", files, T0)
    with pytest.raises(PermissionDenied, match="publish procedure 'building_permit' version 1"):
        onestop.procedures.publish("lan", "building_permit", 1, T0)
