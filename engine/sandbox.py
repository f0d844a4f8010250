"""The script sandbox: every expression and script of an uploaded model runs here.

SpiffWorkflow's default is ``exec``/``eval`` with full builtins (trap 1 in the notes). Here a
source is compiled once under RestrictedPython plus OneStop's policy
(:mod:`engine.sandbox_compile`), runs with an allow-list of builtins and guards
(:mod:`engine.sandbox_guards`) and the deterministic helpers (:mod:`engine.sandbox_helpers`),
under a ``sys.settrace`` watch (:mod:`engine.sandbox_watch`) that stops it after
``cpu_seconds`` of CPU time or when the process grew by more than ``memory_bytes``. The watch
uses no signals, so it works in any thread (Streamlit runs scripts in threads). What it leaves
behind must fit task data (:mod:`engine.sandbox_data`).

Errors: anything refused or stopped is :class:`~engine.errors.ScriptRejected` (``reason``:
``syntax``, ``forbidden``, ``size``, ``cpu``, ``memory``, ``result``); an ordinary error of the
script is :class:`~engine.errors.ScriptFailed` (``error``: the exception class name). Both
carry ``element_id`` and ``line``.

Limits of the approach: nothing in Python can interrupt one C call. The guards bound the calls
that allocate in one go (``[0] * 10**9``, ``10**10**10``, ``'a'.ljust(10**10)``, ``range``), but
a structure built slowly out of shared references (a list of a million references to one
big list) can still make one comparison or ``map(str, ...)`` run long. Run workers with a
process memory limit as the backstop.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any, Literal

from engine.errors import OneStopError, ScriptFailed, ScriptRejected
from engine.sandbox_compile import SCRIPT_FILENAME, compile_source
from engine.sandbox_data import Unstorable, to_task_data
from engine.sandbox_guards import GuardRefusal, Guards
from engine.sandbox_watch import Watch

__all__ = ["Sandbox", "SandboxLimits"]


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one evaluation or script run."""

    cpu_seconds: float = 1.0  # CPU time per evaluation (time.thread_time based)
    memory_bytes: int = 64 * 2**20  # extra memory one evaluation may take (process RSS growth)
    max_sequence: int = 1_000_000  # longest str/list/range a guarded op may build


