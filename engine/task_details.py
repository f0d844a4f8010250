"""Everything a member of staff needs to work one item (the Task page's data)."""

from __future__ import annotations

import re
from datetime import datetime

from engine.authorization import load_principal, require_role
from engine.case_documents import list_documents
from engine.case_records import lock_by_item
from engine.case_views import case_view_of, work_item_view
from engine.cases import ASSIGN_ROLES
from engine.errors import WorkItemNotFound
from engine.instructions import render_instructions
from engine.persistence.database import Database
from engine.persistence.prepared import Tx
from engine.personal_data import personal_fields, visible_data
from engine.procedures import ProcedureCatalog
from engine.queries import PersonalDataRules, case_events, data_from_events, log_access
from engine.views import TaskView


class TaskDetails:
    """Reads for working an item; every read of carried-over case data is logged."""

    def __init__(self, db: Database, catalog: ProcedureCatalog) -> None:
        self.db = db
        self.catalog = catalog

    def task(self, actor: str, item_id: int, now: datetime) -> TaskView:
        """The item, its case, its form, values from earlier steps and its instructions.

        Raises:
            WorkItemNotFound: no such item.
            PermissionDenied: the actor holds neither the item's role nor a supervising
                role (approver, admin) in the case's unit.
        """
        with self.db.write() as session:
            tx = Tx.of(session.connection())
            found = lock_by_item(tx, item_id, lock=False)
            if found is None or found.item is None:
                raise WorkItemNotFound(f"no work item {item_id}", item=item_id)
            case, item = found.case, found.item
            principal = load_principal(tx, actor)
            require_role(
                principal, [item.role, *ASSIGN_ROLES], found.unit_path, f"open '{item.name}' ({item.ref})"
            )
            info = self.catalog.info(tx, case.procedure_version_id)
            form = info.compiled.form_for(item.element_id)
            schema = form.definition if form is not None else None
            events = case_events(session, case.id)
            data = data_from_events(events)
            prefill = (
                {name: data[name] for name in schema.get("properties", {}) if name in data}
                if schema is not None
                else {}
            )
            user_task = info.compiled.user_tasks.get(item.element_id)
            template = user_task.instructions if user_task else None
            # The instructions may name any field of the case; personal ones show only to the
            # roles that need them, and a personal value they show is a logged read.
            shown, masked = visible_data(
                data, principal, found.unit_path, info.manual, info.compiled.starter_role
            )
            quoted = {
                name
                for name in personal_fields(info.manual)
                if name in data
                and name not in masked
                and template
                and re.search(rf"\b{re.escape(name)}\b", template)
            }
            read = {**{name: data[name] for name in quoted}, **prefill}
            if read:
                log_access(
                    session, now, principal.username, case.id, read, f"work item {item.id} ({item.name})"
                )
            case_view = case_view_of(tx, case, info.procedure_code, info.version, found.unit_code)
            instructions = render_instructions(
                template,
                {
                    **shown,
                    "dossier_code": case.dossier_code,
                    "step": item.name,
                    "received_at": case_view.received_at.isoformat(),
                    "appointment_date": case_view.appointment_date.isoformat()
                    if case_view.appointment_date
                    else None,
                    "data": prefill,
                },
            )
            rules = PersonalDataRules.from_manual(found.unit_path, info.manual)
            access = rules.documents(principal, events)
            return TaskView(
                item=work_item_view(item, case, info.procedure_code, found.unit_code),
                case=case_view,
                form_schema=schema,
                prefill=prefill,
                instructions=instructions,
                documents=tuple(list_documents(session, case.id, access)),
            )
