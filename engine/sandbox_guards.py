"""Run-time half of the script sandbox: the guards compiled scripts call, and their builtins.

RestrictedPython rewrites ``a.b``, ``a[b]``, ``a.b = c``, ``x += y`` and unpacking into calls
of ``_getattr_``, ``_getitem_``, ``_write_``, ``_inplacevar_`` ...; :mod:`engine.sandbox_compile`
adds ``_add_ _mul_ _pow_ _lshift_ _mod_ _text_ _fstr_ _star_ _tick_``. The guards here check
sizes *before* one C call could allocate gigabytes (``[0] * 10**9``, ``10**10**10``,
``'a'.ljust(10**10)``), allow attributes only on plain data values, and refuse the wall clock.
A refusal is a :class:`GuardRefusal`; :mod:`engine.sandbox` turns it into ``ScriptRejected``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.sandbox_compile import BLOCKED_ATTRIBUTES, MAX_FORMAT_WIDTH
from engine.sandbox_helpers import HELPERS


class GuardRefusal(Exception):
    """A guard refused an operation; ``reason`` is ``forbidden``, ``size`` or ``cpu``/``memory``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# Values whose attributes scripts may use (exact types: a subclass could override anything).
_DATA_TYPES: frozenset[type] = frozenset(
    {str, int, float, bool, list, dict, tuple, set, frozenset, date, datetime, time, timedelta,
     timezone, range, type({}.keys()), type({}.values()), type({}.items())}
)  # fmt: skip
# Classes whose attributes scripts may use (``str.upper``, ``date.fromisoformat`` ...).
_DATA_CLASSES: frozenset[type] = frozenset(
    {str, int, float, bool, list, dict, tuple, set, frozenset, date, datetime, timedelta}
)
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None), date, datetime, timedelta})
# Methods whose result can be far larger than the object; guarded per call, refused on classes.
_SIZED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "join"})
# Methods replaced by a checking wrapper on values; refused on classes (dict.items(d) ...).
_WRAPPED_METHODS = frozenset({"extend", "items", "popitem"})
#: Largest ``ndigits`` (either sign) round() accepts.
MAX_ROUND_DIGITS = 1000
#: Deepest tuple nesting a script may build.
MAX_TUPLE_DEPTH = 64
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}  # fmt: skip


def _tick(value: Any) -> Any:
    """Identity: called in every ``while`` test so that the tracer sees each iteration."""
    return value


