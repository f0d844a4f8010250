"""SpiffWorkflow runs every script, condition, rule, payload and timer through the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.clock import frozen_at
from engine.errors import CaseConflict, ScriptFailed, ScriptRejected
from engine.sandbox import Sandbox, SandboxLimits
from engine.script_engine import SandboxedScriptEngine, find_onestop_error, find_script_error

DATA = Path(__file__).resolve().parents[1] / "data"


class FakeRegistry:
    """A ServiceGateway that records its calls and answers from a table."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answer = {"office": "north", "found": True} if answer is None else answer
        self.error = error

    def call(self, element_id: str, operation: str, params: dict[str, Any]) -> Any:
        self.calls.append((element_id, operation, params))
        if self.error is not None:
            raise self.error
        return self.answer


@pytest.fixture(autouse=True)
def clock() -> Iterator[datetime]:
    with frozen_at(datetime(2025, 2, 1, tzinfo=UTC)) as now:
        yield now


def start_workflow(
    process_id: str,
    bpmn: str,
    dmn: str | None = None,
    data: dict[str, Any] | None = None,
    services: FakeRegistry | None = None,
    sandbox: Sandbox | None = None,
) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(etree.parse(str(DATA / bpmn)).getroot(), filename=bpmn)
    if dmn is not None:
        parser.add_dmn_xml(etree.parse(str(DATA / dmn)).getroot(), filename=dmn)
    engine = SandboxedScriptEngine(sandbox or Sandbox(), services)
    spec, subprocess_specs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    workflow.task_tree.data.update(data or {})
    return workflow


def flow(base: int, name: str = " ada ", services: FakeRegistry | None = None) -> BpmnWorkflow:
    data = {"base": base, "name": name, "submitted_on": "2025-01-31"}
    return start_workflow("sandbox_flow", "sandbox_flow.bpmn", "sandbox_category.dmn", data, services)


def task_data(workflow: BpmnWorkflow, element_id: str) -> dict[str, Any]:
    [task] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == element_id]
    data: dict[str, Any] = task.data
    return data


def completed(workflow: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)}


def state_of(workflow: BpmnWorkflow, element_id: str) -> TaskState:
    [task] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == element_id]
    state: TaskState = task.state
    return state


def test_script_task_runs_in_sandbox_with_helpers() -> None:
    workflow = flow(base=150, services=FakeRegistry())
    workflow.do_engine_steps()
    data = task_data(workflow, "calc_fee")
    assert data["fee"] == 300
    assert data["label"] == "ADA"
    assert data["due"] == "2025-03-02"
    assert data["days_left"] == 29  # today() is the injected clock's date, 2025-02-01


def test_gateway_condition_takes_the_high_fee_path() -> None:
    workflow = flow(base=150, services=FakeRegistry())
    workflow.do_engine_steps()
    assert "lookup_registry" in completed(workflow)
    assert "end_low" not in completed(workflow)


def test_gateway_default_flow_when_condition_is_false() -> None:
    workflow = flow(base=10)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert "end_low" in completed(workflow)
    assert "lookup_registry" not in completed(workflow)


def test_service_task_goes_through_the_gateway_with_plain_params() -> None:
    registry = FakeRegistry()
    workflow = flow(base=150, services=registry)
    workflow.do_engine_steps()
    assert registry.calls == [("lookup_registry", "registry.lookup", {"person": "ADA", "amount": 301})]
    data = task_data(workflow, "lookup_registry")
    assert data["registry"] == {"office": "north", "found": True}
    assert data["attempt"] == 1  # spiffworkflow:preScript ran too


def test_business_rule_evaluates_dmn_cells_through_the_sandbox() -> None:
    workflow = flow(base=150, services=FakeRegistry())
    workflow.do_engine_steps()
    assert task_data(workflow, "decide_category")["category"] == "standard-north"


def test_message_payload_expression_is_evaluated() -> None:
    workflow = flow(base=150, services=FakeRegistry())
    workflow.do_engine_steps()
    [event] = workflow.get_events()
    assert event.payload == {"fee": 300, "category": "standard-north"}


def test_timer_expression_uses_a_sandbox_helper() -> None:
    workflow = flow(base=150, services=FakeRegistry())
    workflow.do_engine_steps()
    [timer] = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "wait_review"]
    assert timer.state == TaskState.WAITING
    assert datetime.fromisoformat(timer.internal_data["event_value"]).tzinfo is not None


