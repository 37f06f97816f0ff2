"""Pruning: sound against the data itself (hypothesis: lakes and predicates), and at least
as strong as pyarrow.dataset's statistics and partition pruning on the same lake."""
from __future__ import annotations

import datetime as dt
import functools
import math
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Tuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import build_catalogue
from scanner.query.prune import normalize_filters

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1)

# column -> (arrow type, strategy of one value)
COLUMNS = {
    "i": (pa.int64(), st.integers(-50, 50)),
    "u": (pa.uint64(), st.sampled_from([0, 1, 2**63 - 1, 2**63, 2**64 - 1])),
    "s": (pa.string(), st.sampled_from(["", "a", "ab", "b", "é", "z", "日本", "zz" * 40])),
    "f": (pa.float64(), st.sampled_from([-1.5, 0.0, -0.0, 2.5, 1e300, math.nan])),
    "d": (pa.date32(), st.dates(dt.date(2023, 12, 25), dt.date(2024, 1, 10))),
    "t": (pa.timestamp("us", tz="UTC"),
          st.integers(0, 10).map(lambda h: (T0 + dt.timedelta(hours=h)).replace(tzinfo=UTC))),
    "l": (pa.timestamp("us"), st.integers(0, 10).map(lambda h: T0 + dt.timedelta(hours=h))),
    "n": (pa.timestamp("ns", tz="UTC"), st.integers(0, 5).map(lambda k: 1_704_067_200_000_000_000 + k * 250)),
    "m": (pa.decimal128(9, 2), st.sampled_from([Decimal("-1.00"), Decimal("0.50"), Decimal("7.25")])),
    "b": (pa.bool_(), st.booleans()),
}
OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is_null", "is_valid"]


@st.composite
def lakes(draw: Any) -> List[dict]:
    files = []
    for _ in range(draw(st.integers(1, 4))):
        rows = draw(st.integers(0, 6))
        names = draw(st.sets(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=4))
        data = {name: draw(st.lists(st.none() | COLUMNS[name][1], min_size=rows, max_size=rows))
                for name in sorted(names)}
        files.append({"data": data, "row_group_size": draw(st.integers(1, 4)),
                      "stats": draw(st.booleans() | st.just(True)), "part": draw(st.sampled_from([None, "1", "2", "10"]))})
    return files


def predicates(lake: List[dict]) -> Any:
    """Predicates on the lake's own columns (mostly) and values (often): the interesting
    edges (a value at a bound, just inside, just outside) come up often."""
    present = sorted({name for spec in lake for name in spec["data"]})
    seen = {name: [v for spec in lake for v in spec["data"].get(name, []) if v is not None] for name in present}

    @st.composite
    def one(draw: Any) -> tuple:
        column = draw(st.sampled_from(present + ["p"]) | st.sampled_from(sorted(COLUMNS)))
        op = draw(st.sampled_from(OPS))
        strategy = st.sampled_from([1, 2, 10]) if column == "p" else COLUMNS[column][1]
        if seen.get(column):
            strategy = st.sampled_from(seen[column]) | strategy
        if column == "n":
            strategy = strategy.map(lambda ns: ns if not isinstance(ns, int) else _ns_timestamp(ns))
        if op in ("in", "not in"):
            return column, op, draw(st.lists(strategy, min_size=0, max_size=3))
        return column, op, draw(strategy)

    return st.lists(one(), min_size=1, max_size=2)


def _ns_timestamp(ns: int) -> Any:
    import pandas as pd

    return pd.Timestamp(ns, tz="UTC")


def _write(root: Path, lake: List[dict]) -> List[Path]:
    paths = []
    for k, spec in enumerate(lake):
        directory = root / f"p={spec['part']}" if spec["part"] is not None else root
        directory.mkdir(parents=True, exist_ok=True)
        table = pa.table({name: pa.array(values, COLUMNS[name][0]) for name, values in spec["data"].items()})
        path = directory / f"f{k}.parquet"
        pq.write_table(table, path, row_group_size=spec["row_group_size"], write_statistics=spec["stats"])
        paths.append(path)
    return paths


