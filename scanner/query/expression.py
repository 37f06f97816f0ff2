"""``pyarrow.compute.Expression`` filters as the pruner's DNF.

pyarrow offers no public way to take an Expression apart, but it pickles every Expression
to Arrow IPC (``Expression.__reduce__``: the same bytes pyarrow.dataset sends between
processes): a one-row record batch holding each literal and each function's options as
typed values, and the tree in pre-order as the schema's key/value metadata (``call``
*name*, its arguments, ``options`` *column*, ``end`` *name*; ``field_ref`` *name*;
``nested_field_ref`` *count* then that many names; ``literal`` *column*). :func:`to_dnf`
reads that, with the literals as pyarrow made them (types included), and rejects anything
it cannot read unambiguously.

The tree is then put in negation normal form and expanded to a disjunction of
conjunctions of ``(column, op, value)``, keeping the answer **sound**: a part of the
expression this does not understand (arithmetic, casts, ``is_nan``, a comparison of two
columns) becomes *true*, which keeps every file. Negations follow Arrow's semantics for
nulls and NaN: ``~(x < 5)`` holds for NaN, so on a floating-point column it keeps
everything; ``~x.isin(S)`` holds for nulls, so it becomes ``not in S`` or ``is_null``.
A comparison with a null literal is never true.
"""
from __future__ import annotations

from typing import Any, Collection, List, Sequence, Tuple

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["to_dnf", "MAX_CONJUNCTIONS"]

#: The most conjunctions an expression may expand to (``(a | b) & (c | d) & ...`` doubles
#: them at every ``&``).
MAX_CONJUNCTIONS = 4096

Predicate = Tuple[str, str, Any]
#: A formula: ("and" | "or", [formulas]), ("not", formula), ("pred", predicate),
#: ("true",), ("false",)
Formula = Tuple[Any, ...]
TRUE: Formula = ("true",)
FALSE: Formula = ("false",)

_COMPARISONS = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
                "greater_equal": ">="}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<", "in": "not in",
           "is_null": "is_valid", "is_valid": "is_null"}
_KEYS = ("call", "end", "options", "literal", "field_ref", "nested_field_ref")


class _Field(tuple):
    """A field reference: its names, outermost first."""


class _Literal:
    __slots__ = ("scalar",)

    def __init__(self, scalar: pa.Scalar) -> None:
        self.scalar = scalar


class _Call:
    __slots__ = ("name", "args", "options")

    def __init__(self, name: str, args: List[Any], options: Any) -> None:
        self.name, self.args, self.options = name, args, options


def to_dnf(expression: pc.Expression, floating: Collection[str] = ()) -> List[List[Predicate]]:
    """The conjunctions (of ``(column, op, value)``) of which one holds wherever
    ``expression`` is true; ``[]`` when it is never true, ``[[]]`` when nothing is known.

    ``floating`` names the floating-point columns (dotted paths), where a negated
    comparison also holds for NaN.

    Raises
    ------
    ValueError
        An expression this version of pyarrow serialises in a way not understood here, or
        one that expands to more than :data:`MAX_CONJUNCTIONS` conjunctions.
    """
    return _dnf(_formula(_decode(expression), False, frozenset(floating)))


# ----------------------------------------------------------------------------- decoding


def _decode(expression: pc.Expression) -> Any:
    """The tree of ``expression`` from its IPC serialisation."""
    try:
        _, (buffer,) = expression.__reduce__()
        reader = pa.ipc.open_file(buffer)
        values = reader.read_all()
    except Exception as exc:  # not the serialisation this module reads
        raise ValueError(f"cannot read the expression {expression}: {exc}") from None
    tokens = _metadata(reader.schema, expression)
    node, end = _node(tokens, 0, values, expression)
    if end != len(tokens):
        raise ValueError(f"cannot read the expression {expression}: {len(tokens) - end} tokens left over")
    return node


def _metadata(schema: pa.Schema, expression: pc.Expression) -> List[Tuple[str, str]]:
    """The schema's key/value pairs in order, duplicates kept (``Schema.metadata`` is a
    dict, which would merge them): from its text form, where each pair is one line
    ``key: 'value'``. A value holding a line break would be ambiguous there: refused."""
    text = schema.to_string(show_field_metadata=False, show_schema_metadata=True, truncate_metadata=False)
    _, found, lines = text.partition("-- schema metadata --\n")
    pairs = []
    for line in lines.split("\n") if found else []:
        key, sep, value = line.partition(": '")
        if key not in _KEYS or not sep or not value.endswith("'"):
            raise ValueError(f"cannot read the expression {expression} (a field name with a line break?): "
                             "give the filter in DNF form instead")
        pairs.append((key, value[:-1]))
    return pairs


