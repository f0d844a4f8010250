"""Build a tiny procedure around one script task, to test what scripts may do to a case."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://onestop.example/bpmn">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_clerk" name="clerk">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>enter</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>calc</bpmn:flowNodeRef><bpmn:flowNodeRef>after</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="enter" name="Enter"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="calc" name="Calculate"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="after" name="After"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="enter" />
    <bpmn:sequenceFlow id="f1" sourceRef="enter" targetRef="calc" />
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="after" />
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def write_scripted_procedure(folder: Path, code: str, script: str) -> Path:
    """A package folder ``folder/code`` whose script task ``calc`` runs ``script``."""
    package = folder / code
    package.mkdir(parents=True)
    (package / "process.bpmn").write_text(TEMPLATE.format(script=escape(script)), encoding="utf-8")
    (package / "manual.yaml").write_text(f"code: {code}\nstarter_role: clerk\n", encoding="utf-8")
    return package