def _holds(value: Any, op: str, target: Any) -> bool:
    """One row's value against a predicate, by the rules the module documents (nulls match
    no comparison; local and UTC timestamps as UTC wall clocks)."""
    if op == "is_null":
        return value is None
    if op == "is_valid":
        return value is not None
    if value is None:
        return False
    if op in ("in", "not in"):
        inside = any(_compare(value, "==", t) for t in target)
        return inside if op == "in" else all(_compare(value, "!=", t) for t in target)
    return _compare(value, op, target)


def _compare(a: Any, op: str, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        a, b = [x if x.tzinfo is None else x.astimezone(UTC).replace(tzinfo=None) for x in (a, b)]
    if isinstance(a, bool) != isinstance(b, bool):
        return op == "!="  # never equal: as pyarrow would refuse, count it as matching only "!="
    try:
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return True  # not comparable: the pruner must keep it, so count it as a match


def _row_values(path: Path, column: str, part: Optional[str], group: Optional[int] = None) -> List[Any]:
    if column == "p":
        rows = pq.ParquetFile(path).metadata.num_rows if group is None else \
            pq.ParquetFile(path).metadata.row_group(group).num_rows
        return [None if part is None else int(part)] * rows
    parquet = pq.ParquetFile(path)
    table = parquet.read() if group is None else parquet.read_row_group(group)
    if column not in table.column_names:
        return [None] * table.num_rows
    values = table.column(column)
    if pa.types.is_timestamp(values.type) and values.type.unit == "ns":
        return [None if v is None else _ns_timestamp(v) for v in values.cast(pa.int64()).to_pylist()]
    return values.to_pylist()


def _candidates(lake: List[dict], column: str) -> List[Any]:
    """Values to test a column with: every value it holds, and values around them."""
    if column == "p":
        return [1, 2, 5, 10, 11]
    values = [v for spec in lake for v in spec["data"].get(column, []) if v is not None]
    extra: List[Any] = []
    for v in values:
        if isinstance(v, bool):
            extra.append(not v)
        elif isinstance(v, (int, float, Decimal)) and not (isinstance(v, float) and math.isnan(v)):
            extra += [v - 1, v + 1] if not isinstance(v, float) else [v - 0.25, v + 0.25]
        elif isinstance(v, dt.datetime):
            extra += [v - dt.timedelta(minutes=1), v + dt.timedelta(minutes=1)]
        elif isinstance(v, dt.date):
            extra += [v - dt.timedelta(days=1), v + dt.timedelta(days=1)]
        elif isinstance(v, str):
            extra += [v + "a", v[:-1]]
    if column == "n":
        return [_ns_timestamp(v + d) for v in values for d in (-1, 0, 1)]
    return values + extra


def _matches(paths: List[Path], lake: List[dict], filters: Any, group: Optional[int], k: int,
             cache: dict) -> bool:
    conjunctions = normalize_filters(filters)
    columns = {c for conj in conjunctions for c, _, _ in conj}
    values = {}
    for c in columns:
        if (k, c, group) not in cache:
            cache[k, c, group] = _row_values(paths[k], c, lake[k]["part"], group)
        values[c] = cache[k, c, group]
    rows = len(next(iter(values.values())))
    return any(all(_holds(values[c][r], op, v) for c, op, v in conj) for conj in conjunctions for r in range(rows))


def _check(cat: Any, paths: List[Path], lake: List[dict], filters: Any, cache: dict) -> None:
    files = set(cat.prune(filters).file_name)
    chunks = cat.prune(filters, level="row_groups")
    chunks = set(zip(chunks.file_name, chunks.row_group_id))
    for k, path in enumerate(paths):
        if _matches(paths, lake, filters, None, k, cache):
            assert str(path) in files, (str(path), filters)
        if ("groups", k) not in cache:
            cache["groups", k] = pq.ParquetFile(path).metadata.num_row_groups
        for group in range(cache["groups", k]):
            if _matches(paths, lake, filters, group, k, cache):
                assert (str(path), group) in chunks, (str(path), group, filters)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lake=lakes(), data=st.data())
