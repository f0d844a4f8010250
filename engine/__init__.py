"""OneStop's execution engine: safe loading, sandboxed scripts, forms, case commands,
persistence, the event log and its hash chain.

The public surface is :class:`OneStop` (built once per entry point from
:class:`Settings`), the views in :mod:`engine.views` and the errors in
:mod:`engine.errors`. Nothing here returns a SpiffWorkflow object or an ORM row.
"""

from __future__ import annotations

from engine.directory_rules import SYSTEM_ACTOR
from engine.service import OneStop
from engine.settings import Settings
from engine.specs import PackageFiles

__all__ = ["SYSTEM_ACTOR", "OneStop", "PackageFiles", "Settings"]
