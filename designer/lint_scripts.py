"""Lint rules on the code inside a model: scripts, conditions, timer expressions, service
parameters, message payloads, loop expressions and DMN cells.

Every one of them is compiled exactly as the engine will compile it (the sandbox's restricted
compile, :func:`engine.sandbox_compile.compile_source`), so a construct the sandbox refuses
(``import``, dunder access, ``try`` ...) is reported here, with the line inside the file,
instead of failing a case later. Timer expressions get two checks of their own: an ISO-8601
value must be quoted (``"P10D"``), and cron expressions are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, Literal

from lxml import etree

from designer.bpmn_model import BPMN, LintContext, Located, line_of, local
from designer.lint_rules import Rule
from engine.sandbox_compile import compile_source
from engine.views import Finding

__all__ = ["SCRIPT_RULES"]

Mode = Literal["exec", "eval"]

_ISO_VALUE: Final = re.compile(
    r"^(R\d*/)?(P[\dYMWDTHS.,]+|\d{4}-\d{2}-\d{2}([T ][\d:.,]+)?(Z|[+-]\d{2}:?\d{2})?)(/\S+)?$"
)
_CRON: Final = re.compile(r"^[\d*/,?LW#A-Za-z-]+(\s+[\d*/,?LW#A-Za-z-]+){4,6}$")
_FOREIGN_LANGUAGE_HINT: Final = (
    "expressions are Python, not JUEL or FEEL as in other engines: write approved == True "
    "instead of ${approved}"
)
_SANDBOX_HINT: Final = (
    "scripts and expressions are plain Python without imports, dunder attributes, try/except or "
    "the wall clock (use now()); see 'Add a procedure' in the README"
)


def task_scripts(ctx: LintContext) -> Iterator[Finding]:
    """Script tasks have a script, and it and every pre-/post-script compile in the sandbox."""
    for task in ctx.model.elements("scriptTask"):
        scripts = list(task.element.iterchildren(f"{BPMN}script"))
        if not scripts or not (scripts[0].text or "").strip():
            yield task.finding(
                "error",
                "script-empty",
                f"script task {task.label} has no script",
                "write the script, or use a plain task if nothing needs computing",
            )
            continue
        yield from _compiled(task, scripts[0], scripts[0].text or "", "exec", "script")
    for node in ctx.model.elements(
        "userTask", "manualTask", "scriptTask", "serviceTask", "task", "callActivity"
    ):
        for name in ("preScript", "postScript"):
            for script in ctx.model.extension(node.element, name):
                if (script.text or "").strip():
                    yield from _compiled(node, script, script.text or "", "exec", name)


def conditions(ctx: LintContext) -> Iterator[Finding]:
    """Conditions on flows and loop expressions compile in the sandbox."""
    for flow in ctx.model.elements("sequenceFlow"):
        for condition in flow.element.iterchildren(f"{BPMN}conditionExpression"):
            if (condition.text or "").strip():
                yield from _compiled(flow, condition, condition.text or "", "eval", "condition")
    for loop in ctx.model.elements("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
        owner = loop.element.getparent()
        holder = Located(loop.file, owner) if owner is not None else loop
        for part in loop.element.iterchildren(
            f"{BPMN}loopCardinality", f"{BPMN}completionCondition", f"{BPMN}loopCondition"
        ):
            if (part.text or "").strip():
                yield from _compiled(holder, part, part.text or "", "eval", local(part))


def timers(ctx: LintContext) -> Iterator[Finding]:
    """Timer expressions are quoted ISO-8601 values (or expressions) the sandbox compiles."""
    for definition in ctx.model.elements("timerEventDefinition"):
        owner = definition.element.getparent()
        event = Located(definition.file, owner) if owner is not None else definition
        parts = list(
            definition.element.iterchildren(f"{BPMN}timeDuration", f"{BPMN}timeDate", f"{BPMN}timeCycle")
        )
        texts = [(part, (part.text or "").strip()) for part in parts]
        if not any(text for _, text in texts):
            yield event.finding(
                "error",
                "timer-empty",
                f"timer {event.label} has no time: no duration, date or cycle",
                'set a duration such as "P15D" (quoted) or an expression computing a date',
            )
            continue
        for part, text in texts:
            if text:
                yield from _timer(event, part, text)


def _timer(event: Located, part: etree._Element, text: str) -> Iterator[Finding]:
    if _ISO_VALUE.match(text):
        yield event.finding(
            "error",
            "timer-unquoted",
            f"timer {event.label} has {text} without quotes: the engine reads it as an expression, "
            "so a case reaching it fails",
            f'write "{text}" with double quotes',
            at=part,
        )
    elif _CRON.match(text) and not compile_source(text, "eval").code:
        yield event.finding(
            "error",
            "timer-cron-unsupported",
            f"timer {event.label} looks like a cron expression ({text}); the engine does not support cron",
            'use an ISO-8601 cycle such as "R/P1D" (quoted) or a duration',
            at=part,
        )
    else:
        yield from _compiled(event, part, part.text or "", "eval", "timer expression")


def service_parameters(ctx: LintContext) -> Iterator[Finding]:
    """Service-task parameter values and message payloads are expressions the sandbox compiles."""
    for task in ctx.model.elements("serviceTask"):
        for parameter in ctx.model.extension(task.element, "parameter"):
            value = parameter.get("value")
            if value is not None and value.strip():
                what = f"parameter '{parameter.get('id')}'"
                yield from _compiled(task, parameter, value, "eval", what, attribute=True)
    for holder in ctx.model.elements("intermediateThrowEvent", "endEvent", "sendTask"):
        for payload in holder.element.iter("{*}messagePayload"):
            if (payload.text or "").strip():
                yield from _compiled(holder, payload, payload.text or "", "eval", "message payload")


def decision_tables(ctx: LintContext) -> Iterator[Finding]:
    """Input expressions, input entries and output entries of every DMN table compile."""
    for file, tree in sorted(ctx.dmn.items()):
        for table in tree.getroot().iter("{*}decisionTable"):
            inputs = [(e.findtext("{*}text") or "").strip() for e in table.iter("{*}inputExpression")]
            for expression in table.iter("{*}inputExpression"):
                yield from _dmn_cell(file, expression, "eval", "input expression")
            for rule in table.iter("{*}rule"):
                for column, entry in enumerate(rule.iterfind("{*}inputEntry")):
                    source = inputs[column] if column < len(inputs) else "value"
                    yield from _input_entry(file, entry, source or "value")
                for entry in rule.iterfind("{*}outputEntry"):
                    yield from _dmn_cell(file, entry, "eval", "output entry")


def _input_entry(file: str, entry: etree._Element, source: str) -> Iterator[Finding]:
    text_element = entry.find("{*}text")
    cell = (text_element.text or "").strip() if text_element is not None else ""
    if not cell or cell == "-" or text_element is None:
        return
    # The DMN engine compares with ==, or prefixes the input when the cell starts with an
    # operator (``> 5``), or substitutes it for ``?``; compile what it will run.
    if "?" in cell:
        candidate = cell.replace("?", "dmninputexpr")
    elif compile_source(cell, "eval").code is not None or _is_forbidden(cell):
        candidate = f"({source}) == ({cell})"
    else:
        candidate = f"{source} {cell}"
    yield from _compiled(Located(file, entry), text_element, candidate, "eval", "input entry", attribute=True)


def _dmn_cell(file: str, holder: etree._Element, mode: Mode, what: str) -> Iterator[Finding]:
    text_element = holder.find("{*}text")
    if text_element is not None and (text_element.text or "").strip() not in ("", "-"):
        yield from _compiled(Located(file, holder), text_element, text_element.text or "", mode, what)


def _is_forbidden(source: str) -> bool:
    compiled = compile_source(source, "eval")
    return any(problem.reason == "forbidden" for problem in compiled.problems)


def _compiled(
    owner: Located,
    element: etree._Element,
    source: str,
    mode: Mode,
    what: str,
    *,
    attribute: bool = False,
) -> Iterator[Finding]:
    compiled = compile_source(source, mode)
    start = line_of(element) or line_of(owner.element) or 1
    shown = " ".join(source.split())
    quoted = f" `{shown[:60]}{'…' if len(shown) > 60 else ''}`" if mode == "eval" else ""
    hint = _FOREIGN_LANGUAGE_HINT if "${" in source or "#{" in source else _SANDBOX_HINT
    for problem in compiled.problems:
        line = start if attribute or problem.line is None else start + problem.line - 1
        yield Finding(
            severity="error",
            code="script-rejected",
            message=f"{what}{quoted} of {owner.kind} {owner.label} is refused by the sandbox: "
            f"{problem.message}",
            file=owner.file,
            line=line,
            element_id=owner.id,
            hint=hint,
        )


SCRIPT_RULES: Final[tuple[Rule, ...]] = (
    task_scripts,
    conditions,
    timers,
    service_parameters,
    decision_tables,
)
