"""The composition root of the engine: build once per entry point, then pass around."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher

from engine.access_log import AccessLog
from engine.accounts import Accounts
from engine.administration import Administration
from engine.attachments import AttachmentPolicy
from engine.audit import verify_chains
from engine.calendars import CalendarBook
from engine.case_replay import CaseReplays
from engine.cases import CaseService
from engine.catalogue import Catalogue
from engine.chain_checkpoints import is_checkpoint_due, take_checkpoint
from engine.connectors import ConnectorRegistry, default_connectors
from engine.directory import Directory
from engine.directory_rules import SYSTEM_ACTOR
from engine.federation import load_federation
from engine.notifiers import NotifierRegistry, default_notifiers
from engine.outbox import Outbox
from engine.persistence.database import Database
from engine.procedures import ProcedureCatalog, PublishCheck
from engine.process_export import ProcessExports
from engine.queries import CaseQueries
from engine.registries import FileRegistry
from engine.sandbox import Sandbox, SandboxLimits
from engine.settings import Settings
from engine.sla_report import SlaReports
from engine.task_details import TaskDetails
from engine.trial_run import TrialRuns
from engine.verification import Progress, Verifier
from engine.views import CheckpointView, VerifyReport
from engine.workflow_cache import WorkflowCache


class OneStop:
    """Everything the runtime needs: procedures, case commands, queries, audit, exports.

    Args:
        settings: configuration (database URL, sandbox bounds, snapshot interval).
        connectors: service-task connectors (the bundled ones by default).
        publish_check: validation run before a version is published (errors refuse it).
        notifiers: how outbox messages are sent (by default the one ``settings.notifier``
            names).

    Raises:
        ConfigurationError: the database URL or the notifier settings cannot be used.
    """

    def __init__(
        self,
        settings: Settings,
        connectors: ConnectorRegistry | None = None,
        publish_check: PublishCheck | None = None,
        notifiers: NotifierRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.db = Database(
            settings.database_url,
            echo=settings.sql_echo,
            checkpoint_interval=settings.sqlite_checkpoint_seconds,
        )
        self.sandbox = Sandbox(
            SandboxLimits(
                cpu_seconds=settings.script_cpu_seconds, memory_bytes=settings.script_memory_mb * 2**20
            )
        )
        self.connectors = connectors or default_connectors(FileRegistry(settings.population_registry))
        self.procedures = ProcedureCatalog(self.db, publish_check=publish_check)
        self.catalogue = Catalogue(self.db)
        self.workflows = WorkflowCache(settings.workflow_cache_size)
        self.calendars = CalendarBook(self.db)
        self.cases = CaseService(
            self.db,
            self.procedures,
            self.sandbox,
            self.connectors,
            self.workflows,
            settings.snapshot_every,
            AttachmentPolicy(max_bytes=int(settings.max_attachment_mb * 2**20)),
            calendars=self.calendars,
        )
        self.queries = CaseQueries(self.db)
        self.replays = CaseReplays(self.db)
        self.access_log = AccessLog(self.db)
        self.directory = Directory(self.db)
        self.federation = load_federation(self.db, settings.oidc_mapping)
        self.tasks = TaskDetails(self.db, self.procedures)
        self.accounts = Accounts(
            self.db,
            PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
        )
        self.administration = Administration(self.db, self.accounts)
        self.trials = TrialRuns(self.db, self.sandbox, self.connectors, calendars=self.calendars)
        self.exports = ProcessExports(self.db, self.procedures)
        self.sla = SlaReports(self.db, self.procedures)
        self.notifiers = notifiers if notifiers is not None else default_notifiers(settings)
        self.outbox = Outbox(
            self.db,
            self.notifiers,
            settings.outbox_max_attempts,
            timedelta(seconds=settings.outbox_backoff_seconds),
            timedelta(seconds=settings.outbox_backoff_cap_seconds),
        )

    def upgrade(self) -> None:
        """Migrate the database to the newest schema."""
        self.db.upgrade()

    def verify(
        self,
        dossier_code: str | None = None,
        *,
        procedure: str | None = None,
        progress: Progress | None = None,
    ) -> VerifyReport:
        """Verify one case, one procedure's cases, or all: hash chain, the newest signed
        checkpoint, replay from the first event, snapshot and header (see
        :mod:`engine.verification`). ``progress(done, total)`` is called after each case.

        Raises:
            CaseNotFound: ``dossier_code`` names no case.
            ProcedureNotFound: ``procedure`` names no procedure.
            ConfigurationError: the checkpoint key file exists but cannot be read.
        """
        verifier = Verifier(
            self.db, self.procedures, self.sandbox, self.connectors, self.settings.checkpoint_key
        )
        return verifier.verify(dossier_code, procedure=procedure, progress=progress)

    def verify_chains(self, dossier_code: str | None = None) -> VerifyReport:
        """Check only the hash chains (of one case, or all), without replay.

        Raises:
            CaseNotFound: ``dossier_code`` names no case.
        """
        return verify_chains(self.db, dossier_code)

    def checkpoint(self, actor: str, now: datetime) -> CheckpointView:
        """Record and sign every case's chain head with the key at ``checkpoint_key``.

        Raises:
            PermissionDenied: the actor is not the system, an auditor or an admin.
            UserNotFound: no active user has that name.
            ConfigurationError: the signing key cannot be read or created.
        """
        return take_checkpoint(self.db, self.settings.checkpoint_key, actor, now)

    def checkpoint_if_due(self, now: datetime, every: timedelta) -> CheckpointView | None:
        """Take a checkpoint as the system when the newest is older than ``every``.

        Raises:
            ConfigurationError: the signing key cannot be read or created.
        """
        if not is_checkpoint_due(self.db, now, every):
            return None
        return take_checkpoint(self.db, self.settings.checkpoint_key, SYSTEM_ACTOR, now)

    def close(self) -> None:
        self.db.dispose()