def test_pruning_never_drops_a_file_or_row_group_with_a_matching_row(lake: List[dict], data: Any) -> None:
    """Every operator on every column of the lake (and a partition key, and a column no
    file has) with every value the lake holds and its neighbours; then random AND / OR."""
    with _scanned(lake) as (paths, cat):
        cache: dict = {}
        for column in _columns(lake):
            values = _sample(lake, column, data, 6)
            for op in OPS:
                if op in ("in", "not in"):
                    _check(cat, paths, lake, [(column, op, values[:3])], cache)
                    _check(cat, paths, lake, [(column, op, [])], cache)
                else:
                    for value in values:
                        _check(cat, paths, lake, [(column, op, value)], cache)
        preds = data.draw(predicates(lake))
        _check(cat, paths, lake, preds, cache)
        _check(cat, paths, lake, [[p] for p in preds], cache)


@contextmanager
def _scanned(lake: List[dict]) -> Iterator[Tuple[List[Path], Any]]:
    """The lake written to a temporary directory, and its catalogue at row_groups detail."""
    root = Path(tempfile.mkdtemp(prefix="rugo-prune-"))
    try:
        paths = _write(root, lake)
        yield paths, build_catalogue(root, detail="row_groups", workers=1, progress=False)
    finally:
        shutil.rmtree(root)


def _columns(lake: List[dict]) -> List[str]:
    """The lake's columns, a partition key and a column no file has."""
    return sorted({name for spec in lake for name in spec["data"]}) + ["p", "zz_missing"]


def _sample(lake: List[dict], column: str, data: Any, most: int) -> List[Any]:
    """At most ``most`` of the values to test ``column`` with, drawn: many examples cover the rest."""
    values = list({repr(v): v for v in _candidates(lake, column) or [1]}.values())
    if len(values) > most:
        values = [values[i] for i in data.draw(st.lists(st.integers(0, len(values) - 1), min_size=most,
                                                        max_size=most, unique=True))]
    return values


def _expression(predicate: tuple) -> Optional[pc.Expression]:
    """A DNF predicate as an Expression, its literal typed as the column (None: no such
    literal, e.g. an int beyond the column's range)."""
    column, op, value = predicate
    field = pc.field(column)
    kind = pa.int64() if column in ("p", "zz_missing") else COLUMNS[column][0]
    try:
        if op in ("is_null", "is_valid"):
            return field.is_null() if op == "is_null" else field.is_valid()
        if op in ("in", "not in"):
            member = field.isin(pa.array(value, kind))
            return member if op == "in" else ~member
        scalar = pa.scalar(value, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        return None
    return {"==": field == scalar, "!=": field != scalar, "<": field < scalar, "<=": field <= scalar,
            ">": field > scalar, ">=": field >= scalar}[op]


def _arrow_rows(path: Path, part: Optional[str], group: Optional[int], cache: dict) -> pa.Table:
    """The rows of a file (or row group) as pyarrow reads them, with every column of the
    lake (missing ones null) and the partition key: pyarrow evaluates filters on it."""
    if (path, group) not in cache:
        parquet = pq.ParquetFile(path)
        table = parquet.read() if group is None else parquet.read_row_group(group)
        for name, (kind, _) in COLUMNS.items():
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, kind))
        table = table.append_column("zz_missing", pa.nulls(table.num_rows, pa.int64()))
        cache[path, group] = table.append_column("p", pa.array([None if part is None else int(part)] * table.num_rows,
                                                               pa.int64()))
    return cache[path, group]


