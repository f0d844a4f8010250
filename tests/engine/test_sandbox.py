"""The script sandbox: attacks are refused or stopped, ordinary scripts work."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType, MappingProxyType
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.clock import frozen_at
from engine.errors import ScriptFailed, ScriptRejected
from engine.sandbox import Sandbox, SandboxLimits
from engine.sandbox_compile import compile_source

NOW = datetime(2025, 1, 31, 9, 30, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Sandbox:
    # A short CPU bound keeps the endless-loop tests quick; one test uses the default.
    return Sandbox(SandboxLimits(cpu_seconds=0.3))


@pytest.fixture
def clock() -> Iterator[datetime]:
    with frozen_at(NOW) as now:
        yield now


def run(sandbox: Sandbox, script: str, **data: Any) -> dict[str, Any]:
    namespace = dict(data)
    sandbox.execute(script, namespace, element_id="calc_fee")
    return namespace


ATTACKS = {
    "import": ("import os", "forbidden"),
    "from_import": ("from os import path", "forbidden"),
    "dunder_import": ("__import__('os')", "forbidden"),
    "subclasses_escape": ("x = ().__class__.__base__.__subclasses__()", "forbidden"),
    "getattr_dunder": ("x = getattr(1, '__class__')", "forbidden"),
    "format_dunder": ("x = '{0.__class__}'.format(1)", "forbidden"),
    "format_map": ("x = '{a}'.format_map({'a': 1})", "forbidden"),
    "fstring_dynamic_spec": ("w = 10\nx = f'{1:>{w}}'", "forbidden"),
    "fstring_huge_width": ("x = f'{1:>1000000000}'", "forbidden"),
    "percent_huge_width": ("x = '%1000000000d' % 1", "size"),
    "percent_star_width": ("x = '%*d' % (10**9, 1)", "size"),
    "endless_loop": ("while True: pass", "cpu"),
    "endless_loop_condition": ("n = 0\nwhile n >= 0:\n    n += 1", "cpu"),
    "endless_recursion_free_loop": ("def f():\n    while 1:\n        pass\nf()", "cpu"),
    "list_times_huge": ("x = [0] * 10**9", "size"),
    "str_times_huge": ("x = 'a' * 10**10", "size"),
    "int_times_seq": ("x = 10**9 * [0]", "size"),
    "power_tower": ("x = 10**10**10", "size"),
    "left_shift": ("x = 1 << 10**10", "size"),
    "square_until_huge": ("x = 7 ** 300000\nwhile True:\n    x = x * x", "size"),
    "range_to_list": ("x = list(range(10**9))", "size"),
    "ljust": ("x = 'a'.ljust(10**10)", "size"),
    "zfill": ("x = '1'.zfill(10**10)", "size"),
    "replace_empty": ("x = ('a' * 1000).replace('', 'b' * 10000)", "size"),
    "join": ("s = 'x' * 600000\nx = s.join([s, s])", "size"),
    "star_doubling": ("a = [0] * 1000000; a = [*a, *a]; a = [*a, *a]", "size"),
    "fstring_doubling": ("s = 'x' * 600000; s = f'{s}{s}'; s = f'{s}{s}'", "size"),
    "nested_repeat": ("s = 'x' * 1000000\nx = [s] * 1000", "size"),
    "str_of_shared_refs": ("a = ['x' * 1000] * 1000\nb = [a] * 1000\nx = str(b)", "size"),
    "sum_of_lists": ("x = sum([[1]] * 3, [])", "forbidden"),
    "memory_loop": ("l = []\nwhile True:\n    l.append('x' * 10000)", "memory"),
    "open_file": ("x = open('/etc/passwd').read()", "forbidden"),
    "datetime_now": ("x = datetime.now()", "forbidden"),
    "date_today": ("x = date.today()", "forbidden"),
    "fromtimestamp": ("x = date.fromtimestamp(0)", "forbidden"),
    "try_except": ("try:\n    x = 1\nexcept Exception:\n    pass", "forbidden"),
    "try_finally": ("try:\n    x = 1\nfinally:\n    y = 2", "forbidden"),
    "class_definition": ("class A:\n    pass", "forbidden"),
    "global": ("def f():\n    global x\n    x = 1", "forbidden"),
    "generator": ("def f():\n    yield 1", "forbidden"),
    "with": ("with x:\n    pass", "forbidden"),
    "async": ("async def f():\n    pass", "forbidden"),
    "print": ("print('x')", "forbidden"),
    "type_call": ("x = type(1)", "forbidden"),
    "eval_call": ("x = eval('1')", "forbidden"),
    "exec_call": ("exec('x = 1')", "forbidden"),
    "globals_call": ("x = globals()", "forbidden"),
    "helper_attribute": ("x = now.attribute", "forbidden"),
    "builtin_method_attribute": ("x = 'a'.upper.name", "forbidden"),
    "write_attribute": ("d = date(2025, 1, 1)\nd.year = 3", "forbidden"),
    "class_level_ljust": ("x = str.ljust('a', 10**10)", "forbidden"),
    "int_to_bytes": ("x = (1).to_bytes(10**9, 'big')", "forbidden"),
    "round_huge_digits": ("x = round(5, -10**9)", "size"),
    # Hashing a tuple nested ~150k deep overflows the C stack: nesting is bounded at 64.
    "deep_tuple_display": ("t = ()\nfor i in range(100):\n    t = (t,)\nd = {t: 1}", "size"),
    "deep_tuple_call": ("t = ()\nfor i in range(100):\n    t = tuple([t])", "size"),
    "deep_tuple_zip": ("t = ()\nfor i in range(100):\n    t = zip([t])[0]", "size"),
    "deep_tuple_enumerate": ("t = ()\nfor i in range(100):\n    t = enumerate([t])[0][1:]", "size"),
    "deep_tuple_items": ("t = ()\nfor i in range(100):\n    t = {1: t}.items()[0]", "size"),
    "deep_tuple_popitem": ("t = ()\nfor i in range(100):\n    t = {1: t}.popitem()", "size"),
    "tuple_passed_around": ("x = list(map(tuple, [[1]]))", "forbidden"),
    "star_args_function": ("def f(*args):\n    return args", "forbidden"),
    "star_args_lambda": ("f = lambda *args: args", "forbidden"),
}


@pytest.mark.parametrize(("script", "reason"), ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_is_rejected_or_stopped(sandbox: Sandbox, script: str, reason: str) -> None:
    with pytest.raises(ScriptRejected) as caught:
        run(sandbox, script)
    assert caught.value.details["reason"] == reason
    assert caught.value.details["element_id"] == "calc_fee"
    assert "calc_fee" in str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__base__.__subclasses__()",
        "__import__('os')",
        "getattr(x, '__class__')",
        "'{0.__class__}'.format(x)",
    ],
)
def test_attack_in_expression_is_rejected(sandbox: Sandbox, expression: str) -> None:
    with pytest.raises(ScriptRejected):
        sandbox.evaluate(expression, {"x": 1}, element_id="route_fee")


def test_endless_loop_stops_within_default_cpu_bound() -> None:
    started = time.monotonic()
    with pytest.raises(ScriptRejected, match="CPU time"):
        Sandbox().execute("while True: pass", {})
    assert time.monotonic() - started < 10


def test_endless_loop_stops_in_a_worker_thread(sandbox: Sandbox) -> None:
    outcome: list[ScriptRejected] = []

    def target() -> None:
        try:
            sandbox.execute("while True:\n    pass", {}, element_id="spin")
        except ScriptRejected as exc:
            outcome.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(outcome) == 1
    assert outcome[0].details["reason"] == "cpu"


def test_rejection_names_element_file_and_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptRejected) as caught:
        sandbox.check(
            "fee = 10\ntotal = fee * 2\nimport os", mode="exec", element_id="calc_fee", file="fees.bpmn"
        )
    assert str(caught.value).startswith(
        "script of element 'calc_fee' in 'fees.bpmn' line 3: import is not allowed"
    )
    assert caught.value.details["line"] == 3


def test_syntax_error_is_rejected_with_its_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptRejected) as caught:
        sandbox.check("a = 1\nb = (", mode="exec", element_id="calc_fee")
    assert caught.value.details["reason"] == "syntax"
    assert caught.value.details["line"] == 2


def test_runtime_refusal_reports_the_script_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptRejected) as caught:
        run(sandbox, "a = 1\nb = 2\nc = [0] * 10**9\nd = 4")
    assert caught.value.details["line"] == 3
    assert str(caught.value).startswith("script of element 'calc_fee' line 3: ")


def test_cpu_stop_reports_the_looping_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptRejected) as caught:
        run(sandbox, "n = 0\nwhile True:\n    n += 1")
    assert caught.value.details["line"] in (2, 3)


def test_ordinary_error_is_script_failed_with_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptFailed) as caught:
        run(sandbox, "fee = 10\ntotal = fee * 2\nresult = totl + 1")
    assert caught.value.details == {"element_id": "calc_fee", "line": 3, "error": "NameError"}
    assert str(caught.value) == "script of element 'calc_fee' line 3: NameError: name 'totl' is not defined"


def test_error_inside_script_function_reports_the_failing_line(sandbox: Sandbox) -> None:
    with pytest.raises(ScriptFailed) as caught:
        run(sandbox, "def share(total, people):\n    return total / people\n\nx = share(10, 0)")
    assert caught.value.details["line"] == 2
    assert caught.value.details["error"] == "ZeroDivisionError"


def test_failed_script_writes_nothing_back(sandbox: Sandbox) -> None:
    namespace = {"fee": 1}
    with pytest.raises(ScriptFailed):
        sandbox.execute("fee = 2\nextra = 3\nboom = 1 / 0", namespace)
    assert namespace == {"fee": 1}


def test_arithmetic_and_string_methods(sandbox: Sandbox) -> None:
    result = run(
        sandbox,
        "fee = round(base * 1.5 + 2 ** 3, 2)\n"
        "name = applicant.strip().title()\n"
        "code = '-'.join([p.upper() for p in parts])\n"
        "padded = str(7).zfill(3)\n"
        "label = f'{name} owes {fee:.2f}'\n"
        "pct = '%d%%' % 50\n"
        "big = 2 ** 64\n",
        base=10,
        applicant="  ada lovelace ",
        parts=["ab", "cd"],
    )
    assert result["fee"] == 23.0
    assert result["name"] == "Ada Lovelace"
    assert result["code"] == "AB-CD"
    assert result["padded"] == "007"
    assert result["label"] == "Ada Lovelace owes 23.00"
    assert result["pct"] == "50%"
    assert result["big"] == 18446744073709551616


def test_dict_and_list_manipulation_is_written_back(sandbox: Sandbox) -> None:
    result = run(
        sandbox,
        "items.append(4)\n"
        "items.extend([5, 6])\n"
        "person['age'] = person.get('age', 0) + 1\n"
        "pairs = sorted((v, k) for k, v in counts.items())\n"
        "first, *rest = items\n"
        "total = sum(i for i in items if i > threshold)\n"
        "del obsolete\n",
        items=[1, 2, 3],
        person={"name": "Ada"},
        counts={"a": 2, "b": 1},
        threshold=3,
        obsolete=True,
    )
    assert result["items"] == [1, 2, 3, 4, 5, 6]
    assert result["person"] == {"name": "Ada", "age": 1}
    assert result["pairs"] == [[1, "b"], [2, "a"]]  # task-data shape: tuples become lists
    assert (result["first"], result["rest"]) == (1, [2, 3, 4, 5, 6])
    assert result["total"] == 15
    assert "obsolete" not in result


def test_values_come_back_in_task_data_shape(sandbox: Sandbox) -> None:
    # A snapshot reload turns tuples into lists; doing it at once keeps live runs and
    # replays seeing the same data.
    result = run(sandbox, "pair = (1, 2)\nrows = [('a', (1,))]\nitems.append((3,))", items=[])
    assert result == {"pair": [1, 2], "rows": [["a", [1]]], "items": [[3]]}
    assert sandbox.evaluate("(x, [x])", {"x": 1}) == [1, [1]]


def test_helpers_and_script_functions_are_not_left_in_task_data(sandbox: Sandbox) -> None:
    result = run(sandbox, "def double(v):\n    return v * 2\nclock = now\nx = double(21)\nf = lambda v: v")
    assert result == {"x": 42}


def test_lazy_iterators_are_lists_so_they_cannot_chain(sandbox: Sandbox) -> None:
    # Iterators chained ~200k deep overflow the C stack when consumed; lists never chain.
    result = run(
        sandbox,
        "m = [1, -2]\n"
        "for i in range(50):\n"
        "    m = map(abs, m)\n"
        "    m = filter(None, m)\n"
        "    m = (x for x in m)\n"
        "pairs = zip('ab', enumerate('xy'))\n",
    )
    assert result["m"] == [1, 2]
    assert result["pairs"] == [["a", [0, "x"]], ["b", [1, "y"]]]


def test_deep_nesting_attacks_do_not_crash_the_process(tmp_path: Path) -> None:
    # Run at full depth in a child: if a defence regressed, the child (not the suite) dies.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from engine.sandbox import Sandbox\n"
        "from engine.errors import ScriptError\n"
        "for body in ['t = (t,)', 't = zip([t])[0]', 't = map(abs, t)', 't = (x for x in t)']:\n"
        "    script = 't = [1]\\nfor i in range(300000):\\n    ' + body + '\\nx = {tuple(t): 1}'\n"
        "    try:\n"
        "        Sandbox().execute(script, {})\n"
        "    except ScriptError:\n"
        "        pass\n"
        "print('survived')\n",
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(probe)], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "survived"


def test_evaluate_conditions(sandbox: Sandbox) -> None:
    data = {"x": 1, "items": [1, 5, 9], "limit": 4, "kind": "company"}
    assert sandbox.evaluate("x == 1", data) is True
    assert sandbox.evaluate("any(i > limit for i in items)", data) is True
    assert sandbox.evaluate("[i for i in items if i > limit]", data) == [5, 9]
    assert sandbox.evaluate("kind.upper() if kind else ''", MappingProxyType(data)) == "COMPANY"


def test_data_cannot_replace_builtins_or_guards(sandbox: Sandbox) -> None:
    data = {"__builtins__": {"len": "evil"}, "_getattr_": "evil", "x": "ab"}
    assert sandbox.evaluate("len(x.upper())", data) == 2


def test_date_helpers_use_the_injected_clock(sandbox: Sandbox, clock: datetime) -> None:
    result = run(
        sandbox,
        "stamp = now()\n"
        "day = today().isoformat()\n"
        "due = add_days('2025-01-31', 30)\n"
        "due_at = add_days(now(), 1)\n"
        "left = days_between(today(), due)\n"
        "year = (date(2024, 12, 31) + timedelta(days=1)).year\n"
        "start = datetime(2025, 3, 1, 8)\n"
        "parsed = parse_datetime('2025-03-01T08:00:00')\n"
        "same = start == parsed\n"
        "weekday = parse_date('2025-02-03').weekday()\n",
    )
    assert result["stamp"] == clock
    assert result["day"] == "2025-01-31"
    assert result["due"] == "2025-03-02"
    assert result["due_at"] == clock + timedelta(days=1)
    assert result["left"] == 30
    assert result["year"] == 2025
    assert result["start"] == datetime(2025, 3, 1, 8, tzinfo=UTC)
    assert result["same"] is True
    assert result["weekday"] == 0


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("iso_duration(days=3)", "P3D"),
        ("iso_duration(hours=2)", "PT2H"),
        ("iso_duration(days=1, hours=2, minutes=30)", "P1DT2H30M"),
        ("iso_duration()", "P0D"),
    ],
)
def test_iso_duration_is_understood_by_spiff_timers(sandbox: Sandbox, call: str, expected: str) -> None:
    text = sandbox.evaluate(call, {})
    assert text == expected
    TimerEventDefinition.parse_iso_duration(text)


@pytest.mark.parametrize(
    ("script", "hint"),
    [
        ("d = today()", "isoformat"),
        ("s = {1, 2}", "list"),
        ("r = reversed([1, 2])", "list()"),
        ("d = {1: 'a'}", "keys must be strings"),
        ("l = []\nl.append(l)", "nested too deeply"),
    ],
)
def test_values_task_data_cannot_store_are_rejected(
    sandbox: Sandbox, clock: datetime, script: str, hint: str
) -> None:
    with pytest.raises(
        ScriptRejected, match=r"cannot store|keys must be strings|nested too deeply"
    ) as caught:
        run(sandbox, script)
    assert caught.value.details["reason"] == "result"
    assert hint in str(caught.value)


def test_expression_value_must_be_storable(sandbox: Sandbox, clock: datetime) -> None:
    with pytest.raises(ScriptRejected, match="date value"):
        sandbox.evaluate("today()", {}, element_id="due_timer")


def test_existing_tracer_is_restored() -> None:
    def outer_tracer(frame: FrameType, event: str, arg: Any) -> None:
        return None

    sandbox = Sandbox(SandboxLimits(cpu_seconds=0.2))
    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        sandbox.execute("x = 1", {})
        with pytest.raises(ScriptRejected):
            sandbox.execute("while True: pass", {})
        with pytest.raises(ScriptFailed):
            sandbox.evaluate("1 / 0", {})
        restored = sys.gettrace()
    finally:
        sys.settrace(previous)
    assert restored is outer_tracer


def test_no_tracer_is_left_behind(sandbox: Sandbox) -> None:
    before = sys.gettrace()
    sandbox.evaluate("x + 1", {"x": 1})
    with pytest.raises(ScriptRejected):
        run(sandbox, "while True: pass")
    assert sys.gettrace() is before


def test_compiled_code_is_cached(sandbox: Sandbox) -> None:
    source = "cached_probe_value == 41 + 1"
    sandbox.evaluate(source, {"cached_probe_value": 42})
    hits = compile_source.cache_info().hits
    sandbox.evaluate(source, {"cached_probe_value": 1})
    assert compile_source.cache_info().hits == hits + 1


def test_date_values_support_ordinary_methods(sandbox: Sandbox) -> None:
    data = {"when": datetime(2025, 5, 6, 7, 8, tzinfo=UTC)}
    assert sandbox.evaluate("when.isoformat()", data) == "2025-05-06T07:08:00+00:00"
    assert sandbox.evaluate("when.year * 100 + when.month", data) == 202505
    assert sandbox.evaluate("date.fromisoformat('2025-01-02').day", {}) == 2
    assert sandbox.evaluate("str(date(2025, 1, 2))", {}) == str(date(2025, 1, 2))
