"""Compile-time half of the script sandbox.

Model scripts are compiled with RestrictedPython's ``compile_restricted`` family and a policy
that adds OneStop's own rules to RestrictedPython's: no imports, no ``try`` (a script must
not be able to swallow the time limit), no classes, generators, ``with``, ``global``, no calls
of introspection builtins, no ``str.format`` or wall-clock attributes, and only small constant
f-string format specs. Operators that can allocate a huge object in one C call (``+ * ** <<
%``), f-strings, starred unpacking, tuple displays and ``while`` tests are rewritten into calls
of guards (see :mod:`engine.sandbox_guards`), so that they are checked before they allocate and
so that every loop iteration reaches the CPU-time tracer.

Two CPython 3.11 crashes shape the rules: hashing a tuple nested ~150k deep, and consuming
lazy iterators chained that deep, overflow the C stack (no recursion check) and kill the
process. So every tuple a script builds is measured (``tuple`` may only be called directly,
``*args`` parameters are refused), and generator expressions compile to list comprehensions.

Compiled code is cached by ``(source, mode)``: conditions are evaluated thousands of times.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from types import CodeType
from typing import Literal, cast

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

#: File name given to every compiled script; the tracer and the error translation use it to
#: tell the script's own frames from the sandbox's.
SCRIPT_FILENAME = "<onestop-script>"

#: Largest number allowed in an f-string format spec or a ``%`` conversion (width, precision).
MAX_FORMAT_WIDTH = 200

Mode = Literal["exec", "eval"]
Visited = ast.AST | Iterable[ast.AST] | None

# Builtins that give access to objects' internals, the interpreter or the file system. They are
# not in the allow-list anyway; naming them in a call is refused at compile time so that the
# designer's lint reports it (a bare name such as a form field called ``type`` stays usable).
_FORBIDDEN_CALLS = frozenset(
    {
        "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open",
        "type", "vars", "globals", "locals", "dir", "input", "breakpoint", "help",
        "memoryview", "object", "super", "classmethod", "staticmethod", "property",
        "id", "exit", "quit", "format", "repr", "ascii", "iter", "next", "bytearray",
    }
)  # fmt: skip

#: Attribute names refused on every object, with the reason given to the model's author.
BLOCKED_ATTRIBUTES: dict[str, str] = {
    "format": "str.format can reach object internals through its format string; use an f-string",
    "format_map": "str.format_map can reach object internals; use an f-string",
    "now": "it reads the wall clock; use the helper now()",
    "today": "it reads the wall clock; use the helper today()",
    "utcnow": "it reads the wall clock; use the helper now()",
    "fromtimestamp": "it depends on the server clock and time zone; use parse_datetime()",
    "utcfromtimestamp": "it depends on the server clock; use parse_datetime()",
    "mro": "type internals are not available in scripts",
    "translate": "it can build unbounded strings; use replace()",
    "maketrans": "it can build unbounded strings; use replace()",
    "to_bytes": "it allocates as many bytes as asked for in one step",
}

_REFUSED_STATEMENTS: dict[type[ast.AST], str] = {
    ast.Import: "import is not allowed in scripts; the helpers (now(), date() ...) are built in",
    ast.ImportFrom: "import is not allowed in scripts; the helpers (now(), date() ...) are built in",
    ast.Try: "try/except is not allowed in scripts: an error or the time limit must stop the script",
    ast.TryStar: "try/except is not allowed in scripts: an error must stop the script",
    ast.ClassDef: "class definitions are not allowed in scripts",
    ast.Global: "global is not allowed in scripts",
    ast.Nonlocal: "nonlocal is not allowed in scripts",
    ast.Yield: "yield (generators) is not allowed in scripts",
    ast.YieldFrom: "yield (generators) is not allowed in scripts",
    ast.With: "with statements are not allowed in scripts",
    ast.AsyncWith: "async code is not allowed in scripts",
    ast.AsyncFor: "async code is not allowed in scripts",
    ast.AsyncFunctionDef: "async code is not allowed in scripts",
    ast.Await: "async code is not allowed in scripts",
}

# Operators whose result size is not bounded by their operands' size (or that format text).
_GUARDED_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}

_SPEC_NUMBER = re.compile(r"\d+")
_ERROR_LINE = re.compile(r"Line (\d+|None): (.*)", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    """One reason a source was refused at compile time."""

    line: int | None
    message: str
    reason: str  # "syntax" or "forbidden"


@dataclass(frozen=True)
class CompiledSource:
    """The outcome of compiling one source: code, or the problems that refused it."""

    code: CodeType | None
    problems: tuple[Problem, ...]


def _guard_call(guard: str, args: list[ast.expr], where: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(guard, ast.Load()), args=args, keywords=[])
    copy_locations(call, where)
    return call


class OneStopPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the sandbox's own refusals and guard rewrites."""

    def __init__(
        self,
        errors: list[str] | None = None,
        warnings: list[str] | None = None,
        used_names: dict[str, bool] | None = None,
    ) -> None:
        super().__init__(errors, warnings, used_names)
        # Name nodes where ``tuple`` may appear: a direct call, or isinstance()'s type argument.
        self._allowed_tuple_names: set[int] = set()

    def visit(self, node: ast.AST) -> Visited:
        refusal = _REFUSED_STATEMENTS.get(type(node))
        if refusal is not None:
            self.error(node, refusal)
            return None
        result: Visited = super().visit(node)
        return result

    def visit_Name(self, node: ast.Name) -> Visited:
        if node.id in ("print", "printed"):
            # RestrictedPython would collect output; scripts have nowhere to show it.
            self.error(node, "print is not available in scripts; store the value in a variable")
            return node
        if (
            node.id == "tuple"
            and isinstance(node.ctx, ast.Load)
            and id(node) not in self._allowed_tuple_names
        ):
            # tuple is the real type (isinstance needs it), so it cannot be a guarded wrapper;
            # passed around (map(tuple, ...)) it would nest tuples unchecked.
            self.error(node, "tuple can only be called directly (tuple(x)) or named in isinstance()")
        return super().visit_Name(node)

    def visit_Call(self, node: ast.Call) -> Visited:
        func = node.func
        if isinstance(func, ast.Name):
            self._check_call_of(func, node)
        result = super().visit_Call(node)
        if not (isinstance(result, ast.Call) and isinstance(result.func, ast.Name) and len(result.args) == 1):
            return result
        if result.func.id == "str" and not isinstance(result.args[0], ast.Starred) and not result.keywords:
            # str(container) renders every shared reference again: measure it first.
            result.args[0] = _guard_call("_text_", [result.args[0]], result.args[0])
        elif result.func.id == "tuple":
            result.args[0] = _guard_call("_tuple_items_", [result.args[0]], result.args[0])
        return result

    def _check_call_of(self, func: ast.Name, node: ast.Call) -> None:
        if func.id in _FORBIDDEN_CALLS:
            self.error(node, f"{func.id}() is not available in scripts")
        elif func.id == "tuple":
            if len(node.args) > 1 or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                self.error(node, "tuple() takes at most one plain argument in scripts")
            self._allowed_tuple_names.add(id(func))
        elif func.id == "isinstance" and len(node.args) == 2:
            kinds = node.args[1]
            for kind in kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]:
                self._allowed_tuple_names.add(id(kind))

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load) and not all(isinstance(e, ast.Constant) for e in node.elts):
            # Hashing a deeply nested tuple overflows the C stack (CPython 3.11 has no
            # recursion check there): every tuple a script builds is measured.
            return _guard_call("_tuple_", [node], node)
        return node

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> Visited:
        # Lazy iterators chained a few hundred thousand deep overflow the C stack when
        # consumed (no recursion check in 3.11); a list comprehension never chains.
        visited = super().visit_GeneratorExp(node)
        if not isinstance(visited, ast.GeneratorExp):
            return visited
        eager = ast.ListComp(elt=visited.elt, generators=visited.generators)
        return ast.copy_location(eager, visited)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Visited:
        self._refuse_varargs(node)
        return super().visit_FunctionDef(node)

    def visit_Lambda(self, node: ast.Lambda) -> Visited:
        self._refuse_varargs(node)
        return super().visit_Lambda(node)

    def _refuse_varargs(self, node: ast.FunctionDef | ast.Lambda) -> None:
        if node.args.vararg is not None:
            # *args packs the caller's values into a tuple no guard sees (see visit_Tuple).
            self.error(node, "*args parameters are not allowed in scripts")

    def visit_Attribute(self, node: ast.Attribute) -> Visited:
        reason = BLOCKED_ATTRIBUTES.get(node.attr)
        if reason is not None:
            self.error(node, f"attribute '{node.attr}' is not allowed: {reason}")
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _GUARDED_OPERATORS.get(type(node.op))
        if guard is None:
            return node
        return _guard_call(guard, [node.left, node.right], node)

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        # CPython 3.11 emits no trace event for a loop that jumps to itself
        # (``while True: pass``); a call in the test gives the tracer one per iteration.
        node.test = _guard_call("_tick_", [node.test], node.test)
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _guard_call("_star_", [node.value], node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node = self.node_contents_visit(node)
        return _guard_call("_fstr_", [node], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self._check_format_spec(node)
        # Only the value is visited: the spec must stay a plain JoinedStr.
        value = cast(ast.expr, self.visit(node.value))
        node.value = _guard_call("_text_", [value], node.value)
        return node

    def _check_format_spec(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        if spec is None:
            return
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                self.error(node, "f-string format specs must be constant (no {...} inside)")
                return
            if any(int(n) > MAX_FORMAT_WIDTH for n in _SPEC_NUMBER.findall(part.value)):
                self.error(node, f"f-string widths and precisions above {MAX_FORMAT_WIDTH} are not allowed")
                return


@functools.lru_cache(maxsize=4096)
def compile_source(source: str, mode: Mode) -> CompiledSource:
    """Compile ``source`` under the sandbox policy; cached by ``(source, mode)``.

    Never raises for bad input: syntax errors and refusals come back as problems.
    """
    try:
        # Invalid escape sequences and the like warn at compile time; a model's warnings
        # must not turn into errors (pytest -W error) or flood the log. catch_warnings is
        # process-wide, but compiling is rare: results are cached.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if mode == "exec":
                module = ast.parse(source, SCRIPT_FILENAME, "exec")
                result = compile_restricted_exec(module, filename=SCRIPT_FILENAME, policy=OneStopPolicy)
            else:
                expression = ast.parse(source, SCRIPT_FILENAME, "eval")
                result = compile_restricted_eval(expression, filename=SCRIPT_FILENAME, policy=OneStopPolicy)
    except SyntaxError as exc:
        return CompiledSource(None, (Problem(exc.lineno, f"syntax error: {exc.msg}", "syntax"),))
    except (ValueError, RecursionError, MemoryError) as exc:
        # Null bytes (ValueError) or nesting too deep for the parser or the policy.
        message = f"cannot be compiled: {type(exc).__name__}: {exc}"
        return CompiledSource(None, (Problem(None, message, "syntax"),))
    if result.errors:
        return CompiledSource(None, tuple(_problem_from(text) for text in result.errors))
    return CompiledSource(result.code, ())


def _problem_from(text: str) -> Problem:
    """Turn RestrictedPython's ``"Line 3: message"`` strings into structured problems."""
    match = _ERROR_LINE.fullmatch(text)
    if match is None:
        return Problem(None, text, "forbidden")
    line = None if match.group(1) == "None" else int(match.group(1))
    message = match.group(2)
    reason = "syntax" if message.startswith("SyntaxError") else "forbidden"
    return Problem(line, message, reason)