def _check_expression(cat: Any, paths: List[Path], lake: List[dict], expression: pc.Expression, cache: dict) -> None:
    """Every file and row group where pyarrow finds a row matching ``expression`` is kept."""
    files = set(cat.prune(expression).file_name)
    chunks = cat.prune(expression, level="row_groups")
    chunks = set(zip(chunks.file_name, chunks.row_group_id))
    for k, path in enumerate(paths):
        groups = pq.ParquetFile(path).metadata.num_row_groups
        for group in [None, *range(groups)]:
            try:
                matched = _arrow_rows(path, lake[k]["part"], group, cache).filter(expression).num_rows > 0
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
                return  # pyarrow cannot evaluate it (a naive against a zoned timestamp): nothing to hold to
            if matched and group is None:
                assert str(path) in files, (str(path), str(expression))
            elif matched:
                assert (str(path), group) in chunks, (str(path), group, str(expression))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lake=lakes(), data=st.data())
def test_expression_pruning_is_sound_against_pyarrow_evaluation(lake: List[dict], data: Any) -> None:
    """pyarrow.compute.Expression filters, plain and negated (NaN, nulls and ``~isin`` by
    Arrow's own rules), and combined, checked against ``Table.filter`` on the rows."""
    with _scanned(lake) as (paths, cat):
        cache: dict = {}
        for column in _columns(lake):
            values = _sample(lake, column, data, 3)
            for op in OPS:
                for value in ([values] if op in ("in", "not in") else values):
                    expression = _expression((column, op, value))
                    if expression is not None:
                        _check_expression(cat, paths, lake, expression, cache)
                        _check_expression(cat, paths, lake, ~expression, cache)
        made = [e for e in map(_expression, data.draw(predicates(lake)) + data.draw(predicates(lake))) if e is not None]
        if len(made) >= 2:
            first, second = made[0], made[1]
            for combined in (first & second, first | ~second, ~(first | second), ~(first & ~second)):
                _check_expression(cat, paths, lake, combined, cache)


def test_negated_expressions_keep_nan_and_null_rows(tmp_path: Path) -> None:
    """~(f < 2.5) holds for NaN, which statistics leave out; ~isin holds for nulls."""
    pq.write_table(pa.table({"f": [-1.5, math.nan], "i": pa.array([1, None], pa.int64())}), tmp_path / "a.parquet")
    cat = build_catalogue(tmp_path, workers=1, progress=False)
    f, i = pc.field("f"), pc.field("i")
    for expression, rows in ((~(f < 2.5), 1), (~i.isin([1]), 1), (f < -2.0, 0), (~(i <= 5), 0)):
        assert pq.read_table(tmp_path / "a.parquet").filter(expression).num_rows == rows, expression
        assert len(cat.prune(expression)) == (1 if rows else 0), expression


def test_expressions_prune_as_their_dnf() -> None:
    from scanner.query.expression import MAX_CONJUNCTIONS, to_dnf

    x, s = pc.field("x"), pc.field("s")
    assert to_dnf((x >= 3) & s.isin(["a", "b"])) == [[("x", ">=", 3), ("s", "in", ["a", "b"])]]
    assert to_dnf(~((x > 3) & (s == "a"))) == [[("x", "<=", 3)], [("s", "!=", "a")]]
    assert to_dnf(~(x > 3), floating={"x"}) == [[]]  # NaN > 3 is false: its negation holds for NaN
    assert to_dnf(~x.isin([1])) == [[("x", "not in", [1])], [("x", "is_null", None)]]  # ~isin holds for nulls
    assert to_dnf(x.isin([1, None])) == [[("x", "in", [1])], [("x", "is_null", None)]]
    assert to_dnf(x == pa.scalar(None, pa.int64())) == []  # never true
    assert to_dnf(pc.scalar(False) | (x == 1)) == [[("x", "==", 1)]]
    assert to_dnf(pa.scalar(3) < x) == [[("x", ">", 3)]]
    assert to_dnf(pc.field("a", "b") <= 2) == [[("a.b", "<=", 2)]]
    assert to_dnf(~pc.field("flag")) == [[("flag", "==", False)]]
    assert to_dnf(x.is_null(nan_is_null=True)) == [[]]
    for unknown in (x + 1 > 3, x.cast(pa.float64()) > 2, x > pc.field("y"), pc.field("f").is_nan()):
        assert to_dnf(unknown) == [[]] and to_dnf(~unknown) == [[]]  # not understood: keeps all
    wide = (x == 0) | (x == 1)
    with pytest.raises(ValueError, match="conjunctions"):
        to_dnf(functools.reduce(lambda a, b: a & b, [wide.__or__(pc.field(f"c{i}") == 1) for i in range(13)]))
    assert MAX_CONJUNCTIONS < 3 ** 13
    with pytest.raises(ValueError, match="line break"):
        to_dnf(pc.field("a\nb") == 1)


