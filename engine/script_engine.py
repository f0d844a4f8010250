"""SpiffWorkflow's script engine, with everything routed through the sandbox.

SpiffWorkflow evaluates scripts, pre/post scripts, gateway and loop conditions, DMN cells,
timer expressions, service-task parameters and message payloads through
``workflow.script_engine.evaluate/execute``; a few paths (ad-hoc completion conditions,
conditional start paths, message correlation expressions) call
``script_engine.environment.evaluate`` directly, so the environment is sandboxed too.
Service tasks reach a :class:`ServiceGateway` and nothing else.

Errors are raised as ``ScriptRejected``/``ScriptFailed`` carrying the BPMN element id.
SpiffWorkflow passes most of them on unchanged (``TaskSpec._run`` marks the task ERROR and
re-raises), but wraps those of DMN rules and business rule tasks in its own
``WorkflowTaskException`` with ours only in ``__context__``; :func:`find_script_error` digs
ours back out.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import OneStopError, ScriptError, ScriptFailed, ScriptRejected
from engine.sandbox import Sandbox

__all__ = [
    "SandboxedEnvironment",
    "SandboxedScriptEngine",
    "ServiceGateway",
    "find_onestop_error",
    "find_script_error",
]


class ServiceGateway(Protocol):
    """Where service tasks go: the connectors (and, on replay, their recorded answers)."""

    def call(self, element_id: str, operation: str, params: dict[str, Any]) -> Any:
        """Run ``operation`` for service task ``element_id``; returns JSON-serialisable data."""
        ...


#: Where a script task keeps what its script changed until the step is recorded as an event
#: (SpiffWorkflow shares nested task data between tasks, so the change is taken against a
#: deep copy made before the script ran, not against the parent task's data).
SCRIPT_CHANGES = "onestop_script_changes"


def script_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{"set": {name: value}, "removed": [names]}`` between two versions of task data."""
    return {
        "set": {
            key: copy.deepcopy(value)
            for key, value in after.items()
            if key not in before or before[key] != value
        },
        "removed": sorted(key for key in before if key not in after),
    }


def _merged(data: Mapping[str, Any], external_context: Mapping[str, Any] | None) -> Mapping[str, Any]:
    # SpiffWorkflow's precedence: task data wins over the external context (data objects ...).
    if not external_context:
        return data
    return {**external_context, **data}


def _run_script(
    sandbox: Sandbox,
    script: str,
    data: dict[str, Any],
    external_context: Mapping[str, Any] | None,
    element_id: str | None,
) -> None:
    if not external_context:
        sandbox.execute(script, data, element_id=element_id)
        return
    scope = dict(_merged(data, external_context))
    sandbox.execute(script, scope, element_id=element_id)
    for key in [key for key in data if key not in scope]:
        del data[key]
    for key, value in scope.items():
        # A name of the external context the script left alone stays out of task data.
        if key in data or key not in external_context or value is not external_context[key]:
            data[key] = value


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """The engine's ``environment``, for SpiffWorkflow code that bypasses the engine.

    Args:
        sandbox: where everything runs.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__({})
        self._sandbox = sandbox

    def evaluate(
        self, expression: str, context: Mapping[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Evaluate in the sandbox (no element id is known on these paths).

        Raises:
            ScriptRejected: refused or stopped by the sandbox.
            ScriptFailed: the expression failed, or ``context`` is not a mapping.
        """
        if not isinstance(context, Mapping):
            raise ScriptFailed(
                f"expression '{expression}' needs a mapping as its variables, got {type(context).__name__}",
                error="TypeError",
            )
        return self._sandbox.evaluate(expression, _merged(context, external_context))

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        """Run a script in the sandbox, writing its variables back into ``context``.

        Raises:
            ScriptRejected: refused or stopped by the sandbox.
            ScriptFailed: the script failed.
        """
        _run_script(self._sandbox, script, context, external_context, None)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        """Not a path: service calls go through :meth:`SandboxedScriptEngine.call_service`.

        Raises:
            ScriptFailed: always.
        """
        raise ScriptFailed("service calls must go through the script engine", error="NoConnectorGateway")


class SandboxedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """A ``PythonScriptEngine`` whose every evaluation runs in the sandbox.

    Errors are raised as they are (``ScriptRejected``/``ScriptFailed`` with the BPMN element
    id); SpiffWorkflow may wrap them, see :func:`find_script_error`.

    Args:
        sandbox: where scripts and expressions run.
        services: where service tasks go; ``None`` makes every service task fail clearly.
    """

    def __init__(self, sandbox: Sandbox, services: ServiceGateway | None = None) -> None:
        super().__init__(environment=SandboxedEnvironment(sandbox))
        self.sandbox = sandbox
        self.services = services

    def validate(self, expression: str) -> None:
        """Check an expression (SpiffWorkflow's DMN engine calls this on every cell).

        Raises:
            SyntaxError: the expression does not parse; the DMN engine relies on this type to
                decide whether a cell needs ``==`` (the ``ScriptRejected`` is its cause).
            ScriptRejected: it parses but uses something the sandbox refuses.
        """
        try:
            self.sandbox.check(expression, mode="eval")
        except ScriptRejected as exc:
            if exc.details.get("reason") == "syntax":
                raise SyntaxError(exc.message) from exc
            raise

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate ``expression`` with the task's data as its variables.

        Raises:
            ScriptRejected: refused or stopped by the sandbox.
            ScriptFailed: the expression raised an ordinary error.
        """
        return self.sandbox.evaluate(
            expression, _merged(task.data, external_context), element_id=_element_id(task)
        )

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        """Run ``script`` on the task's data; returns True (SpiffWorkflow then completes the task).

        Raises:
            ScriptRejected: refused or stopped by the sandbox.
            ScriptFailed: the script raised an ordinary error.
        """
        before = copy.deepcopy(task.data)
        _run_script(self.sandbox, script, task.data, external_context, _element_id(task))
        task.internal_data[SCRIPT_CHANGES] = script_changes(before, task.data)
        return True

    def call_service(
        self, task: Any, operation_name: str, operation_params: dict[str, dict[str, Any]]
    ) -> str:
        """Call the gateway with ``{name: value}`` and return its answer as JSON text.

        ``operation_params`` arrive as ``{name: {"value": v, "type": t}}``, the values already
        evaluated through :meth:`evaluate`.

        Raises:
            ScriptFailed: no gateway is configured, the gateway failed with a foreign error,
                or its answer is not JSON-serialisable.
            OneStopError: whatever the gateway raised of ours (passed through unchanged).
        """
        element_id = _element_id(task)
        if self.services is None:
            raise ScriptFailed(
                f"service task '{element_id}' calls '{operation_name}' "
                "but no connector gateway is configured",
                element_id=element_id,
                error="NoConnectorGateway",
            )
        params = {name: param["value"] for name, param in operation_params.items()}
        try:
            result = self.services.call(element_id or "", operation_name, params)
            return json.dumps(result)
        except OneStopError:
            raise
        except Exception as exc:
            raise ScriptFailed(
                f"service task '{element_id}' operation '{operation_name}' failed: "
                f"{type(exc).__name__}: {exc}",
                element_id=element_id,
                error=type(exc).__name__,
            ) from exc


def _element_id(task: Any) -> str | None:
    bpmn_id: str | None = getattr(task.task_spec, "bpmn_id", None)
    return bpmn_id


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything reachable through ``__cause__``/``__context__``, nearest first."""
    seen: set[int] = set()
    pending: deque[BaseException] = deque([exc])
    while pending:
        current = pending.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def find_onestop_error(exc: BaseException) -> OneStopError | None:
    """The nearest of our errors in ``exc`` and its ``__cause__``/``__context__`` chain, or None."""
    return next((e for e in _chain(exc) if isinstance(e, OneStopError)), None)


def find_script_error(exc: BaseException) -> ScriptError | None:
    """Walk exc, __cause__, __context__ and return our ScriptError if any.

    SpiffWorkflow wraps errors in ``WorkflowTaskException`` (DMN rules, business rule tasks;
    the original is only in ``__context__``), and its own ``call_service`` turns a service
    error into ``NameError: name 'script' is not defined`` with the real error in
    ``__context__`` (trap 4; fixed by :class:`SandboxedScriptEngine`, still handled here).
    """
    return next((e for e in _chain(exc) if isinstance(e, ScriptError)), None)
