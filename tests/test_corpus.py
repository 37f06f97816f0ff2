"""rugo.parquet against every file of the shared corpus (a copy of apache/parquet-testing).

The corpus lives at ``<repo>/../shared/corpus`` (override with ``RUGO_CORPUS``); its
``MANIFEST.tsv`` records what pyarrow says of each file. Where pyarrow reads a file, rugo's
result must equal :func:`reference.expected_metadata`; where pyarrow refuses it, the tables
below pin the exact error class rugo raises instead. A guard test fails when a corpus file
is in no table.
"""
from __future__ import annotations

import pickle
import struct
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import (  # noqa: E402
    compare,
    corpus_root,
    expected_metadata,
    format_diff,
    read_manifest,
)

ROOT = corpus_root()
if not ROOT.is_dir():
    pytest.skip(f"corpus folder {ROOT} is absent (set RUGO_CORPUS to its location)",
                allow_module_level=True)

import rugo  # noqa: E402
import rugo.parquet as rp  # noqa: E402
from rugo.errors import (  # noqa: E402
    EncryptedFooterError,
    NotParquetError,
    ParquetFormatError,
    RugoError,
)

MANIFEST = read_manifest(ROOT)

#: Suffixes make_manifest.py leaves out: documentation and scripts, not test data.
UNLISTED_SUFFIXES = frozenset({".py", ".tsv", ".md", ".txt"})

_ENCRYPTED_FOOTER = [
    "data/aes256/encrypt_columns_and_footer.parquet.encrypted",
    "data/aes256/encrypt_columns_and_footer_ctr.parquet.encrypted",
    "data/aes256/encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted",
    "data/aes256/uniform_encryption.parquet.encrypted",
    "data/encrypt_columns_and_footer.parquet.encrypted",
    "data/encrypt_columns_and_footer_aad.parquet.encrypted",
    "data/encrypt_columns_and_footer_bloom_filter.parquet.encrypted",
    "data/encrypt_columns_and_footer_ctr.parquet.encrypted",
    "data/encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted",
    "data/external_key_material_java.parquet.encrypted",
    "data/uniform_encryption.parquet.encrypted",
]
_NOT_PARQUET = [
    "data/_KEY_MATERIAL_FOR_external_key_material_java.parquet.encrypted.json",
    "data/bloom_filter.bin",
    "data/bloom_filter.xxhash.bin",
    "data/delta_binary_packed_expect.csv",
    "data/delta_byte_array_expect.csv",
    "data/delta_encoding_optional_column_expect.csv",
    "data/delta_encoding_required_column_expect.csv",
    "data/geospatial/geospatial.yaml",
]

#: Files pyarrow refuses, and the exact rugo error class each must raise.
EXPECTED_ERRORS: dict = {
    **{f"parquet-testing/{p}": EncryptedFooterError for p in _ENCRYPTED_FOOTER},
    **{f"parquet-testing/{p}": NotParquetError for p in _NOT_PARQUET},
    # SchemaElement.type = -7: well-formed Thrift, but no physical type; rugo rejects the
    # schema (the base ParquetFormatError: README's subclasses are about the encoding).
    "parquet-testing/bad_data/PARQUET-1481.parquet": ParquetFormatError,
    # pyarrow: "Map keys must be annotated as required"; rugo validates MAP keys the same way
    # (LogicalTypes.md: the key field "must have repetition required"). duckdb reads it.
    "parquet-testing/data/incorrect_map_schema.parquet": ParquetFormatError,
}

#: Values README gives no rule for, pinned to what rugo does (reference: ``NotCompared``).
PINNED_GAPS: dict = {
    # MAP whose key_value group has no value field (LogicalTypes.md allows it).
    "parquet-testing/data/map_no_value.parquet": {
        "schema_columns[1].logical_type": "map<int32,null>",
        "schema[5].logical_type": "map<int32,null>",
    },
    # LogicalType union member 2555, unknown to every reader: no annotation rugo knows.
    "parquet-testing/data/unknown-logical-type.parquet": {
        "schema_columns[1].logical_type": None,
        "schema[2].logical_type": None,
        "row_groups[0].columns[1].logical_type": None,
    },
}

OK_FILES = sorted(p for p, row in MANIFEST.items() if row["pyarrow"] == "ok")



def _tail_cases() -> list:
    """(file, extra) pairs where footer + trailer + extra bytes is shorter than the file."""
    cases = []
    for rel in OK_FILES:
        data = (ROOT / rel).read_bytes()
        footer_len = struct.unpack("<i", data[-8:-4])[0]
        cases += [(rel, extra) for extra in (0, 1, 4096) if footer_len + 8 + extra < len(data)]
    return cases


def _id(rel: str) -> str:
    return rel.removeprefix("parquet-testing/")


def _path(rel: str) -> Path:
    return ROOT / rel


def _lookup(result: Any, dotted: str) -> Any:
    """``result`` at a :func:`reference.compare`-style path like ``schema[2].logical_type``."""
    value = result
    for part in dotted.replace("[", ".[").split("."):
        if part.startswith("["):
            value = value[int(part[1:-1])]
        elif part:
            value = value[part]
    return value


