"""``onestop``: the command line.

Human-readable output; on error, one line saying what failed and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from designer.bpmn_generator import generate_package, manual_yaml
from designer.package_writer import supplied_forms, write_package
from designer.packages import find_packages, read_package
from designer.procedure_spec import load_spec
from designer.validation import has_errors, validate_package, validate_path
from designer.version_diff import describe_diff, diff_packages
from engine import SYSTEM_ACTOR, OneStop, Settings
from engine.calendar_files import load_calendar_file
from engine.catalogue_export import to_csv, to_json
from engine.errors import FormInvalid, OneStopError, ProcedureInvalid
from engine.open_data import open_data_csv
from engine.views import CaseView, Finding, WorkItemView
from runtime import demo
from runtime.worker import Worker, WorkerPass, install_signal_handlers

Handler = Callable[[OneStop, argparse.Namespace], int]
OfflineHandler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 refused or failed, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    offline: OfflineHandler | None = getattr(args, "offline_handler", None)
    if offline is not None:
        return offline(args)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        onestop = OneStop(Settings(), publish_check=validate_package)
    except OneStopError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    try:
        return handler(onestop, args)
    except FormInvalid as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for error in exc.errors:
            print(f"  - {error.field or '(form)'}: {error.message}", file=sys.stderr)
        return 1
    except ProcedureInvalid as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        _print_findings(exc.findings, sys.stderr)
        return 1
    except OneStopError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        onestop.close()


def _now(args: argparse.Namespace) -> datetime:
    raw = getattr(args, "now", None)
    if not raw:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise OneStopError(f"--now {raw!r} is not an ISO-8601 date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json_arg(raw: str | None, option: str) -> dict[str, Any]:
    if not raw:
        return {}
    source = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise OneStopError(
            f"{option} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise OneStopError(f"{option} must be a JSON object")
    return value


# -- handlers ---------------------------------------------------------------------------


def _db_upgrade(onestop: OneStop, _args: argparse.Namespace) -> int:
    onestop.upgrade()
    print(f"database is at the newest schema ({onestop.db.safe_url})")
    return 0


def _seed_demo(onestop: OneStop, args: argparse.Namespace) -> int:
    onestop.upgrade()
    for unit in demo.UNITS:
        onestop.directory.ensure_unit(**unit, names=demo.UNIT_NAMES.get(str(unit["code"])))
    for user in demo.USERS:
        onestop.directory.ensure_user(
            username=user.username,
            display_name=user.display_name,
            grants=list(user.grants),
            locale=user.locale,
        )
        if not onestop.accounts.has_password(user.username):
            onestop.accounts.set_password(SYSTEM_ACTOR, user.username, demo.PASSWORD)
    print(f"seeded {len(demo.UNITS)} org units and {len(demo.USERS)} users (password '{demo.PASSWORD}')")
    for country in onestop.calendars.seed(onestop.settings.calendars_dir, _now(args)):
        print(f"calendar {country}: loaded from {onestop.settings.calendars_dir / (country + '.yaml')}")
    root = Path(args.procedures or onestop.settings.procedures_dir)
    for folder in find_packages(root) if root.is_dir() else []:
        result = onestop.procedures.import_package("admin", read_package(folder), _now(args), publish=True)
        state = "imported" if result.created else "unchanged"
        print(
            f"procedure {result.version.procedure_code} v{result.version.version}: "
            f"{state}, {result.version.status}"
        )
    return 0


def _procedures_import(onestop: OneStop, args: argparse.Namespace) -> int:
    files = read_package(Path(args.path))
    result = onestop.procedures.import_package(args.actor, files, _now(args), publish=args.publish)
    version = result.version
    verb = "imported as" if result.created else "already stored as"
    print(
        f"{version.procedure_code}: {verb} version {version.version} ({version.status}), "
        f"sha256 {version.sha256[:12]}"
    )
    _print_findings(result.findings, sys.stdout)
    if not result.findings:
        print("no findings")
    return 0


def _procedures_publish(onestop: OneStop, args: argparse.Namespace) -> int:
    version = onestop.procedures.publish(args.actor, args.code, args.version, _now(args))
    print(f"{version.procedure_code} version {version.version} is published")
    return 0


def _procedures_retire(onestop: OneStop, args: argparse.Namespace) -> int:
    version = onestop.procedures.retire(args.actor, args.code, args.version, _now(args))
    print(
        f"{version.procedure_code} version {version.version} is retired; cases already running on it carry on"
    )
    if not any(
        v.status == "published" for v in onestop.procedures.list_versions() if v.procedure_code == args.code
    ):
        print(f"no version of {args.code} is published now: new cases cannot start until one is")
    return 0


def _procedures_diff(onestop: OneStop, args: argparse.Namespace) -> int:
    old = onestop.procedures.package_files(args.actor, args.code, args.old)
    new = onestop.procedures.package_files(args.actor, args.code, args.new)
    diff = diff_packages(old, new)
    if args.json:
        report = {"procedure": args.code, "old": args.old, "new": args.new, **diff.model_dump(mode="json")}
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(f"{args.code}: version {args.old} -> version {args.new}")
    for line in describe_diff(diff):
        print(f"  {line}")
    return 0


def _procedures_validate(args: argparse.Namespace) -> int:
    """Validate a package without a database; exit 0 only if no finding is an error."""
    path = Path(args.path)
    findings = validate_path(path, known_roles=args.roles or ())
    counts = {kind: sum(f.severity == kind for f in findings) for kind in ("error", "warning", "info")}
    if args.json:
        report = {
            "path": str(path),
            "valid": not has_errors(findings),
            "counts": counts,
            "findings": [f.model_dump() for f in findings],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_findings(findings, sys.stdout)
        verdict = (
            "can be published"
            if not has_errors(findings)
            else "cannot be published until the errors are fixed"
        )
        print(
            f"{path}: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} note(s) — {verdict}"
        )
    return 1 if has_errors(findings) else 0


def _procedures_build(args: argparse.Namespace) -> int:
    """Generate a package from a procedure spec, write it and validate it; exit 1 on any error."""
    path = Path(args.spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {path} cannot be read: {exc}", file=sys.stderr)
        return 1
    spec, findings = load_spec(text, file=path.name)
    _print_findings(findings, sys.stdout)
    if spec is None:
        print(f"{path}: the spec has errors; nothing was generated")
        return 1
    try:
        files = generate_package(spec, forms=supplied_forms(spec, path.parent))
        written = write_package(files, Path(args.out), as_zip=args.zip)
    except ProcedureInvalid as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        _print_findings(exc.findings, sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {args.out} cannot be written: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {written}")
    checked = validate_package(files, manual_text=manual_yaml(files.manual))
    _print_findings(checked, sys.stdout)
    errors = sum(f.severity == "error" for f in checked)
    verdict = "can be published" if not errors else "cannot be published until the errors are fixed"
    print(f"{written}: {errors} error(s), {len(checked) - errors} other finding(s) — {verdict}")
    return 1 if errors else 0


def _procedures_list(onestop: OneStop, _args: argparse.Namespace) -> int:
    versions = onestop.procedures.list_versions()
    if not versions:
        print("no procedures; import one with 'onestop procedures import PATH'")
    for v in versions:
        limit = v.time_limit or {}
        limit_text = f"{limit.get('value')} {limit.get('day_type', '')} days" if limit else "no time limit"
        name = v.names.get("en") or next(iter(v.names.values()), v.procedure_code)
        print(f"{v.procedure_code:<24} v{v.version:<3} {v.status:<9} {limit_text:<20} {name}")
    return 0


def _cases_start(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.start_case(
        args.actor, args.procedure, args.unit, _now(args), _json_arg(args.data, "--data")
    )
    print(f"started {case.dossier_code} ({case.procedure_code} v{case.procedure_version})")
    _print_case(case)
    return 0


def _cases_show(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.queries.case(args.actor, args.code)
    _print_case(case)
    if args.data:
        view = onestop.queries.case_data(args.actor, args.code, args.purpose, _now(args))
        print("data:")
        print(json.dumps(view.data, ensure_ascii=False, indent=2, sort_keys=True))
    if args.events:
        for event in onestop.queries.timeline(args.actor, args.code, now=_now(args)).entries:
            element = f" {event.element_id}" if event.element_id else ""
            print(f"  #{event.seq:<3} {event.at:%Y-%m-%d %H:%M} {event.actor:<10} {event.kind}{element}")
    return 0


def _cases_deliver(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.deliver_message(
        args.actor, args.code, args.message, _now(args), _json_arg(args.data, "--data"), args.expect_version
    )
    print(f"{case.dossier_code}: message '{args.message}' delivered")
    _print_case(case)
    return 0


def _cases_extend(onestop: OneStop, args: argparse.Namespace) -> int:
    new_date = _date_arg(args.date, "--date")
    assert new_date is not None
    case = onestop.cases.extend_deadline(
        args.actor, args.code, new_date, args.reason, _now(args), args.apology, args.expect_version
    )
    print(f"{case.dossier_code}: deadline {case.due_date} (promised at receipt: {case.appointment_date})")
    return 0


def _cases_pause(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.pause_clock(args.actor, args.code, args.reason, _now(args), args.expect_version)
    print(f"{case.dossier_code}: clock stopped")
    return 0


def _cases_resume(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.resume_clock(args.actor, args.code, _now(args), args.expect_version)
    print(f"{case.dossier_code}: clock running, deadline {case.due_date}")
    return 0


def _calendars_list(onestop: OneStop, _args: argparse.Namespace) -> int:
    for view in onestop.calendars.countries():
        data = view.data
        print(
            f"{view.country}  revision {view.id}  {data.timezone}  "
            f"{data.working_hours.start}-{data.working_hours.end}  {len(data.holidays)} holidays  "
            f"(by {view.created_by}: {view.reason})"
        )
    return 0


def _calendars_import(onestop: OneStop, args: argparse.Namespace) -> int:
    data = load_calendar_file(Path(args.file))
    view = onestop.calendars.save(args.actor, data, args.reason, _now(args))
    print(f"calendar {view.country}: revision {view.id} saved")
    return 0


def _calendars_due(onestop: OneStop, args: argparse.Namespace) -> int:
    data = onestop.calendars.content(args.country)
    if data is None:
        raise OneStopError(f"no calendar is stored for {args.country}; import one with 'calendars import'")
    calendar = data.to_calendar()
    received = _now(args)
    due = calendar.due_date(received, args.days, args.day_type)
    print(f"received {calendar.local(received):%Y-%m-%d %H:%M} ({calendar.timezone})")
    print(f"counting from {calendar.counting_start(received)}, {args.days} {args.day_type} day(s): due {due}")
    return 0


def _cases_cancel(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.cancel(args.actor, args.code, args.reason, _now(args), args.expect_version)
    print(f"{case.dossier_code}: cancelled")
    return 0


def _work_list(onestop: OneStop, args: argparse.Namespace) -> int:
    items = onestop.queries.work_for(args.actor)
    if not items:
        print(f"no open work for {args.actor}")
    for item in items:
        _print_item(item)
    return 0


def _work_claim(onestop: OneStop, args: argparse.Namespace) -> int:
    item = onestop.cases.claim(args.actor, args.item, _now(args), args.expect_version)
    print(f"claimed work item {item.id} ({item.name}, {item.case_code})")
    return 0


def _work_complete(onestop: OneStop, args: argparse.Namespace) -> int:
    case = onestop.cases.complete(
        args.actor, args.item, _now(args), _json_arg(args.data, "--data"), args.expect_version
    )
    print(f"completed work item {args.item}")
    _print_case(case)
    return 0


def _timers_fire(onestop: OneStop, args: argparse.Namespace) -> int:
    fired = onestop.cases.fire_due_timers("system", _now(args))
    for firing in fired:
        print(f"{firing.dossier_code}: fired {', '.join(firing.refs)}")
    print(f"{len(fired)} case(s) had due timers")
    every = onestop.settings.checkpoint_every_minutes
    taken = onestop.checkpoint_if_due(_now(args), timedelta(minutes=every)) if every > 0 else None
    if taken is not None:
        print(f"chain checkpoint {taken.id}: {taken.cases} case(s), digest {taken.digest}")
    return 0


def _worker(onestop: OneStop, args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.interval is not None and args.interval <= 0:
        raise OneStopError("--interval must be a positive number of seconds")
    fixed = _now(args) if args.now else None
    worker = Worker(onestop, clock=(lambda: fixed) if fixed else _wall_clock, interval=args.interval)
    if args.once or args.until_idle:
        passes = [worker.run_once()] if args.once else worker.run_until_idle()
        total = WorkerPass(
            at=passes[-1].at,
            fired=sum(p.fired for p in passes),
            timer_errors=sum(p.timer_errors for p in passes),
            delivered=sum(p.delivered for p in passes),
            retried=sum(p.retried for p in passes),
            failed=sum(p.failed for p in passes),
            errors=tuple(dict.fromkeys(e for p in passes for e in p.errors)),
        )
        print(f"{len(passes)} pass(es): {total.summary()}")
        return 1 if total.errors else 0
    stop = threading.Event()
    install_signal_handlers(stop)
    worker.run_forever(stop)
    return 0


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _audit_verify(onestop: OneStop, args: argparse.Namespace) -> int:
    if args.all and (args.case or args.procedure):
        raise OneStopError("--all cannot be combined with --case or --procedure")
    report = onestop.verify(args.case, procedure=args.procedure, progress=_progress_bar(sys.stderr))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for p in report.problems:
        where = f"checkpoint {p.checkpoint_id}" if not p.dossier_code else f"{p.dossier_code} seq {p.seq}"
        element = f" [{p.element_id}]" if p.element_id else ""
        diff = f": expected {p.expected}, found {p.found}" if p.expected or p.found else ""
        print(f"FAIL {p.kind} {where}{element}: {p.reason}{diff}")
    verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"checked {report.cases_checked} case(s), {report.events_checked} event(s): {verdict}")
    return 0 if report.ok else 1


def _progress_bar(stream: Any, width: int = 30) -> Callable[[int, int], None]:
    """A textual bar redrawn in place, at most once per percent (only for long runs)."""
    shown = [-1]

    def update(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if total < 100 or percent == shown[0]:
            return
        shown[0] = percent
        filled = width * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} cases")
        if done == total:
            stream.write("\n")
        stream.flush()

    return update


def _audit_checkpoint(onestop: OneStop, args: argparse.Namespace) -> int:
    taken = onestop.checkpoint(args.actor, _now(args))
    print(f"chain checkpoint {taken.id} of {taken.cases} case(s) at {taken.created_at:%Y-%m-%d %H:%M:%S} UTC")
    print(f"  digest {taken.digest}")
    print(f"  key    {taken.key_fingerprint}")
    return 0


def _audit_access(onestop: OneStop, args: argparse.Namespace) -> int:
    page = onestop.access_log.entries(args.actor, case=args.case, reader=args.reader, limit=args.limit)
    for item in page.items:
        fields = ", ".join(item.fields) or "-"
        where = item.dossier_code or "-"
        print(f"{item.at:%Y-%m-%d %H:%M} UTC  {item.actor}  {where}  [{fields}]  {item.purpose}")
    print(f"{len(page.items)} of {page.total} read(s) of personal data")
    return 0


def _audit_export(onestop: OneStop, args: argparse.Namespace) -> int:
    stream = onestop.exports.stream(
        args.actor,
        args.format,
        args.procedure,
        since=_date_arg(args.since, "--from"),
        until=_date_arg(args.until, "--to"),
        now=_now(args),
        activities=args.activities,
    )
    try:
        if args.out:
            with Path(args.out).open("wb") as target:
                target.writelines(stream)
        else:
            sys.stdout.buffer.writelines(stream)
            sys.stdout.buffer.flush()
    except OSError as exc:
        raise OneStopError(f"{args.out or 'standard output'} cannot be written: {exc}") from exc
    finally:
        stream.close()
    where = args.out or "standard output"
    written = f"{stream.cases} case(s), {stream.events} event(s)"
    print(f"wrote {written} as {args.format} to {where}", file=sys.stderr)
    return 0


def _sla_export(onestop: OneStop, args: argparse.Namespace) -> int:
    rows = onestop.sla.monthly_open_data(
        args.actor,
        first_month=_month_arg(args.first, "--from"),
        last_month=_month_arg(args.last, "--to"),
        procedure=args.procedure,
        min_cell=args.min_cell,
    )
    text = open_data_csv(rows, min_cell=args.min_cell)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OneStopError(f"{args.out} cannot be written: {exc}") from exc
    else:
        sys.stdout.write(text)
    print(f"wrote {len(rows)} row(s) to {args.out or 'standard output'}", file=sys.stderr)
    return 0


def _catalogue_export(onestop: OneStop, args: argparse.Namespace) -> int:
    if args.format == "json":  # every language unless one is asked for
        entries = onestop.catalogue.entries(args.language)
        text = to_json(entries, _now(args))
    else:
        entries = onestop.catalogue.entries()
        text = to_csv(entries, args.language or "en")
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OneStopError(f"{args.out} cannot be written: {exc}") from exc
    else:
        sys.stdout.write(text)
    where = args.out or "standard output"
    print(f"wrote {len(entries)} published procedure version(s) as {args.format} to {where}", file=sys.stderr)
    return 0


def _month_arg(raw: str, option: str) -> date:
    try:
        return datetime.strptime(raw, "%Y-%m").date()
    except ValueError as exc:
        raise OneStopError(f"{option} {raw!r} is not a month (YYYY-MM)") from exc


def _date_arg(raw: str | None, option: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise OneStopError(f"{option} {raw!r} is not a date (YYYY-MM-DD)") from exc


# -- output -----------------------------------------------------------------------------


def _print_case(case: CaseView) -> None:
    print(f"  dossier      {case.dossier_code}")
    print(f"  procedure    {case.procedure_code} v{case.procedure_version}, unit {case.unit_code}")
    print(
        f"  status       {case.status}{' — ' + case.outcome if case.outcome else ''} (version {case.version})"
    )
    print(f"  received     {case.received_at:%Y-%m-%d %H:%M} UTC, appointment {case.appointment_date or '—'}")
    print(f"  step         {case.current_step or '—'}")
    for item in case.open_items:
        _print_item(item)


def _print_item(item: WorkItemView) -> None:
    holder = f" held by {item.assignee}" if item.assignee else ""
    due = f" due {item.due_at:%Y-%m-%d}" if item.due_at else ""
    print(f"  [{item.id}] {item.case_code} {item.name} ({item.role}, {item.unit_code}){holder}{due}")


def _print_findings(findings: Sequence[Finding], stream: Any) -> None:
    for f in findings:
        where = f.location()
        hint = f" — {f.hint}" if f.hint else ""
        print(f"  {f.severity}: {where + ': ' if where else ''}{f.message} [{f.code}]{hint}", file=stream)


# -- parser -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onestop", description="OneStop administrative procedures")
    groups = parser.add_subparsers(title="commands")

    def command(parent: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        sub.add_argument("--now", help="ISO-8601 instant to act at (default: now)")
        return sub

    def group(name: str, help_text: str) -> Any:
        return groups.add_parser(name, help=help_text).add_subparsers(title=name)

    db = group("db", "database schema")
    command(db, "upgrade", _db_upgrade, "migrate the database to the newest schema")

    seed = command(
        groups, "seed-demo", _seed_demo, "create demo units and users and import bundled procedures"
    )
    seed.add_argument("--procedures", help="folder of procedure packages (default: procedures/)")

    procedures = group("procedures", "procedure versions")
    p_import = command(procedures, "import", _procedures_import, "import a procedure folder or .bpmn file")
    p_import.add_argument("path")
    p_import.add_argument("--publish", action="store_true", help="publish the version right away")
    p_import.add_argument("--as", dest="actor", default="admin")
    command(procedures, "list", _procedures_list, "list procedures and their versions")
    validate_help = "check a procedure folder, .zip or .bpmn file and list every finding"
    p_validate = procedures.add_parser("validate", help=validate_help, description=validate_help)
    p_validate.set_defaults(offline_handler=_procedures_validate)
    p_validate.add_argument("path")
    p_validate.add_argument("--json", action="store_true", help="print the findings as JSON")
    p_validate.add_argument(
        "--role", dest="roles", action="append", help="a role known in the directory (repeatable)"
    )
    build_help = "generate a procedure package from a spec (YAML table of steps), then validate it"
    p_build = procedures.add_parser("build", help=build_help, description=build_help)
    p_build.set_defaults(offline_handler=_procedures_build)
    p_build.add_argument("spec", metavar="SPEC.yaml")
    p_build.add_argument(
        "--out", required=True, metavar="DIR", help="folder to write (or zip file with --zip)"
    )
    p_build.add_argument("--zip", action="store_true", help="write a .zip instead of a folder")
    p_publish = command(procedures, "publish", _procedures_publish, "publish a version")
    p_publish.add_argument("code")
    p_publish.add_argument("version", type=int)
    p_publish.add_argument("--as", dest="actor", default="admin")
    p_retire = command(procedures, "retire", _procedures_retire, "stop new cases of a published version")
    p_retire.add_argument("code")
    p_retire.add_argument("version", type=int)
    p_retire.add_argument("--as", dest="actor", default="admin")
    p_diff = command(procedures, "diff", _procedures_diff, "show what changed between two versions")
    p_diff.add_argument("code")
    p_diff.add_argument("old", type=int, metavar="V1")
    p_diff.add_argument("new", type=int, metavar="V2")
    p_diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    p_diff.add_argument("--as", dest="actor", default="admin")

    cases = group("cases", "cases (dossiers)")
    c_start = command(cases, "start", _cases_start, "receive a dossier and start its case")
    c_start.add_argument("procedure")
    c_start.add_argument("--unit", required=True, help="receiving org unit code")
    c_start.add_argument("--as", dest="actor", required=True)
    c_start.add_argument("--data", help="JSON object, or @file.json")
    c_show = command(cases, "show", _cases_show, "show a case")
    c_show.add_argument("code")
    c_show.add_argument("--as", dest="actor", default="system")
    c_show.add_argument("--data", action="store_true", help="also show the case data (the read is logged)")
    c_show.add_argument("--purpose", default="command-line inspection")
    c_show.add_argument("--events", action="store_true", help="also list the event history")
    c_deliver = command(cases, "deliver", _cases_deliver, "deliver a message to a waiting case")
    c_deliver.add_argument("code")
    c_deliver.add_argument("message")
    c_deliver.add_argument("--as", dest="actor", required=True)
    c_deliver.add_argument("--data", help="JSON payload, or @file.json")
    c_deliver.add_argument("--expect-version", type=int)
    c_cancel = command(cases, "cancel", _cases_cancel, "cancel or withdraw a case")
    c_cancel.add_argument("code")
    c_cancel.add_argument("--as", dest="actor", required=True)
    c_cancel.add_argument("--reason", required=True)
    c_cancel.add_argument("--expect-version", type=int)
    c_extend = command(cases, "extend", _cases_extend, "extend a case's deadline (the applicant is told)")
    c_extend.add_argument("code")
    c_extend.add_argument("--date", required=True, help="the new deadline, YYYY-MM-DD (a working day)")
    c_extend.add_argument("--reason", required=True)
    c_extend.add_argument("--apology", help="reference of the apology letter")
    c_extend.add_argument("--as", dest="actor", required=True)
    c_extend.add_argument("--expect-version", type=int)
    c_pause = command(cases, "pause", _cases_pause, "stop a case's clock, with a reason")
    c_pause.add_argument("code")
    c_pause.add_argument("--reason", required=True)
    c_pause.add_argument("--as", dest="actor", required=True)
    c_pause.add_argument("--expect-version", type=int)
    c_resume = command(cases, "resume", _cases_resume, "restart a stopped clock (the deadline moves on)")
    c_resume.add_argument("code")
    c_resume.add_argument("--as", dest="actor", required=True)
    c_resume.add_argument("--expect-version", type=int)

    calendars = group("calendars", "jurisdiction calendars (weekends, working hours, holidays)")
    command(calendars, "list", _calendars_list, "list each country's newest calendar revision")
    k_import = command(calendars, "import", _calendars_import, "store a calendar file as a new revision")
    k_import.add_argument("file")
    k_import.add_argument("--reason", required=True, help="why (e.g. the decision that declared a holiday)")
    k_import.add_argument("--as", dest="actor", default="admin")
    k_due = command(calendars, "due", _calendars_due, "compute a due date (received now, or at --now)")
    k_due.add_argument("country")
    k_due.add_argument("days", type=int)
    k_due.add_argument("--day-type", choices=["working", "calendar"], default="working")

    work = group("work", "work items")
    w_list = command(work, "list", _work_list, "list the work items you may do")
    w_list.add_argument("--as", dest="actor", required=True)
    w_claim = command(work, "claim", _work_claim, "claim a work item")
    w_claim.add_argument("item", type=int)
    w_claim.add_argument("--as", dest="actor", required=True)
    w_claim.add_argument("--expect-version", type=int)
    w_complete = command(work, "complete", _work_complete, "complete a work item with form data")
    w_complete.add_argument("item", type=int)
    w_complete.add_argument("--as", dest="actor", required=True)
    w_complete.add_argument("--data", help="JSON object, or @file.json")
    w_complete.add_argument("--expect-version", type=int)

    timers = group("timers", "timers")
    command(timers, "fire", _timers_fire, "fire every timer due now (or at --now)")

    worker_help = "run the background worker: fire due timers, deliver notifications, sign checkpoints"
    worker = command(groups, "worker", _worker, worker_help)
    worker.add_argument(
        "--interval", type=float, help="seconds between passes (default: ONESTOP_WORKER_INTERVAL_SECONDS)"
    )
    worker_mode = worker.add_mutually_exclusive_group()
    worker_mode.add_argument("--once", action="store_true", help="run one pass and exit")
    worker_mode.add_argument(
        "--until-idle", action="store_true", help="run passes until one does nothing, then exit"
    )

    sla = group("sla", "SLA figures")
    sla_help = "write monthly SLA aggregates (month x procedure x unit) as open-data CSV, small cells hidden"
    s_export = command(sla, "export", _sla_export, sla_help)
    s_export.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    s_export.add_argument("--to", dest="last", required=True, metavar="YYYY-MM", help="last month")
    s_export.add_argument("--procedure", help="only this procedure code")
    s_export.add_argument(
        "--min-cell", type=int, default=5, help="counts below this are written <N (default 5)"
    )
    s_export.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    s_export.add_argument("--as", dest="actor", default=SYSTEM_ACTOR)

    catalogue = group("catalogue", "the public procedure catalogue (open data)")
    catalogue_help = "write every published procedure version's service manual as open data"
    g_export = command(catalogue, "export", _catalogue_export, catalogue_help)
    g_export.add_argument("--format", required=True, choices=["json", "csv"])
    g_export.add_argument(
        "--language",
        choices=["en", "th", "vi"],
        help="texts in this language only (JSON default: every language; CSV default: en)",
    )
    g_export.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")

    audit = group("audit", "audit")
    verify_help = (
        "verify hash chains, replay every case from its first event, check snapshots and checkpoints"
    )
    a_verify = command(audit, "verify", _audit_verify, verify_help)
    a_verify.add_argument("--case", help="only this dossier code")
    a_export = command(audit, "export", _audit_export, "export case histories for process mining")
    a_export.add_argument("--format", required=True, choices=["xes", "csv", "ocel"])
    a_export.add_argument("--procedure", required=True, help="procedure code")
    a_export.add_argument("--from", dest="since", metavar="DATE", help="first receipt day (YYYY-MM-DD)")
    a_export.add_argument("--to", dest="until", metavar="DATE", help="last receipt day (YYYY-MM-DD)")
    a_export.add_argument("--out", metavar="FILE", help="file to write (default: standard output)")
    a_export.add_argument(
        "--activities", choices=["all", "tasks"], default="all", help="every event, or task completions only"
    )
    a_export.add_argument("--as", dest="actor", default="system")
    a_verify.add_argument("--procedure", help="only cases of this procedure code")
    a_verify.add_argument("--all", action="store_true", help="every case (the default)")
    a_check = command(audit, "checkpoint", _audit_checkpoint, "sign a checkpoint of every case's chain head")
    a_check.add_argument("--as", dest="actor", default=SYSTEM_ACTOR)
    a_access = command(audit, "access", _audit_access, "list who read which case's personal data, and why")
    a_access.add_argument("--case", help="only reads of this dossier code")
    a_access.add_argument("--reader", help="only reads by this user")
    a_access.add_argument("--limit", type=int, default=200, help="at most this many rows, newest first")
    a_access.add_argument("--as", dest="actor", default=SYSTEM_ACTOR)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
