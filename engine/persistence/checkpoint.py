"""SQLite WAL checkpoints off the command path.

In WAL mode a commit appends pages to the write-ahead log; a *checkpoint* copies them back
into the database file and syncs it to disk. SQLite normally runs one inside whichever
commit happens to push the log past 1000 pages, so that one command pays for a disk sync
(3-4 ms here, against ~50 µs for an ordinary commit). As SQLite's documentation suggests
for servers, a background thread checkpoints instead, every ``interval`` seconds, with a
``PASSIVE`` checkpoint that never blocks readers or writers. Connections keep a much higher
automatic threshold as a safety net, so the log stays bounded even if the thread stalls.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

SAFETY_NET_PAGES = 20_000  # ~80 MB of log at 4 KiB pages


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite database file.

    Args:
        path: the database file.
        interval: seconds between checkpoints.
    """

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"wal-checkpoint:{path}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last checkpoint."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:  # pragma: no cover - the engine reports the same file first
            log.warning("no background checkpoints for %s: %s", self.path, exc)
            return
        try:
            while not self._stop.wait(self.interval):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # Never fatal: the connections' own automatic checkpoint still bounds the log.
            log.warning("background checkpoint of %s failed: %s", self.path, exc)
