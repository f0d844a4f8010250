"""A step's instructions for staff: a Jinja template from the model, rendered in Jinja's
sandbox.

Templates come from uploaded BPMN files (SpiffArena's ``instructionsForEndUser``), so they
are untrusted: the sandboxed environment refuses attribute tricks (``__class__`` …), the
context holds only plain data, and the output is bounded. A template that fails says so in
the text instead of breaking the page.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 20_000

_ENVIRONMENT = SandboxedEnvironment(autoescape=False, undefined=Undefined)


def render_instructions(template: str | None, context: dict[str, Any]) -> str | None:
    """The rendered instructions, or None when the step has none.

    Never raises for a bad template: the result then explains what is wrong.
    """
    if not template or not template.strip():
        return None
    if len(template) > MAX_TEMPLATE_CHARS:
        return f"(the instructions are longer than {MAX_TEMPLATE_CHARS} characters and are not shown)"
    try:
        text = _ENVIRONMENT.from_string(template).render(**context)
    except TemplateError as exc:
        return f"(the instructions could not be shown: {exc.message or type(exc).__name__})"
    except (ArithmeticError, ValueError, TypeError, LookupError, RecursionError) as exc:
        return f"(the instructions could not be shown: {type(exc).__name__})"
    if len(text) > MAX_OUTPUT_CHARS:
        return text[:MAX_OUTPUT_CHARS] + " …"
    return text
