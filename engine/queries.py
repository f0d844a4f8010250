"""Read side: cases, worklists and events as views, from the projections only.

Reading personal data (a case's data) writes an access-log row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.authorization import Principal, load_principal
from engine.case_diagram import CaseDiagramView, element_states, procedure_bpmn
from engine.case_documents import DocumentAccess, list_documents, open_document
from engine.case_search import CaseFilters, CasePage, search_cases
from engine.case_timeline import build_timeline, changed_data
from engine.case_views import case_view_of
from engine.clock import as_utc, stored_instant
from engine.errors import CaseNotFound, PermissionDenied
from engine.event_store import payload_of
from engine.persistence.database import Database
from engine.persistence.models import (
    AccessLogEntry,
    Case,
    CaseEvent,
    OrgUnit,
    Procedure,
    ProcedureVersion,
    WorkItem,
)
from engine.persistence.prepared import Tx
from engine.personal_data import personal_fields, roles_needing, visible_data
from engine.specs import DEFAULT_STARTER_ROLE
from engine.views import (
    AttachmentFile,
    AttachmentView,
    CaseDataView,
    CaseView,
    EventView,
    TimelineEntry,
    TimelineView,
    WorkItemView,
)
from engine.worklist import WorklistPage, worklist_page


class CaseQueries:
    """Queries for pages, the CLI and the API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def case(self, actor: str, dossier_code: str) -> CaseView:
        """The case header and open items, if ``actor`` may see the case.

        Raises:
            CaseNotFound: unknown code, or a case the actor may not see (not told apart,
                so codes cannot be probed).
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            return case_view(session, case)

    def work_for(self, actor: str, include_claimed_by_others: bool = True) -> list[WorkItemView]:
        """Every open and claimed work item in the roles and units ``actor`` holds."""
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            page = worklist_page(session, principal, mine_only=not include_claimed_by_others, limit=None)
            return list(page.items)

    def worklist(
        self,
        actor: str,
        *,
        procedure: str | None = None,
        mine_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> WorklistPage:
        """One page of ``actor``'s worklist, soonest due first, and the number of matches.

        ``mine_only`` leaves out items someone else holds; ``limit`` is at most 500.
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            return worklist_page(
                session, principal, procedure=procedure, mine_only=mine_only, limit=limit, offset=offset
            )

    def recent_cases(self, actor: str, limit: int = 20) -> list[CaseView]:
        """The most recently received cases ``actor`` may see."""
        return list(self.search(actor, CaseFilters(), now=datetime.now(UTC), limit=limit).items)

    def search(
        self,
        actor: str,
        filters: CaseFilters,
        *,
        now: datetime,
        purpose: str = "",
        zone: str = "Asia/Bangkok",
        limit: int = 50,
        offset: int = 0,
    ) -> CasePage:
        """One page of the cases ``actor`` may see that match ``filters`` (see
        :func:`engine.case_search.search_cases`); an applicant search is logged.

        Raises:
            PermissionDenied: an applicant search without a purpose.
            InputRejected: a date range that ends before it starts.
        """
        # Only an applicant search writes (its access-log row); others must not take the
        # write lock that commands need.
        transaction = self.db.write if filters.applicant and filters.applicant.strip() else self.db.read
        with transaction() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            return search_cases(
                session, principal, filters, now=now, purpose=purpose, zone=zone, limit=limit, offset=offset
            )

    def events(self, actor: str, dossier_code: str, now: datetime | None = None) -> list[EventView]:
        """The case's recorded events with their full payloads, oldest first: for the
        system and auditors only (staff read :meth:`timeline`); an auditor's read is logged.

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
            PermissionDenied: the actor is neither the system nor an auditor.
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            if not principal.sees_every_case:
                raise PermissionDenied(
                    "the recorded events of a case are for auditors; read its history instead"
                )
            case_id = case.id
            views = [
                EventView(
                    seq=e.seq,
                    at=stored_instant(e.at),
                    actor=e.actor,
                    kind=e.kind,
                    element_id=e.element_id,
                    payload=payload_of(e),
                    hash=e.hash,
                )
                for e in case_events(session, case_id)
            ]
        if not principal.is_system:  # only an auditor's read needs the write lock, for its log row
            with self.db.write() as session:
                at = now or datetime.now(UTC)
                log_access(session, at, principal.username, case_id, ["*"], "audit: recorded events")
        return views

    def diagram(self, actor: str, dossier_code: str) -> CaseDiagramView:
        """The procedure's diagram source and how far the case got (no personal data).

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            file, text = procedure_bpmn(session, case.procedure_version_id)
            return CaseDiagramView(
                dossier_code=case.dossier_code,
                file=file,
                bpmn=text,
                states=element_states(case_events(session, case.id)),
            )

    def case_data(self, actor: str, dossier_code: str, purpose: str, now: datetime) -> CaseDataView:
        """The case's data, personal fields masked unless the reader's role needs them
        (see :mod:`engine.personal_data`); the read is logged with its purpose and the
        fields actually revealed.

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
            PermissionDenied: no purpose given.
        """
        if not purpose.strip():
            raise PermissionDenied("say why you read this case's personal data (purpose)")
        with self.db.write() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            data = data_from_events(case_events(session, case.id))
            rules = PersonalDataRules.of(session, case)
            shown, masked = visible_data(data, principal, rules.unit_path, rules.manual, rules.starter)
            revealed = [name for name in shown if name not in masked]
            log_access(session, now, principal.username, case.id, revealed, purpose.strip())
            return CaseDataView(dossier_code=case.dossier_code, data=shown, masked_fields=masked)

    def timeline(self, actor: str, dossier_code: str, *, now: datetime, purpose: str = "") -> TimelineView:
        """The case's history with the data each event changed (see
        :mod:`engine.case_timeline`). Personal values are masked unless a purpose is given
        and the actor's role needs them; values so revealed are logged with the purpose.

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
        """
        asked = bool(purpose.strip())
        with (self.db.write if asked else self.db.read)() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            entries, masked = read_timeline(
                session, principal, case, case_events(session, case.id), now, purpose
            )
            return TimelineView(dossier_code=case.dossier_code, entries=tuple(entries), masked_fields=masked)

    def documents(self, actor: str, dossier_code: str) -> list[AttachmentView]:
        """The case's documents (names, types, sizes; no content, so nothing is logged).

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
        """
        with self.db.read() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            access = PersonalDataRules.of(session, case).documents(principal, case_events(session, case.id))
            return list_documents(session, case.id, access)

    def document(
        self, actor: str, dossier_code: str, attachment_id: int, purpose: str, now: datetime
    ) -> AttachmentFile:
        """One document with its content; the read is logged with its purpose.

        Raises:
            CaseNotFound: unknown or not visible to ``actor``.
            DocumentNotFound: the case has no such document.
            PermissionDenied: no purpose given, or a personal document the actor's role
                does not need.
        """
        if not purpose.strip():
            raise PermissionDenied("say why you open this document (purpose)")
        with self.db.write() as session:
            principal = load_principal(Tx.of(session.connection()), actor)
            case = visible_case(session, principal, dossier_code)
            access = PersonalDataRules.of(session, case).documents(principal, case_events(session, case.id))
            found = open_document(session, case.id, case.dossier_code, attachment_id, access)
            label = f"document {found.attachment.id} ({found.attachment.filename})"
            log_access(session, now, principal.username, case.id, [label], purpose.strip())
            return found