def _tail(data: bytes, extra: int) -> bytes:
    """The last footer + trailer + ``extra`` bytes of a file (footer length from the trailer)."""
    footer_len = struct.unpack("<i", data[-8:-4])[0]
    return data[-(footer_len + 8 + extra):]


# --------------------------------------------------------------------------------------------
# Guard
# --------------------------------------------------------------------------------------------

def test_every_corpus_file_is_classified() -> None:
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "parquet-testing").rglob("*")
               if p.is_file() and p.suffix not in UNLISTED_SUFFIXES}
    assert sorted(on_disk - set(MANIFEST)) == [], "files missing from MANIFEST.tsv"
    assert sorted(set(MANIFEST) - on_disk) == [], "MANIFEST.tsv lists missing files"
    refused = {p for p, row in MANIFEST.items() if row["pyarrow"] != "ok"}
    assert sorted(refused - set(EXPECTED_ERRORS)) == [], "pyarrow refuses these: pin rugo"
    assert sorted(set(EXPECTED_ERRORS) - refused) == [], "pinned files pyarrow now reads"
    assert set(PINNED_GAPS) <= set(OK_FILES)


# --------------------------------------------------------------------------------------------
# Files pyarrow reads: the reference dict
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", OK_FILES, ids=_id)
def test_matches_reference(rel: str) -> None:
    path = _path(rel)
    problems = compare(rp.read_metadata(path), expected_metadata(path))
    assert not problems, f"{rel}:\n{format_diff(problems)}"


@pytest.mark.parametrize("rel", sorted(PINNED_GAPS), ids=_id)
def test_readme_gaps_pinned(rel: str) -> None:
    result = rp.read_metadata(_path(rel))
    for dotted, value in PINNED_GAPS[rel].items():
        assert _lookup(result, dotted) == value, dotted


# --------------------------------------------------------------------------------------------
# The entry points agree
# --------------------------------------------------------------------------------------------

def _entry_points(path: Path) -> dict:
    data = path.read_bytes()
    with open(path, "rb") as handle:
        from_file_object = rp.read_metadata(handle)
    return {
        "read_metadata(str)": rp.read_metadata(str(path)),
        "read_metadata(file object)": from_file_object,
        "read_metadata_from_bytes(bytes)": rp.read_metadata_from_bytes(data),
        "read_metadata_from_bytes(bytearray)": rp.read_metadata_from_bytes(bytearray(data)),
        "read_metadata_from_memoryview": rp.read_metadata_from_memoryview(memoryview(data)),
    }


@pytest.mark.parametrize("rel", OK_FILES, ids=_id)
def test_entry_points_agree(rel: str) -> None:
    path = _path(rel)
    baseline = rp.read_metadata(path)
    for name, result in _entry_points(path).items():
        problems = compare(result, baseline)
        assert not problems, f"{name} differs from read_metadata(Path):\n{format_diff(problems)}"


def _tail_id(value: Any) -> str:
    return _id(value) if isinstance(value, str) else f"+{value}"


@pytest.mark.parametrize("rel,extra", _tail_cases(), ids=_tail_id)
def test_tail_is_enough(rel: str, extra: int) -> None:
    data = _path(rel).read_bytes()
    tail = _tail(data, extra)
    baseline = rp.read_metadata_from_bytes(data)
    for reader in (rp.read_metadata_from_bytes, rp.read_metadata_from_memoryview):
        problems = compare(reader(tail if reader is rp.read_metadata_from_bytes
                                  else memoryview(tail)), baseline)
        assert not problems, f"{reader.__name__}(tail+{extra}):\n{format_diff(problems)}"


# --------------------------------------------------------------------------------------------
# Files pyarrow refuses: pinned errors
# --------------------------------------------------------------------------------------------

def _raises(cls: type, call: Callable[[], Any]) -> RugoError:
    with pytest.raises(RugoError) as info:
        call()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    return info.value


@pytest.mark.parametrize("rel", sorted(EXPECTED_ERRORS), ids=_id)
def test_rejected_file_names_itself(rel: str) -> None:
    path = _path(rel)
    error = _raises(EXPECTED_ERRORS[rel], lambda: rp.read_metadata(path))
    assert str(path) in str(error), str(error)
    assert error.path == str(path)
    assert isinstance(error, ValueError) == issubclass(EXPECTED_ERRORS[rel], ParquetFormatError)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and str(clone) == str(error)


@pytest.mark.parametrize("rel", sorted(EXPECTED_ERRORS), ids=_id)
def test_rejected_in_memory(rel: str) -> None:
    data = _path(rel).read_bytes()
    cls = EXPECTED_ERRORS[rel]
    for call in (lambda: rp.read_metadata_from_bytes(data),
                 lambda: rp.read_metadata_from_memoryview(memoryview(data))):
        error = _raises(cls, call)
        assert error.path is None


def test_errors_are_reexported() -> None:
    for name in ("RugoError", "ParquetFormatError", "NotParquetError", "FooterLengthError",
                 "ThriftDecodeError", "EncryptedFooterError"):
        assert getattr(rugo, name) is getattr(rugo.errors, name)
