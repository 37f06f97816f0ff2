"""The command line's ``--where``: a SQL condition, parsed by sqlglot, as pruning filters.

``ts >= '2024-01-01' AND country IN ('DE', 'FR') OR id BETWEEN 10 AND 20`` becomes the
DNF filters :func:`scanner.query.prune.prune` takes (AND binds tighter than OR, as in SQL).
Supported: ``= == <> != < <= > >=`` between a column and a literal (either side), ``IN``
and ``NOT IN`` lists, ``IS NULL``, ``IS NOT NULL``, ``BETWEEN``, ``NOT`` of those, ``AND``,
``OR`` and parentheses. Literals: numbers, strings (``'2024-01-01'`` compares with a date
or timestamp column as ISO 8601), ``TRUE`` / ``FALSE``. A column is its dotted leaf path
(``point.x``, or ``"Weird name"`` quoted). Anything else is a ``ValueError`` naming it.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, List, Tuple

__all__ = ["parse_where"]

Predicate = Tuple[str, str, Any]
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def parse_where(text: str) -> List[List[Predicate]]:
    """The DNF filters of a SQL condition (see the module docstring).

    Raises
    ------
    ValueError
        The text does not parse, or uses something pruning cannot answer.
    """
    import sqlglot

    try:
        tree = sqlglot.condition(text)
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"cannot parse the condition {text!r}: {str(exc).splitlines()[0]}") from None
    return _dnf(tree)


def _dnf(node: Any) -> List[List[Predicate]]:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _dnf(node.this)
    if isinstance(node, exp.Or):
        return _dnf(node.this) + _dnf(node.expression)
    if isinstance(node, exp.And):
        return [left + right for left in _dnf(node.this) for right in _dnf(node.expression)]
    return [_conjunction(node)]


def _conjunction(node: Any) -> List[Predicate]:
    """One comparison (``BETWEEN``: two) as predicates."""
    from sqlglot import exp

    comparisons = {exp.EQ: "==", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
    negated = isinstance(node, exp.Not)
    inner = node.this if negated else node
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
        return [(_column(inner.this), "is_valid" if negated else "is_null", None)]
    if isinstance(inner, exp.In) and not inner.args.get("query"):
        return [(_column(inner.this), "not in" if negated else "in", [_literal(v) for v in inner.expressions])]
    if not negated and isinstance(inner, exp.Between):
        column = _column(inner.this)
        return [(column, ">=", _literal(inner.args["low"])), (column, "<=", _literal(inner.args["high"]))]
    if not negated and type(inner) in comparisons:
        op = comparisons[type(inner)]
        left, right = inner.this, inner.expression
        if isinstance(left, exp.Column):
            return [(_column(left), op, _literal(right))]
        if isinstance(right, exp.Column):
            return [(_column(right), _FLIPPED[op], _literal(left))]
    raise ValueError(f"cannot prune on {node.sql()!r}: use comparisons of a column with a literal, "
                     "IN, IS [NOT] NULL, BETWEEN, AND, OR")


def _column(node: Any) -> str:
    from sqlglot import exp

    if not isinstance(node, exp.Column):
        raise ValueError(f"expected a column, not {node.sql()!r}")
    return ".".join(part.name for part in node.parts)


def _literal(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Neg):
        return -_literal(node.this)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Cast):  # TIMESTAMP '2024-01-01', DATE '...': the text
        return _literal(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = str(node.this)
        if text.lstrip("-").isdigit():
            return int(text)
        return Decimal(text) if "e" not in text.lower() else float(text)
    raise ValueError(f"expected a literal value, not {node.sql()!r}")