@dataclass(frozen=True)
class PersonalDataRules:
    """What decides who sees a case's personal data: its unit and its procedure's manual."""

    unit_path: str
    manual: dict[str, Any]
    starter: str

    @classmethod
    def of(cls, session: Session, case: Case) -> PersonalDataRules:
        manual = session.scalar(
            select(ProcedureVersion.manual).where(ProcedureVersion.id == case.procedure_version_id)
        )
        unit = session.get(OrgUnit, case.org_unit_id)  # loaded by visible_case: no query
        assert unit is not None
        return cls.from_manual(unit.path, manual or {})

    @classmethod
    def from_manual(cls, unit_path: str, manual: dict[str, Any]) -> PersonalDataRules:
        return cls(unit_path, manual, str(manual.get("starter_role") or DEFAULT_STARTER_ROLE))

    @property
    def personal(self) -> tuple[str, ...]:
        return personal_fields(self.manual)

    def needed_by(self, principal: Principal) -> bool:
        """Whether ``principal``'s work on this case needs its personal data."""
        return principal.holds_any(roles_needing(self.manual, self.starter), self.unit_path)

    def documents(self, principal: Principal, events: Iterable[CaseEvent]) -> DocumentAccess:
        return DocumentAccess(self.personal, self.needed_by(principal), events)