def _node(tokens: Sequence[Tuple[str, str]], at: int, values: pa.Table, expression: pc.Expression) -> Tuple[Any, int]:
    if at >= len(tokens):
        raise ValueError(f"cannot read the expression {expression}: it ends early")
    key, value = tokens[at]
    if key == "literal":
        return _Literal(values.column(int(value))[0]), at + 1
    if key == "field_ref":
        return _Field((value,)), at + 1
    if key == "nested_field_ref":
        count = int(value)
        names = tokens[at + 1:at + 1 + count]
        if len(names) != count or any(k != "field_ref" for k, _ in names):
            raise ValueError(f"cannot read the expression {expression}: a nested field reference")
        return _Field(tuple(v for _, v in names)), at + 1 + count
    if key == "call":
        args, options, at = [], None, at + 1
        while at < len(tokens) and tokens[at][0] != "end":
            if tokens[at][0] == "options":
                options, at = values.column(int(tokens[at][1]))[0], at + 1
                continue
            arg, at = _node(tokens, at, values, expression)
            args.append(arg)
        if at >= len(tokens) or tokens[at][1] != value:
            raise ValueError(f"cannot read the expression {expression}: call {value!r} not closed")
        return _Call(value, args, options), at + 1
    raise ValueError(f"cannot read the expression {expression}: unexpected {key!r}")


# ----------------------------------------------------------------------------- to DNF


def _formula(node: Any, negated: bool, floating: frozenset) -> Formula:
    """``node`` (negated when ``negated``) as a formula in negation normal form, where
    whatever is not understood is TRUE."""
    if isinstance(node, _Literal):
        truth = node.scalar.as_py() if pa.types.is_boolean(node.scalar.type) else None
        if truth is None:  # null, or not a boolean: never true as a filter (negated: still null)
            return FALSE
        return TRUE if truth != negated else FALSE
    if isinstance(node, _Field):  # a boolean column as the condition
        return ("pred", (".".join(node), "==", not negated))
    if not isinstance(node, _Call):
        return TRUE
    name, args = node.name, node.args
    if name in ("and", "and_kleene", "or", "or_kleene"):
        conjunction = name.startswith("and") != negated
        return ("and" if conjunction else "or", [_formula(a, negated, floating) for a in args])
    if name in ("and_not", "and_not_kleene") and len(args) == 2:  # a and not b
        parts = [_formula(args[0], negated, floating), _formula(args[1], not negated, floating)]
        return ("or" if negated else "and", parts)
    if name == "invert" and len(args) == 1:
        return _formula(args[0], not negated, floating)
    if name in _COMPARISONS and len(args) == 2:
        return _comparison(_COMPARISONS[name], args, negated, floating)
    if name == "is_in" and len(args) == 1 and isinstance(args[0], _Field):
        return _is_in(args[0], node.options, negated)
    if name in ("is_null", "is_valid") and len(args) == 1 and isinstance(args[0], _Field):
        column = ".".join(args[0])
        nan_too = name == "is_null" and _option(node.options, "nan_is_null", False)
        if nan_too and not negated:
            return TRUE  # NaN is not null in the statistics
        op = _NEGATE[name] if negated else name
        return ("pred", (column, op, None))
    return TRUE


def _comparison(op: str, args: List[Any], negated: bool, floating: frozenset) -> Formula:
    left, right = args
    if isinstance(left, _Literal) and isinstance(right, _Field):
        left, right, op = right, left, _MIRROR[op]
    if not (isinstance(left, _Field) and isinstance(right, _Literal)):
        return TRUE
    column, value = ".".join(left), right.scalar.as_py()
    if value is None:  # compared with null: null, never true, negated or not
        return FALSE
    if negated:
        if column in floating and op not in ("==", "!="):  # NaN: x < v is false, so ~(x < v) true
            return TRUE
        op = _NEGATE[op]
    return ("pred", (column, op, value))


def _is_in(field: _Field, options: Any, negated: bool) -> Formula:
    column = ".".join(field)
    value_set = _option(options, "value_set", None)
    if value_set is None:
        return TRUE
    values = [v for v in value_set if v is not None]
    if not negated:
        member: Formula = ("pred", (column, "in", values))
        # a null in the set may match nulls (null_matching_behavior MATCH)
        return ("or", [member, ("pred", (column, "is_null", None))]) if len(values) < len(value_set) else member
    # not in: a null input may be false (so true here) with every behaviour: keep nulls
    return ("or", [("pred", (column, "not in", values)), ("pred", (column, "is_null", None))])


def _option(options: Any, name: str, default: Any) -> Any:
    """A field of a function's options (a struct scalar), as a Python value."""
    if options is None:
        return default
    found = options.as_py() or {}
    return found.get(name, default)


def _dnf(formula: Formula) -> List[List[Predicate]]:
    kind = formula[0]
    if kind == "true":
        return [[]]
    if kind == "false":
        return []
    if kind == "pred":
        return [[formula[1]]]
    parts = [_dnf(f) for f in formula[1]]
    if kind == "or":
        out = [c for part in parts for c in part]
        return [[]] if any(not c for c in out) else out  # one TRUE conjunction makes all TRUE
    out = [[]]
    for part in parts:
        out = [a + b for a in out for b in part]
        if len(out) > MAX_CONJUNCTIONS:
            raise ValueError(f"the expression expands to more than {MAX_CONJUNCTIONS} conjunctions: "
                             "give a simpler filter")
    return out

