"""The scanner on real files: every file of the shared corpus against pyarrow's verdict."""
from __future__ import annotations

import csv
from fnmatch import fnmatchcase

import pytest

from reference import corpus_root
from scanner import build_catalogue
from scanner.entries import DEFAULT_EXCLUDES
from scanner_helpers import records

ROOT = corpus_root()
pytestmark = pytest.mark.skipif(not (ROOT / "MANIFEST.tsv").exists(), reason=f"no corpus at {ROOT}")


@pytest.fixture(scope="module")
def manifest() -> dict:
    with open(ROOT / "MANIFEST.tsv", newline="") as handle:
        return {str(ROOT / row["path"]): row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def files(manifest: dict) -> dict:
    cat = build_catalogue(ROOT / "parquet-testing", workers=2, progress=False)
    return {row["file_name"]: row for row in records(cat.files)}


def test_every_corpus_file_has_a_row_unless_a_dataset_would_skip_it(manifest: dict, files: dict) -> None:
    hidden = {p for p in manifest if any(part.startswith(("_", ".")) for part in p.split("/"))}
    sidecars = {p for p in manifest if any(fnmatchcase(p.rsplit("/", 1)[-1], g) for g in DEFAULT_EXCLUDES)}
    assert hidden and sidecars  # _KEY_MATERIAL_FOR_...json; geospatial.yaml
    assert not any(p.endswith(".parquet") for p in sidecars)
    assert set(manifest) - hidden - sidecars <= set(files)
    assert not (hidden | sidecars) & set(files)


def test_pyarrow_and_the_scanner_agree_on_every_file(manifest: dict, files: dict) -> None:
    for path, expected in manifest.items():
        got = files.get(path)
        if got is None:
            continue
        if expected["pyarrow"] != "ok":
            assert got["status"] == "error", path
            continue
        assert got["status"] == "ok", (path, got["error"])
        assert (got["num_rows"], got["num_row_groups"], got["num_columns"], got["created_by"] or "") == (
            int(expected["num_rows"]), int(expected["num_row_groups"]), int(expected["num_columns"]),
            expected["created_by"]), path


def test_encrypted_files(files: dict) -> None:
    encrypted = {p: row for p, row in files.items() if ".parquet.encrypted" in p}
    assert encrypted
    for path, row in encrypted.items():
        if "plaintext_footer" in path:
            assert (row["status"], row["encryption_algorithm"]) == ("ok", "AES_GCM_V1"), path
        else:
            assert row["error_type"] == "EncryptedFooterError", path