def case_events(session: Session, case_id: int) -> list[CaseEvent]:
    """Every event of a case, in order."""
    return list(
        session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))
    )


def log_access(
    session: Session, now: datetime, actor: str, case_id: int, fields: Iterable[str], purpose: str
) -> None:
    """Record a read of personal data: who, when, which case, which fields, why."""
    session.execute(
        insert(AccessLogEntry).values(
            at=as_utc(now), actor=actor, case_id=case_id, fields=sorted(fields), purpose=purpose
        )
    )


def visible_case(session: Session, principal: Principal, dossier_code: str) -> Case:
    """The case ``dossier_code`` if ``principal`` may read it (see :meth:`Principal.sees_unit`).

    Raises:
        CaseNotFound: unknown, or not visible to ``principal`` (not told apart).
    """
    row = session.execute(
        select(Case, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(Case.dossier_code == dossier_code)
    ).first()
    if row is not None:
        case, unit = row
        if principal.sees_unit(unit.path):
            return case
    raise CaseNotFound(f"no case with dossier code '{dossier_code}' that you may see", case=dossier_code)


def read_timeline(
    session: Session,
    principal: Principal,
    case: Case,
    events: Iterable[CaseEvent],
    now: datetime,
    purpose: str | None,
) -> tuple[list[TimelineEntry], tuple[str, ...]]:
    """The case's history entries as ``principal`` may see them, and the fields masked in them.

    Personal values are shown only when a purpose is given and the principal's role needs
    them; values so shown are written to the access log with the purpose.
    """
    reason = (purpose or "").strip()
    rules = PersonalDataRules.of(session, case)
    names = session.execute(
        select(WorkItem.element_id, WorkItem.name).where(WorkItem.case_id == case.id)
    ).all()
    entries, revealed = build_timeline(
        events,
        step_names={element: name for element, name in names},
        personal=rules.personal,
        reveal=bool(reason) and rules.needed_by(principal),
    )
    if revealed:
        log_access(session, now, principal.username, case.id, revealed, reason)
    masked = {c.field for entry in entries for c in entry.changes if c.masked}
    return entries, tuple(sorted(masked))


def case_view(session: Session, case: Case) -> CaseView:
    """The view of a case row (one small query for its procedure and unit)."""
    code, version, unit_code = session.execute(
        select(Procedure.code, ProcedureVersion.version, OrgUnit.code)
        .select_from(Case)
        .join(ProcedureVersion, ProcedureVersion.id == Case.procedure_version_id)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(Case.id == case.id)
    ).one()
    return case_view_of(Tx.of(session.connection()), case, code, version, unit_code)


def data_from_events(events: Iterable[CaseEvent]) -> dict[str, Any]:
    """The case's data as its events built it: start data, every submitted form (later
    values win), message payloads under the message name, service answers under the
    service task's id (see :func:`engine.case_timeline.changed_data`)."""
    data: dict[str, Any] = {}
    for event in events:
        data.update(changed_data(event, payload_of(event)))
    return data