def test_filters_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown filter operator"):
        normalize_filters([("a", "~", 1)])
    with pytest.raises(ValueError, match="needs a collection"):
        normalize_filters([("a", "in", "abc")])
    assert normalize_filters([("a", "=", 1)]) == [[("a", "==", 1)]]
    assert normalize_filters([[("a", "<", 1)], [("b", "is_null", None)]]) == [[("a", "<", 1)], [("b", "is_null", None)]]
    assert normalize_filters(None) == [[]]


def test_row_groups_level_needs_row_groups_detail(tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "a.parquet")
    with pytest.raises(ValueError, match="detail='row_groups'"):
        build_catalogue(tmp_path, progress=False).prune([("a", "==", 1)], level="row_groups")
    files_only = build_catalogue(tmp_path, detail="files", progress=False)
    assert len(files_only.prune([("a", "==", 99)])) == 1  # no statistics read: nothing pruned


def _strength_lake(root: Path) -> None:
    for year in (2023, 2024):
        for k in range(3):
            start = (year - 2023) * 3000 + k * 1000
            table = pa.table({"id": pa.array(range(start, start + 1000), pa.int64()),
                              "name": [f"n{start + i:06d}" for i in range(1000)],
                              "ts": pa.array([dt.datetime(year, 1 + k, 1, tzinfo=UTC) + dt.timedelta(minutes=i)
                                              for i in range(1000)], pa.timestamp("us", tz="UTC"))})
            directory = root / f"year={year}"
            directory.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, directory / f"part-{k}.parquet", row_group_size=250)


STRENGTH = [
    ([("id", ">=", 2500)], pc.field("id") >= 2500),
    ([("id", "==", 1234)], pc.field("id") == 1234),
    ([("id", "<", 100), ("year", "==", 2024)], (pc.field("id") < 100) & (pc.field("year") == 2024)),
    ([("year", "==", 2023)], pc.field("year") == 2023),
    ([("name", ">", "n004990")], pc.field("name") > "n004990"),
    ([("id", "in", [10, 5000])], pc.field("id").isin([10, 5000])),
    ([("ts", ">=", dt.datetime(2024, 3, 1, 12, tzinfo=UTC))],
     pc.field("ts") >= pa.scalar(dt.datetime(2024, 3, 1, 12, tzinfo=UTC), pa.timestamp("us", tz="UTC"))),
]