def test_malicious_script_task_is_rejected_with_its_element_and_line() -> None:
    workflow = start_workflow("sandbox_malicious", "sandbox_malicious.bpmn")
    with pytest.raises(Exception) as caught:
        workflow.do_engine_steps()
    found = find_script_error(caught.value)
    assert isinstance(found, ScriptRejected)
    assert found.details["element_id"] == "evil"
    assert found.details["line"] == 2
    assert state_of(workflow, "evil") == TaskState.ERROR


def test_malicious_dmn_cell_is_found_inside_spiff_wrapping() -> None:
    workflow = start_workflow(
        "sandbox_malicious_rule", "sandbox_malicious_rule.bpmn", "sandbox_malicious.dmn", {"fee": 1}
    )
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    found = find_script_error(caught.value)
    assert isinstance(found, ScriptRejected)
    assert "__import__" in str(found)


def test_endless_script_task_is_stopped() -> None:
    sandbox = Sandbox(SandboxLimits(cpu_seconds=0.2))
    workflow = start_workflow("sandbox_endless", "sandbox_endless.bpmn", sandbox=sandbox)
    with pytest.raises(ScriptRejected) as caught:
        workflow.do_engine_steps()
    assert caught.value.details["reason"] == "cpu"
    assert caught.value.details["element_id"] == "spin"


def test_service_task_without_gateway_fails_clearly() -> None:
    workflow = flow(base=150, services=None)
    with pytest.raises(ScriptFailed, match="no connector gateway") as caught:
        workflow.do_engine_steps()
    assert caught.value.details["element_id"] == "lookup_registry"


def test_foreign_gateway_error_becomes_script_failed() -> None:
    workflow = flow(base=150, services=FakeRegistry(error=ConnectionError("registry down")))
    with pytest.raises(ScriptFailed, match="registry down") as caught:
        workflow.do_engine_steps()
    assert caught.value.details["error"] == "ConnectionError"


def test_our_gateway_error_passes_through_unchanged() -> None:
    conflict = CaseConflict("case changed meanwhile")
    workflow = flow(base=150, services=FakeRegistry(error=conflict))
    with pytest.raises(CaseConflict) as caught:
        workflow.do_engine_steps()
    assert caught.value is conflict


def test_gateway_answer_that_is_not_json_fails() -> None:
    workflow = flow(base=150, services=FakeRegistry(answer={"when": object()}))
    with pytest.raises(ScriptFailed, match="failed: TypeError"):
        workflow.do_engine_steps()


def test_call_service_returns_json_text() -> None:
    registry = FakeRegistry(answer=[1, "two"])
    engine = SandboxedScriptEngine(Sandbox(), registry)
    task = flow(base=1).task_tree
    params = {"a": {"value": 5, "type": "int"}}
    assert json.loads(engine.call_service(task, operation_name="op", operation_params=params)) == [1, "two"]
    assert registry.calls[0][2] == {"a": 5}


def test_environment_used_directly_is_sandboxed() -> None:
    engine = SandboxedScriptEngine(Sandbox())
    assert engine.environment.evaluate("x + 1", {"x": 1}) == 2
    assert engine.environment.evaluate("x + y", {"x": 1}, external_context={"y": 2}) == 3
    with pytest.raises(ScriptRejected):
        engine.environment.evaluate("().__class__", {})
    context = {"x": 1}
    assert engine.environment.execute("x = x + 1\ny = 3", context) is True
    assert context == {"x": 2, "y": 3}


def test_execute_keeps_external_context_out_of_task_data() -> None:
    engine = SandboxedScriptEngine(Sandbox())
    task = flow(base=1).task_tree
    task.data = {"a": 1}
    engine.execute(task, "b = a + helper_value", external_context={"helper_value": 10})
    assert task.data == {"a": 1, "b": 11}


def test_validate_raises_syntax_error_as_the_dmn_engine_expects() -> None:
    engine = SandboxedScriptEngine(Sandbox())
    with pytest.raises(SyntaxError):
        engine.validate("> 5")
    engine.validate("v > 5")
    with pytest.raises(ScriptRejected):
        engine.validate("__import__('os')")


def test_find_script_error_digs_through_cause_and_context() -> None:
    original = ScriptFailed("script line 1: ZeroDivisionError", error="ZeroDivisionError")
    try:
        try:
            raise original
        except ScriptFailed:
            raise NameError("name 'script' is not defined") from None  # trap 4's shape
    except NameError as wrapped:
        wrapped.__context__ = original
        outer = RuntimeError("wrapper")
        outer.__cause__ = wrapped
    assert find_script_error(outer) is original
    assert find_onestop_error(outer) is original
    assert find_script_error(RuntimeError("plain")) is None