class Sandbox:
    """Compiles and runs model scripts and expressions under the sandbox's rules.

    Thread-safe: one instance may serve every thread; each run has its own watch.

    Args:
        limits: resource limits; the defaults suit conditions and short scripts.
    """

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        guards = Guards(self.limits.max_sequence)
        self._guards = guards.names()
        self._builtins = guards.builtins()

    def check(
        self,
        source: str,
        *,
        mode: Literal["exec", "eval"],
        element_id: str | None = None,
        file: str | None = None,
    ) -> None:
        """Compile only (for the designer's lint); the result is cached for later runs.

        Raises:
            ScriptRejected: a syntax error or a construct the sandbox refuses, naming the
                element, the file (if given) and the line.
        """
        self._compile(source, mode, element_id, file)

    def evaluate(
        self, expression: str, namespace: Mapping[str, Any], *, element_id: str | None = None
    ) -> Any:
        """Evaluate an expression with ``namespace`` (the task data) as its variables.

        Returns:
            The value in task-data shape (JSON types with tuples as lists, datetime,
            timedelta), so that it can be stored as it is.

        Raises:
            ScriptRejected: refused at compile time, stopped (CPU, memory, size) or the value
                cannot be stored.
            ScriptFailed: the expression raised an ordinary error.
        """
        code = self._compile(expression, "eval", element_id)
        result = self._run(code, self._scope(namespace), "eval", element_id)
        try:
            return to_task_data(result, self.limits.max_sequence, self.limits.memory_bytes)
        except Unstorable as exc:
            raise self._rejected("eval", element_id, None, "result", f"the value {exc}") from None

    def execute(self, script: str, namespace: dict[str, Any], *, element_id: str | None = None) -> None:
        """Run the script with `namespace` (the task data) as its variables.

        New and changed variables are written back into ``namespace`` (in task-data shape: tuples
        become lists) and deleted ones removed; sandbox helpers and functions defined by the
        script are not left in it. Nothing is
        written back when the script fails (objects it mutated in place stay mutated).

        Raises:
            ScriptRejected: refused at compile time, stopped (CPU, memory, size) or a variable
                holds a value task data cannot store.
            ScriptFailed: the script raised an ordinary error.
        """
        code = self._compile(script, "exec", element_id)
        scope = self._scope(namespace)
        self._run(code, scope, "exec", element_id)
        self._write_back(scope, namespace, element_id)

    # -- internals -----------------------------------------------------------------------

    def _compile(
        self, source: str, mode: Literal["exec", "eval"], element_id: str | None, file: str | None = None
    ) -> CodeType:
        compiled = compile_source(source, mode)
        if compiled.code is not None:
            return compiled.code
        first = compiled.problems[0]
        more = len(compiled.problems) - 1
        message = first.message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        raise self._rejected(
            mode,
            element_id,
            first.line,
            first.reason,
            message,
            file=file,
            problems=[f"line {p.line}: {p.message}" for p in compiled.problems],
        )

    def _scope(self, namespace: Mapping[str, Any]) -> dict[str, Any]:
        # Guards go in after the data so that no task-data key can replace one.
        scope = dict(namespace)
        scope.update(self._guards)
        scope["__builtins__"] = self._builtins
        return scope

    def _run(
        self, code: CodeType, scope: dict[str, Any], mode: Literal["exec", "eval"], element_id: str | None
    ) -> Any:
        watch = Watch(self.limits.cpu_seconds, self.limits.memory_bytes)
        previous = sys.gettrace()
        sys.settrace(watch.on_call)
        try:
            result = eval(code, scope)  # restricted code, guarded scope
        except (GuardRefusal, MemoryError) as exc:
            line = _script_line(exc.__traceback__)
            # Free what may have blown the limit now, not when the error is finally dropped:
            # the traceback's frames and the scope are the only references to it.
            exc.__traceback__ = None
            scope.clear()
            reason, message = (
                (exc.reason, exc.message)
                if isinstance(exc, GuardRefusal)
                else ("memory", "ran out of memory")
            )
            raise self._rejected(mode, element_id, line, reason, message) from exc
        except OneStopError:
            raise  # e.g. now() outside frozen_at: an engine bug, not the script's
        except Exception as exc:
            line = _script_line(exc.__traceback__)
            where = _where(mode, element_id, line)
            raise ScriptFailed(
                f"{where}: {type(exc).__name__}: {exc}",
                element_id=element_id,
                line=line,
                error=type(exc).__name__,
            ) from exc
        finally:
            sys.settrace(previous)
        if watch.stopped is not None:
            # The script cannot catch the watch's exception (no try/except), but be sure.
            raise self._rejected(mode, element_id, None, watch.stopped.reason, watch.stopped.message)
        return result

    def _write_back(self, scope: dict[str, Any], namespace: dict[str, Any], element_id: str | None) -> None:
        updates: dict[str, Any] = {}
        for key, value in scope.items():
            # Guards, __builtins__, helpers and the script's own functions are not data.
            if key.startswith("_") or callable(value):
                continue
            try:
                value = to_task_data(value, self.limits.max_sequence, self.limits.memory_bytes)
            except Unstorable as exc:
                raise self._rejected("exec", element_id, None, "result", f"variable '{key}' {exc}") from None
            if key not in namespace or namespace[key] is not value:
                updates[key] = value
        removed = [key for key in namespace if key not in scope and not key.startswith("_")]
        namespace.update(updates)
        for key in removed:
            del namespace[key]

    def _rejected(
        self,
        mode: Literal["exec", "eval"],
        element_id: str | None,
        line: int | None,
        reason: str,
        message: str,
        **details: Any,
    ) -> ScriptRejected:
        where = _where(mode, element_id, line, details.get("file"))
        return ScriptRejected(
            f"{where}: {message}", element_id=element_id, line=line, reason=reason, **details
        )


def _script_line(tb: TracebackType | None) -> int | None:
    """Line of the innermost frame of the script itself (not of a guard or helper)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _where(mode: str, element_id: str | None, line: int | None, file: str | None = None) -> str:
    text = "script" if mode == "exec" else "expression"
    if element_id:
        text += f" of element '{element_id}'"
    if file:
        text += f" in '{file}'"
    if line:
        text += f" line {line}"
    return text
