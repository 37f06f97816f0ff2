"""What a new user meets in the first hour: --output never destroys data, sidecar files
are not failures, clear CLI errors, missing inputs as rows, honest summaries."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import rugo.parquet as pm
from scanner import Catalogue, build_catalogue
from scanner.__main__ import main
from scanner.entries import SKIP_EXCLUDED, SKIP_HIDDEN, SKIP_INDEX, SKIP_NOT_INCLUDED, SKIP_SIDECAR
from scanner_helpers import REPO, start_cli, write


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple:
    code = main([*args, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary_of(capsys: pytest.CaptureFixture, *args: str) -> dict:
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- --output


def test_output_never_overwrites_a_data_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = write(tmp_path / "lake" / "map.parquet")
    before = data.read_bytes()
    code, _, err = run(capsys, str(tmp_path / "lake"), "-o", str(data))
    assert code == 2
    assert f"--output {data} exists and is not a scanner index" in err and "--force" in err
    assert data.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("not parquet at all")
    assert run(capsys, str(tmp_path / "lake"), "-o", str(notes))[0] == 2
    assert notes.read_text() == "not parquet at all"
    assert sorted(os.listdir(tmp_path)) == ["lake", "notes.txt"]  # no temporary file left


def test_force_replaces_a_file_that_is_not_an_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lake = tmp_path / "lake"
    write(lake / "a.parquet")
    target = tmp_path / "old.bin"
    target.write_bytes(b"junk")
    assert run(capsys, str(lake), "-o", str(target), "--force")[0] == 0
    assert len(Catalogue.read(target).files) == 1


def test_an_existing_index_is_replaced_and_never_scanned(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lake = tmp_path / "lake"
    for i in range(3):
        write(lake / f"part-{i}.parquet")
    index = lake / "index.parquet"  # inside the tree it catalogues
    first = summary_of(capsys, str(lake), "-o", str(index))
    second = summary_of(capsys, str(lake), "-o", str(index))
    assert first["files"] == second["files"] == 3
    assert second["skipped"] == {SKIP_INDEX: 1}
    # another index lying in the tree (an earlier run's, under another name) is no data either
    os.replace(index, lake / "older-index.parquet")
    third = summary_of(capsys, str(lake))
    assert third["files"] == 3 and third["skipped"] == {SKIP_INDEX: 1}


def test_unwritable_output_fails_before_the_scan_naming_the_path(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "a.parquet")
    scanned = []
    monkeypatch.setattr("scanner.build_catalogue", lambda *a, **k: scanned.append(a))
    given = str(tmp_path / "no-such-dir" / "index.parquet")
    code, _, err = run(capsys, str(tmp_path), "-o", given)
    assert code == 2 and not scanned
    assert f"cannot write --output {given}: No such file or directory" in err
    code, _, err = run(capsys, str(tmp_path), "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err and not scanned


# --------------------------------------------------------------------------- sidecars


@pytest.fixture
def table_dir(tmp_path: Path) -> Path:
    """An Iceberg-like table directory with its sidecars, and a Hive file without extension."""
    root = tmp_path / "table"
    write(root / "data" / "part-00000.parquet")
    write(root / "data" / "part-00001.parquet")
    write(root / "hive" / "000000_0")
    sidecars = {"metadata/v1.metadata.json": "{}", "metadata/snap-123-1-abc.avro": "Obj",
                "metadata/abc-m0.avro": "Obj", "metadata/version-hint.text": "1",
                "README.md": "# table", "data/part-00000.parquet.crc": "crc", "notes.txt": "hi"}
    for rel, text in sidecars.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "_delta_log").mkdir()
    (root / "_delta_log" / "00000.json").write_text("{}")
    return root


def test_sidecars_are_skipped_not_failed_and_strict_passes(table_dir: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, str(table_dir), "--strict")
    assert code == 0
    assert "files          3 (3 ok, 0 failed)" in out
    assert f"skipped        8 (7 {SKIP_SIDECAR}, 1 {SKIP_HIDDEN})" in out
    cat = build_catalogue(table_dir, progress=False, workers=1)
    assert str(table_dir / "hive" / "000000_0") in set(cat.files["file_name"])  # no extension needed
    assert cat.skipped == {SKIP_SIDECAR: 7, SKIP_HIDDEN: 1}


def test_include_and_exclude_globs(table_dir: Path, capsys: pytest.CaptureFixture) -> None:
    only = summary_of(capsys, str(table_dir), "--include", "*.parquet")
    assert only["files"] == 2
    assert only["skipped"] == {SKIP_HIDDEN: 1, SKIP_NOT_INCLUDED: 8}
    # an explicit include wins over the default sidecar excludes: the JSON file is scanned (and fails)
    with_json = summary_of(capsys, str(table_dir), "--include", "metadata/*.json", "--include", "data/*.parquet")
    assert (with_json["files"], with_json["failed"]) == (3, 1)
    # exclude wins over include; a pattern with '/' matches the path below the root
    cat = build_catalogue(table_dir, include=["*.parquet", "000000_0"], exclude=["data/part-00001*"],
                          progress=False, workers=1)
    assert sorted(os.path.relpath(p, table_dir) for p in cat.files["file_name"]) == [
        "data/part-00000.parquet", "hive/000000_0"]
    assert cat.skipped[SKIP_EXCLUDED] == 1


def test_a_file_named_directly_is_always_scanned(table_dir: Path) -> None:
    cat = build_catalogue(table_dir / "README.md", progress=False, workers=1)
    assert list(cat.files["error_type"]) == ["NotParquetError"]


# --------------------------------------------------------------------------- smaller things


def test_from_file_with_a_missing_path_is_an_error_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = write(tmp_path / "good.parquet")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{good}\n{tmp_path / 'gone.parquet'}\n")
    summary = summary_of(capsys, "--from-file", str(listing))
    assert (summary["files"], summary["ok"], summary["failed"]) == (2, 1, 1)
    assert summary["errors"][0]["error_type"] == "FileNotFoundError"
    # a missing DIR given on the command line is still a usage error
    code, _, err = run(capsys, str(tmp_path / "typo"), "--from-file", str(listing))
    assert code == 2 and "typo: No such file or directory" in err


@pytest.mark.parametrize("text, value", [("64MiB", 64 * 2**20), ("64MB", 64 * 10**6), ("1GiB", 2**30),
                                         ("2 mib", 2 * 2**20), ("1048576", 2**20), ("1.5GiB", 3 * 2**29)])
def test_shm_bytes_takes_units(text: str, value: int) -> None:
    from scanner.__main__ import build_parser
    assert build_parser().parse_args(["x", "--shm-bytes", text]).shm_bytes == value


@pytest.mark.parametrize("args, message", [
    (["--shm-bytes", "64XB"], "argument --shm-bytes: expected a size such as 67108864, 64MiB or 1GiB, not '64XB'"),
    (["--shm-bytes", "1000"], "argument --shm-bytes: must be at least 1 MiB, not '1000'"),
    (["--workers", "two"], "argument -w/--workers: expected a whole number, not 'two'"),
    (["--workers", "0"], "argument -w/--workers: must be at least 1, not 0"),
])
def test_cli_errors_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture, args: list, message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "_positive" not in err and "shm_bytes" not in err


def test_missing_index_hints_warn(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "a.parquet")
    code, _, err = run(capsys, str(tmp_path), "--index-hints", str(tmp_path / "nope.parquet"))
    assert code == 0
    assert f"warning: --index-hints {tmp_path / 'nope.parquet'} does not exist" in err


def test_nothing_to_scan_is_said(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, str(empty))
    assert code == 0 and "scanner: no files to scan" in err
    assert run(capsys, str(empty), "--strict")[0] == 1
    (empty / "_SUCCESS").write_text("")
    (empty / "README.md").write_text("")
    code, _, err = run(capsys, str(empty))
    assert code == 0
    assert f"no files to scan (2 skipped: 1 {SKIP_HIDDEN}, 1 {SKIP_SIDECAR})" in err


def test_summary_says_how_many_more_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for i in range(8):
        (tmp_path / f"bad-{i}.parquet").write_bytes(b"nope")
    code, out, _ = run(capsys, str(tmp_path), "--top", "3")
    assert code == 0
    assert out.count("NotParquetError  ") == 3
    assert "... and 5 more errors" in out
    assert summary_of(capsys, str(tmp_path), "--top", "3")["more_errors"] == 5


def test_read_metadata_names_every_accepted_source() -> None:
    with pytest.raises(TypeError) as info:
        pm.read_metadata(123)
    text = str(info.value)
    for kind in ("path", "os.PathLike", "URL", "file object", "not int", "read_metadata_from_bytes"):
        assert kind in text, kind


def test_readme_example_output_matches_a_fresh_run(tmp_path: Path) -> None:
    """Every line the README shows for the example lake (but '...') is what a run prints."""
    readme = (REPO / "README.md").read_text()
    shown = readme.split("what a fresh run prints):\n\n```\n", 1)[1].split("```", 1)[0]
    lake = tmp_path / "rugo-example-lake"
    env_script = REPO / "scripts" / "make_example_lake.py"
    import runpy
    runpy.run_path(str(env_script), run_name="example")["make_lake"](lake)
    proc = start_cli(str(lake))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    printed = out.decode().replace(str(lake), "/tmp/rugo-example-lake").splitlines()
    for line in shown.splitlines():
        if line.strip() != "...":
            assert line in printed, (line, printed)
    assert re.search(r"^files +\d+", shown, re.M)