@pytest.mark.parametrize("filters, expression", STRENGTH)
def test_keeps_no_more_row_groups_than_pyarrow_dataset(tmp_path: Path, filters: list, expression: Any) -> None:
    _strength_lake(tmp_path)
    cat = build_catalogue(tmp_path, detail="row_groups", workers=1, progress=False)
    ours = cat.prune(filters, level="row_groups")
    dataset = ds.dataset(tmp_path, format="parquet", partitioning="hive")
    theirs = sum(len(fragment.split_by_row_group(filter=expression, schema=dataset.schema))
                 for fragment in dataset.get_fragments(filter=expression))
    assert len(ours) <= theirs, (filters, len(ours), theirs)
    as_expression = cat.prune(expression, level="row_groups")  # the Expression prunes as its DNF
    pd.testing.assert_frame_equal(as_expression, ours)
    # and sound: every row group holding a match is kept
    table = dataset.to_table(filter=expression, columns=["id"])
    holding = {(str(tmp_path / f"year={2023 + i // 3000}" / f"part-{(i % 3000) // 1000}.parquet"), (i % 1000) // 250)
               for i in table.column("id").to_pylist()}
    assert holding <= set(zip(ours.file_name, ours.row_group_id)), filters
    files = set(cat.prune(filters).file_name)
    assert {name for name, _ in holding} <= files


def test_where_conditions_become_dnf_filters() -> None:
    from scanner.query.where import parse_where

    assert parse_where("ts >= '2024-01-01' AND country IN ('DE', 'FR') OR id BETWEEN 10 AND 20") == [
        [("ts", ">=", "2024-01-01"), ("country", "in", ["DE", "FR"])], [("id", ">=", 10), ("id", "<=", 20)]]
    assert parse_where("(a = 1 OR b <> 2) AND c IS NOT NULL") == [[("a", "==", 1), ("c", "is_valid", None)],
                                                                 [("b", "!=", 2), ("c", "is_valid", None)]]
    assert parse_where("5 < x AND y NOT IN (1, -2) AND z IS NULL AND NOT (w IN ('a'))") == [
        [("x", ">", 5), ("y", "not in", [1, -2]), ("z", "is_null", None), ("w", "not in", ["a"])]]
    assert parse_where('point.x <= 2.5 AND "Weird col" = TRUE') == [[("point.x", "<=", Decimal("2.5")),
                                                                    ("Weird col", "==", True)]]
    for bad, message in (("a >= ", "cannot parse"), ("a = b", "expected a literal"), ("f(a) = 1", "cannot prune"),
                         ("NOT a = 1", "cannot prune on")):
        with pytest.raises(ValueError, match=message):
            parse_where(bad)


def test_strings_compare_with_dates_and_timestamps_as_iso(tmp_path: Path) -> None:
    """--where writes dates as strings: they are read as the column's kind, soundly."""
    pq.write_table(pa.table({"d": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 31)]),
                             "t": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 2, tzinfo=UTC)],
                                           pa.timestamp("us", tz="UTC")),
                             "m": pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(5, 2))}),
                   tmp_path / "jan.parquet")
    cat = build_catalogue(tmp_path, workers=1, progress=False)
    kept = lambda filters: len(cat.prune(filters))  # noqa: E731
    assert kept([("d", ">=", "2024-02-01")]) == 0 and kept([("d", "==", "2024-01-15")]) == 1
    assert kept([("t", ">", "2024-01-02T00:00:00+00:00")]) == 0 and kept([("t", "<", "2024-01-01 12:00")]) == 1
    assert kept([("m", ">", "2.00")]) == 0 and kept([("m", ">", 1.99)]) == 1
    assert kept([("d", "==", "not a date")]) == 1  # cannot tell: kept


def test_cli_where_lists_the_candidates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    from scanner.__main__ import main

    _strength_lake(tmp_path / "lake")
    index = tmp_path / "index.parquet"
    where = "id >= 2500 AND year = 2024 OR name = 'n000007'"
    assert main([str(tmp_path / "lake"), "--no-progress", "--detail", "row_groups", "-o", str(index),
                 "--where", where, "--format", "json"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    cat = build_catalogue(tmp_path / "lake", progress=False)
    want = list(cat.prune([[("id", ">=", 2500), ("year", "==", 2024)], [("name", "==", "n000007")]]).file_name)
    assert [p["file_name"] for p in fresh["prune_table"]] == want
    assert fresh["prune"] == {"where": where, "level": "files", "candidates": len(want), "of": 6}
    assert main(["--from-index", str(index), "--where", "id = 1234", "--prune-level", "row_groups"]) == 0
    text = capsys.readouterr().out
    assert "may match WHERE id = 1234: 1 of 24 row groups" in text and "part-1.parquet row group 0" in text
    assert main(["--from-index", str(index), "--where", "id >=", "--no-progress"]) == 2
    assert "cannot parse the condition" in capsys.readouterr().err
