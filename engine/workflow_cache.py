"""Hot workflows kept deserialized, keyed by case id and case version.

A command takes its case's workflow *out* of the cache and puts it back only after its
transaction commits, so a failed command never leaves a half-applied workflow behind and
two threads never share one. A version mismatch (another process moved the case on) is a
miss, and the case is rebuilt from its snapshot and events.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from engine.case_workflow import CaseWorkflow


class WorkflowCache:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, tuple[int, CaseWorkflow]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, case_id: int, version: int) -> CaseWorkflow | None:
        """Remove and return the workflow of ``case_id`` if it is at ``version``."""
        with self._lock:
            found = self._items.pop(case_id, None)
            if found is not None and found[0] == version:
                self.hits += 1
                return found[1]
            self.misses += 1
            return None

    def put(self, case_id: int, version: int, workflow: CaseWorkflow) -> None:
        if self._capacity <= 0:
            return
        with self._lock:
            self._items[case_id] = (version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