def _getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class Guards:
    """The guard functions for one set of limits.

    Args:
        max_sequence: longest str/list/tuple a guarded operation may build; integers built
            by ``* ** <<`` may have at most this many bits.
    """

    def __init__(self, max_sequence: int) -> None:
        self._max = max_sequence
        self._augmented: dict[str, Callable[[Any, Any], Any]] = {
            "+=": self.add, "*=": self.mul, "**=": self.power, "<<=": self.lshift, "%=": self.mod
        }  # fmt: skip

    def names(self) -> dict[str, Any]:
        """Guard names the compiled code looks up as globals."""
        return {
            "_getattr_": self.get_attribute,
            "_getitem_": _getitem,
            "_getiter_": iter,
            "_write_": self.writable,
            "_inplacevar_": self.inplacevar,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_apply_": _apply,
            "_add_": self.add,
            "_mul_": self.mul,
            "_pow_": self.power,
            "_lshift_": self.lshift,
            "_mod_": self.mod,
            "_text_": self.text,
            "_fstr_": self.fstr,
            "_star_": self.star,
            "_tick_": _tick,
            "_tuple_": self.checked_tuple,
            "_tuple_items_": self.tuple_items,
        }

    def builtins(self) -> dict[str, Any]:
        """The allow-list of builtins plus the deterministic helpers."""
        allowed: dict[str, Any] = {
            "None": None, "True": True, "False": False,
            "len": len, "min": min, "max": max, "abs": abs, "round": self.bounded_round, "divmod": divmod,
            "sorted": sorted, "reversed": reversed, "any": any, "all": all,
            "map": self.eager_map, "filter": self.eager_filter, "isinstance": isinstance,
            "str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
            "set": set, "tuple": tuple, "chr": chr, "ord": ord,
            "range": self.bounded_range, "sum": self.numeric_sum,
            "enumerate": self.checked_enumerate, "zip": self.checked_zip,
        }  # fmt: skip
        allowed.update(HELPERS)
        return allowed

    # -- size checks ---------------------------------------------------------------------

    def _check_length(self, length: int, what: str) -> None:
        if length > self._max:
            raise GuardRefusal("size", f"{what} would build {length:,} items (limit {self._max:,})")

    def _check_bits(self, bits: int, what: str) -> None:
        if bits > self._max:
            raise GuardRefusal("size", f"{what} would build a {bits:,}-bit number (limit {self._max:,} bits)")

    def _check_repeat(self, seq: Any, times: int) -> None:
        if times <= 1:
            return
        self._check_length(len(seq) * times, "repeating a sequence")
        if isinstance(seq, (list, tuple)):
            # [inner] * n shares inner n times: str() or JSON would expand every copy.
            nested = sum(len(item) for item in seq if isinstance(item, _SEQUENCES + _CONTAINERS))
            self._check_length(nested * times, "repeating nested sequences")

    def _check_nesting(self, value: tuple[Any, ...]) -> None:
        """Refuse a tuple nested deeper than MAX_TUPLE_DEPTH (its hash would recurse in C)."""
        stack = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_TUPLE_DEPTH:
                raise GuardRefusal(
                    "size", f"tuples nested deeper than {MAX_TUPLE_DEPTH} levels are not allowed"
                )
            stack.extend((element, depth + 1) for element in item if isinstance(element, tuple))

    def _check_rendered(self, value: Any) -> None:
        """Refuse a container whose text form would exceed the limit (shared refs count again)."""
        budget = self._max
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                budget -= len(item) + 2
            elif isinstance(item, dict):
                budget -= 2 + 2 * len(item)
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, _CONTAINERS):
                budget -= 2 + len(item)
                stack.extend(item)
            else:
                budget -= 4
            if budget < 0:
                raise GuardRefusal("size", f"the text of this value would exceed {self._max:,} characters")

    # -- operators -----------------------------------------------------------------------

    def add(self, a: Any, b: Any) -> Any:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self._check_length(len(a) + len(b), "joining two sequences")
        return a + b

    def mul(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            self._check_bits(a.bit_length() + b.bit_length(), "multiplying")
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self._check_repeat(a, b)
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self._check_repeat(b, a)
        return a * b

    def power(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and b > 1 and a not in (-1, 0, 1):
            self._check_bits(a.bit_length() * b, "raising to a power")
        return a**b

    def lshift(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and a != 0 and b > 0:
            self._check_bits(a.bit_length() + b, "shifting")
        return a << b

    def mod(self, a: Any, b: Any) -> Any:
        if not isinstance(a, (str, bytes)):
            return a % b
        fields = _PERCENT_FIELD.findall(a if isinstance(a, str) else a.decode("latin-1"))
        for width, precision, _conversion in fields:
            for number in (width, precision):
                if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                    raise GuardRefusal(
                        "size", f"% formatting widths above {MAX_FORMAT_WIDTH} (or *) are not allowed"
                    )
        self.text(b)
        result = a % b
        self._check_length(len(result), "% formatting")
        return result

    def inplacevar(self, op: str, x: Any, y: Any) -> Any:
        guard = self._augmented.get(op)
        if guard is not None and not isinstance(x, list):
            return guard(x, y)  # immutable x: x op= y is x = x op y
        # A list changes in place (other names for it must see the change): check, then apply.
        if op == "+=" and isinstance(x, list) and isinstance(y, _SEQUENCES):
            self._check_length(len(x) + len(y), "extending a list")
        elif op == "*=" and isinstance(x, list) and isinstance(y, int):
            self._check_repeat(x, y)
        return _INPLACE[op](x, y)

    def text(self, value: Any) -> Any:
        if type(value) not in _SCALARS and isinstance(value, _CONTAINERS):
            self._check_rendered(value)
        return value

    def fstr(self, value: str) -> str:
        self._check_length(len(value), "an f-string")
        return value

    def star(self, value: Any) -> Any:
        if isinstance(value, _SEQUENCES + _CONTAINERS):
            self._check_length(len(value), "unpacking with *")
        return value

    def checked_tuple(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        self._check_nesting(value)
        return value

    def tuple_items(self, items: Iterable[Any]) -> list[Any]:
        values = list(items)
        self._check_nesting(tuple(values))
        return values

    # -- builtins ------------------------------------------------------------------------

    # map, filter, zip and enumerate return lists, not lazy iterators: iterators chained a few
    # hundred thousand deep (m = map(f, m) in a loop) overflow the C stack when consumed.
    # zip, enumerate and dict.items() also pack existing values into new tuples, so each
    # one is measured (see engine.sandbox_compile.OneStopPolicy.visit_Tuple for why).

    def eager_map(self, func: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        return list(map(func, *iterables))

    def eager_filter(self, func: Callable[[Any], Any] | None, iterable: Iterable[Any]) -> list[Any]:
        return list(filter(func, iterable))

    def checked_zip(self, *iterables: Iterable[Any], strict: bool = False) -> list[tuple[Any, ...]]:
        rows = list(zip(*iterables, strict=strict))
        for row in rows:
            self._check_nesting(row)
        return rows

    def checked_enumerate(self, iterable: Iterable[Any], start: int = 0) -> list[tuple[int, Any]]:
        rows = list(enumerate(iterable, start))
        for row in rows:
            self._check_nesting(row)
        return rows

    def _dict_items(self, target: dict[Any, Any]) -> Callable[[], list[tuple[Any, Any]]]:
        def items() -> list[tuple[Any, Any]]:
            # A list, not a live view: a view would pack values added after this check.
            rows = list(target.items())
            for row in rows:
                self._check_nesting(row)
            return rows

        return items

    def _dict_popitem(self, target: dict[Any, Any]) -> Callable[[], tuple[Any, Any]]:
        def popitem() -> tuple[Any, Any]:
            row = target.popitem()
            self._check_nesting(row)
            return row

        return popitem

    def bounded_range(self, *args: int) -> range:
        result = range(*args)
        self._check_length(len(result), "range()")
        return result

    def bounded_round(self, number: Any, ndigits: int | None = None) -> Any:
        if ndigits is None:
            return round(number)
        if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
            # round(5, -10**9) computes 10**(10**9) in one C call.
            raise GuardRefusal("size", f"round() digits beyond ±{MAX_ROUND_DIGITS} are not allowed")
        return round(number, ndigits)

    def numeric_sum(self, items: Iterable[Any], start: Any = 0) -> Any:
        if not isinstance(start, (int, float)):
            # sum(lists, []) copies quadratically inside one C call.
            raise GuardRefusal("forbidden", "sum() only adds numbers; join lists with a comprehension")
        return sum(items, start)

    # -- attribute and item access ------------------------------------------------------

    def get_attribute(self, obj: Any, name: str) -> Any:
        if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
            raise GuardRefusal("forbidden", f"attribute '{name}' is not allowed in scripts")
        if isinstance(obj, type):
            if obj not in _DATA_CLASSES:
                raise GuardRefusal("forbidden", f"attributes of {obj.__name__} are not available")
            if name in _SIZED_METHODS or name in _WRAPPED_METHODS:
                raise GuardRefusal("forbidden", f"call .{name}() on a value, not on the class {obj.__name__}")
            return getattr(obj, name)
        if type(obj) not in _DATA_TYPES:
            raise GuardRefusal("forbidden", f"attributes of a {type(obj).__name__} value are not available")
        if isinstance(obj, str) and name in _SIZED_METHODS:
            return self._sized_str_method(obj, name)
        if isinstance(obj, list) and name == "extend":
            return self._list_extend(obj)
        if isinstance(obj, dict) and name == "items":
            return self._dict_items(obj)
        if isinstance(obj, dict) and name == "popitem":
            return self._dict_popitem(obj)
        return getattr(obj, name)

    def writable(self, obj: Any) -> Any:
        if type(obj) in (dict, list):
            return obj
        raise GuardRefusal("forbidden", f"a {type(obj).__name__} value cannot be modified in scripts")

    def _list_extend(self, target: list[Any]) -> Callable[[Iterable[Any]], None]:
        def extend(items: Iterable[Any]) -> None:
            values: Collection[Any] = items if isinstance(items, Collection) else list(items)
            self._check_length(len(target) + len(values), "extending a list")
            target.extend(values)

        return extend

    def _sized_str_method(self, text: str, name: str) -> Callable[..., str]:
        method: Callable[..., str] = getattr(text, name)

        def guarded(*args: Any, **kwargs: Any) -> str:
            if name == "join" and args:
                args = (list(args[0]), *args[1:])  # measured, then joined: iterate only once
            self._check_length(self._str_result_length(text, name, args, kwargs), f"str.{name}()")
            return method(*args, **kwargs)

        return guarded

    def _str_result_length(self, text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        if name == "join":
            items: list[Any] = args[0] if args else []
            return sum(len(i) for i in items if isinstance(i, str)) + len(text) * max(len(items) - 1, 0)
        if name == "expandtabs":
            tabsize = args[0] if args else kwargs.get("tabsize", 8)
            return len(text) + text.count("\t") * max(int(tabsize), 0)
        if name == "replace":
            if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
                return len(text)  # the call itself raises TypeError
            old, new = args[0], args[1]
            count = int(args[2]) if len(args) > 2 else int(kwargs.get("count", -1))
            hits = text.count(old) if old else len(text) + 1
            hits = hits if count < 0 else min(hits, count)
            return len(text) + hits * max(len(new) - len(old), 0)
        width = args[0] if args else kwargs.get("width", 0)
        return max(int(width), len(text))
