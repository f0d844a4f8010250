"""Settings for every entry point (app, CLI, worker, tests).

Built once per entry point from the environment (prefix ``ONESTOP_``) and passed down;
nothing below an entry point reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Runtime configuration.

    Attributes:
        database_url: SQLAlchemy URL; SQLite file under ``var/`` by default,
            ``postgresql+psycopg://...`` in production.
        snapshot_every: write a workflow snapshot every K commands of a case; between
            snapshots a case is recovered by replaying its recorded commands.
        workflow_cache_size: how many deserialized workflows a process keeps hot.
        script_cpu_seconds / script_memory_mb: sandbox bounds per script evaluation.
        procedures_dir: folder of bundled procedure packages imported by ``seed-demo``.
        argon2_time_cost / argon2_memory_kib / argon2_parallelism: password hashing cost
            (RFC 9106's low-memory profile by default: 3 passes over 64 MiB, 4 lanes).
        sqlite_checkpoint_seconds: for a SQLite file, seconds between background WAL
            checkpoints (0: let SQLite checkpoint inside commits).
        oidc_mapping: TOML, YAML or JSON file mapping OpenID Connect claims to users and
            grants (see :mod:`engine.claim_mapping`); unset: no OpenID Connect sign-in.
        local_sign_in: offer sign-in with a local user name and password.
        max_attachment_mb: the largest file a form accepts, in MiB.
        checkpoint_key: PEM file of the Ed25519 key that signs chain checkpoints
            (``ONESTOP_CHECKPOINT_KEY``); created, readable by its owner only, on first use.
        checkpoint_every_minutes: ``onestop worker`` (and ``timers fire``) also signs a
            checkpoint when the newest is older than this; 0 turns that off.
        calendars_dir: folder of the bundled jurisdiction calendars (``calendars/*.yaml``)
            that ``seed-demo`` loads when a country has no calendar yet.
        nearly_late_hours: an open case is *nearly late* when its deadline is this close.
        population_registry: JSON file the bundled population-registry adapter reads (the
            demo's invented people); a deployment registers a real adapter instead.
        notifier: how the worker delivers outbox messages: ``file`` (one JSON line per
            message in ``notifications_file``), ``log`` (the ``onestop.notifications``
            logger) or ``smtp`` (e-mail through ``smtp_host``).
        notifications_file: the JSON-lines file of the ``file`` notifier.
        smtp_host / smtp_port / smtp_user / smtp_password / smtp_from / smtp_starttls: the
            mail server of the ``smtp`` notifier (login only when ``smtp_user`` is set).
        notify_copy_to: e-mail address copied on messages marked ``copy_oversight``
            (e.g. the oversight office for delay notices).
        outbox_max_attempts: a message is given up (``failed_at``) after this many failures.
        outbox_backoff_seconds / outbox_backoff_cap_seconds: the n-th failure waits
            ``min(cap, base * 2**(n-1))`` seconds before the next attempt.
        worker_interval_seconds: pause of ``onestop worker`` between passes.
    """

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_VAR_DIR / 'onestop.db'}")
    snapshot_every: int = Field(default=20, ge=1, le=1000)
    workflow_cache_size: int = Field(default=512, ge=0)
    script_cpu_seconds: float = Field(default=1.0, gt=0, le=30)
    script_memory_mb: int = Field(default=64, ge=4, le=4096)
    procedures_dir: Path = Field(default=Path("procedures"))
    sqlite_checkpoint_seconds: float = Field(default=1.0, ge=0, le=3600)
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=64, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)
    oidc_mapping: Path | None = None
    local_sign_in: bool = True
    max_attachment_mb: float = Field(default=10.0, gt=0, le=200)
    sql_echo: bool = False
    checkpoint_key: Path = Field(default=DEFAULT_VAR_DIR / "checkpoint_key.pem")
    checkpoint_every_minutes: float = Field(default=60.0, ge=0)
    calendars_dir: Path = Field(default=Path("calendars"))
    population_registry: Path = Field(default=Path("demo/population.json"))
    nearly_late_hours: float = Field(default=48.0, gt=0, le=24 * 60)
    notifier: Literal["file", "log", "smtp"] = "file"
    notifications_file: Path = Field(default=DEFAULT_VAR_DIR / "notifications.jsonl")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    notify_copy_to: str | None = None
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_seconds: float = Field(default=60.0, gt=0)
    outbox_backoff_cap_seconds: float = Field(default=21600.0, gt=0)
    worker_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
