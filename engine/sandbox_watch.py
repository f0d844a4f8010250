"""The sandbox's watch: a ``sys.settrace`` function that bounds CPU time and memory.

No signals and no second thread are involved, so it works in any thread (Streamlit runs code in
threads), and it saves nothing global but the thread's trace function, which the runner
restores. The script's own frames get 'line' events; every new frame, including the guards'
(the compiler puts one in every ``while`` test), gets a 'call' event; each event compares
``time.thread_time()`` with the deadline and, every half millisecond of CPU, the process's
resident size with the size at the start.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import FrameType
from typing import Any

from engine.sandbox_compile import SCRIPT_FILENAME
from engine.sandbox_guards import GuardRefusal

# How often (in CPU seconds) the watch reads the process size. Allocating memory costs CPU
# time (page faults), so growth between two reads stays small; reading costs ~2 µs.
_MEMORY_CHECK_INTERVAL = 0.0005
# The CPU clock is read at most this often (wall seconds); reading it costs ~0.7 µs.
_LOOK_INTERVAL = 0.00005


class Watch:
    """The trace function of one run: stops it on CPU time or memory growth.

    Install :meth:`on_call` with ``sys.settrace`` around the run. A stop raises
    :class:`GuardRefusal` (``cpu`` or ``memory``) into the script, which has no ``try`` to
    catch it; it is also kept in :attr:`stopped` so that the runner can check.

    Args:
        cpu_seconds: CPU time (``time.thread_time``) the run may use.
        memory_bytes: growth of the process's resident size the run may cause.
    """

    __slots__ = (
        "_baseline",
        "_cpu_seconds",
        "_deadline",
        "_memory_limit",
        "_next_look",
        "_next_memory_check",
        "stopped",
    )

    def __init__(self, cpu_seconds: float, memory_bytes: int) -> None:
        start = time.thread_time()
        self._cpu_seconds = cpu_seconds
        self._deadline = start + cpu_seconds
        self._memory_limit = memory_bytes
        self._next_memory_check = start + _MEMORY_CHECK_INTERVAL
        self._next_look = time.perf_counter() + _LOOK_INTERVAL
        self._baseline = resident_bytes()
        self.stopped: GuardRefusal | None = None

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            self._check()  # guards and helpers: one check per call, no line events
            return None
        frame.f_trace_lines = True
        return self.on_line  # the frame's first 'line' event follows at once

    def on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":  # 'return' and 'exception' run nothing new
            self._check()
        return self.on_line

    def _check(self) -> None:
        # CPU time never runs ahead of wall time in one thread, so a cheap monotonic clock
        # tells when the costlier thread CPU clock is worth reading.
        wall = time.perf_counter()
        if wall < self._next_look:
            return
        self._next_look = wall + _LOOK_INTERVAL
        now = time.thread_time()
        if now > self._deadline:
            self._stop("cpu", f"stopped after {self._cpu_seconds:g} s of CPU time (endless loop?)")
        if now >= self._next_memory_check:
            self._next_memory_check = now + _MEMORY_CHECK_INTERVAL
            grown = resident_bytes() - self._baseline
            if grown > self._memory_limit:
                self._stop(
                    "memory", f"stopped after using more than {self._memory_limit // 2**20} MiB of memory"
                )

    def _stop(self, reason: str, message: str) -> None:
        self.stopped = GuardRefusal(reason, message)
        raise self.stopped


class _Statm:
    """/proc/self/statm, kept open; a forked child re-opens it (/proc/self is bound at open)."""

    fd: int | None = None
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    lock = threading.Lock()

    @classmethod
    def open(cls) -> int | None:
        with cls.lock:
            if cls.fd is None:
                try:
                    cls.fd = os.open("/proc/self/statm", os.O_RDONLY)
                except OSError:
                    cls.fd = -1
            return cls.fd if cls.fd >= 0 else None

    @classmethod
    def forget(cls) -> None:
        if cls.fd is not None and cls.fd >= 0:
            os.close(cls.fd)
        cls.fd = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Statm.forget)


def resident_bytes() -> int:
    """The process's resident set size in bytes (its peak where /proc is missing)."""
    fd = _Statm.fd if _Statm.fd is not None else _Statm.open()
    if fd is None or fd < 0:
        return _peak_resident_bytes()
    return int(os.pread(fd, 64, 0).split(None, 2)[1]) * _Statm.page


def _peak_resident_bytes() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux containers
        return 0
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
