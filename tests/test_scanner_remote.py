"""The scanner on remote data: a moto S3 server and a Range HTTP server, counting requests.

Real servers on 127.0.0.1 (tests/servers.py), no mocks of the wire: s3fs talks to moto,
fsspec's HTTP filesystem (aiohttp) to a threaded server that honours Range requests.
Every object's requests are counted: one per object for a footer up to 64 KiB, two above,
one exact request with footer-size hints from an earlier index.
"""
from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path
from typing import Dict, Iterator

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

s3fs = pytest.importorskip("s3fs", reason="remote extra not installed: pip install 'rugo[remote]'")
pytest.importorskip("moto", reason="moto[server] not installed")

import scanner.sources.objectstore  # noqa: E402
from scanner import Catalogue, ScanError, build_catalogue, scan_file  # noqa: E402
from scanner.__main__ import main  # noqa: E402
from scanner.engine.local.coordinator import scan  # noqa: E402
from scanner.sources import discover  # noqa: E402
from scanner.entries import FileEntry  # noqa: E402
from scanner.sources.objectstore import footer_hints  # noqa: E402
from scanner_helpers import (expected_columns, expected_file, group_gone, kill_group, records,  # noqa: E402
                             shm_blocks, start_cli, typed_table, wait_until)
from servers import MotoS3Server, RangeHTTPServer, free_port  # noqa: E402


def _parquet(table: pa.Table, **options) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **options)
    return buf.getvalue()


GOOD = _parquet(typed_table(), row_group_size=10)
OTHER = _parquet(typed_table(25, offset=100), compression="zstd")
BIG = _parquet(pa.table({f"a_rather_long_column_name_{k:05d}": [k] for k in range(1500)}))  # footer > 64 KiB
#: key below the prefix -> bytes; names starting with _ or . are skipped by the scan
LAKE = {
    "year=2024/month=01/part-0.parquet": GOOD,
    "year=2024/month=02/part-0.parquet": OTHER,
    "wide/big.parquet": BIG,
    "bad/truncated.parquet": GOOD[: len(GOOD) // 2],
    "bad/data.csv": b"a,b\n1,2\n",
    "bad/empty.parquet": b"",
    "_SUCCESS": b"",
    "_temporary/part-9.parquet": GOOD,
    "year=2024/.part-0.parquet.crc": b"crc",
}
SKIPPED = {"_SUCCESS", "_temporary/part-9.parquet", "year=2024/.part-0.parquet.crc"}
ERRORS = {"bad/truncated.parquet": "NotParquetError", "bad/data.csv": "NotParquetError",
          "bad/empty.parquet": "NotParquetError"}
FAST_FAIL = {"config_kwargs": {"retries": {"max_attempts": 1}}}  # botocore: no retries of its own


def _footer_length(data: bytes) -> int:
    return int.from_bytes(data[-8:-4], "little")


def test_fixture_sizes() -> None:
    assert _footer_length(GOOD) + 8 < 64 * 1024 < _footer_length(BIG) + 8


@pytest.fixture(autouse=True)
def no_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(scanner.sources.objectstore, "BACKOFF_SECONDS", 0.01)  # retries without the real waits
    yield
    assert shm_blocks(os.getpid()) == []


@pytest.fixture(scope="module")
def local_copies(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The lake's objects as local files, for pyarrow's view of them."""
    root = tmp_path_factory.mktemp("copies")
    paths = {}
    for key, data in LAKE.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths[key] = path
    return paths


# --------------------------------------------------------------------------- S3 (moto)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3Server]:
    with MotoS3Server(tmp_path_factory.mktemp("moto") / "access.log") as server:
        fs = s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True)
        fs.mkdir("lake")
        for key, data in LAKE.items():
            fs.pipe_file(f"lake/data/{key}", data)
        fs.pipe_file("lake/other/x.parquet", GOOD)
        yield server


def s3_options(moto: MotoS3Server) -> dict:
    return {**moto.storage_options, **FAST_FAIL}


def _requests(moto: MotoS3Server) -> Dict[str, int]:
    return {key: len(moto.requests_for("lake", f"data/{key}")) for key in LAKE}


def _new_requests(moto: MotoS3Server, before: Dict[str, int]) -> Dict[str, list]:
    return {key: moto.requests_for("lake", f"data/{key}")[before[key]:] for key in LAKE}


def test_s3_prefix_matches_pyarrow(moto: MotoS3Server, local_copies: Dict[str, Path]) -> None:
    cat = build_catalogue("s3://lake/data/", workers=1, progress=False, storage_options=s3_options(moto))
    files = {r["file_name"]: r for r in records(cat.files)}
    listed = s3fs.S3FileSystem(**moto.storage_options).find("lake/data", detail=True)
    assert set(files) == {f"s3://lake/data/{key}" for key in LAKE if key not in SKIPPED}
    assert list(cat.files["file_name"]) == sorted(files)  # listing order
    for key in set(LAKE) - SKIPPED:
        got = files[f"s3://lake/data/{key}"]
        info = listed[f"lake/data/{key}"]
        assert (got["file_size_bytes"], got["etag"]) == (len(LAKE[key]), info["ETag"])
        assert got["mtime_ns"] == int(info["LastModified"].timestamp()) * 10**9
        if key in ERRORS:
            assert (got["status"], got["error_type"]) == ("error", ERRORS[key]), got
            continue
        assert got["status"] == "ok", got
        for field, value in expected_file(local_copies[key]).items():
            assert got[field] == value, (key, field)
        columns = records(cat.columns[cat.columns["file_name"] == f"s3://lake/data/{key}"])
        assert len(columns) == got["num_columns"]
        for g, e in zip(columns, expected_columns(local_copies[key])):
            g["encodings"] = set(g["encodings"].split(", ")) if g["encodings"] else set()
            g["compression"] = set(g["compression"].split(", ")) if g["compression"] else set()
            assert {k: g[k] for k in e} == e, (key, e["path_in_schema"])
    assert files["s3://lake/data/year=2024/month=02/part-0.parquet"]["year"] == "2024"
    assert files["s3://lake/data/year=2024/month=02/part-0.parquet"]["month"] == "02"
    assert files["s3://lake/data/wide/big.parquet"]["month"] is None


def test_s3_requests_per_object_then_one_exact_request_with_hints(moto: MotoS3Server, tmp_path: Path) -> None:
    before = _requests(moto)
    cat = build_catalogue("s3://lake/data/", workers=1, progress=False, storage_options=s3_options(moto))
    got = _new_requests(moto, before)
    for key in set(LAKE) - SKIPPED:
        assert got[key] == (["GET", "GET"] if key == "wide/big.parquet" else ["GET"]), key
    assert all(got[key] == [] for key in SKIPPED)

    index = tmp_path / "index.parquet"
    cat.write(index)
    before = _requests(moto)
    again = build_catalogue("s3://lake/data/", workers=1, progress=False, storage_options=s3_options(moto),
                            index_hints=index)
    got = _new_requests(moto, before)
    for key in set(LAKE) - SKIPPED:
        assert got[key] == ["GET"], key  # the big footer too: one exact request
    assert records(again.files) == records(cat.files)


def test_hints_match_by_etag_else_size(tmp_path: Path) -> None:
    index = tmp_path / "index.parquet"
    pq.write_table(pa.table({
        "file_name": ["s3://b/a", "s3://b/b", "s3://b/c", "s3://b/d", "https://h/e", "/local/f", "s3://b/g",
                      "s3://b/h"],
        "file_size_bytes": [10, 10, 10, 10, None, 10, 10, 10],
        "etag": ['"1"', '"X"', None, None, None, None, None, '"8"'],
        "status": ["ok"] * 7 + ["error"],
        "footer_size": [100, 200, 300, 400, 500, 600, 700, None],
        "encryption_algorithm": [None] * 6 + ["AES_GCM_V1", None],
    }), index)
    entries = [FileEntry("s3://b/a", 10, etag='"1"'), FileEntry("s3://b/b", 10, etag='"2"'),
               FileEntry("s3://b/c", 12), FileEntry("s3://b/d", 10), FileEntry("https://h/e"),
               FileEntry("/local/f", 10), FileEntry("s3://b/g", 10), FileEntry("s3://b/h", 10, etag='"8"')]
    # a: same ETag; b: another ETag; c: another size; d: same size; e: nothing to compare
    # (HTTP: a stale hint costs a request, never a wrong result); f: local; g: encrypted
    # (the trailer's length covers a 28-byte signature); h: no footer recorded
    expected = {"s3://b/a": 100, "s3://b/d": 400, "https://h/e": 500, "s3://b/g": 728}
    assert footer_hints(entries, index) == expected
    nullable = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype()}
    files = pq.read_table(index).to_pandas(types_mapper=nullable.get)  # as a Catalogue holds them
    assert footer_hints(entries, Catalogue(files, None, None)) == expected
    pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
    with pytest.raises(ScanError, match="not a scanner index"):
        footer_hints(entries, tmp_path / "other.parquet")


def test_s3_object_gone_after_listing_is_a_file_not_found_row(moto: MotoS3Server) -> None:
    fs = s3fs.S3FileSystem(**moto.storage_options, skip_instance_cache=True)
    fs.pipe_file("lake/gone/a.parquet", GOOD)
    fs.pipe_file("lake/gone/b.parquet", GOOD)
    entries = discover(["s3://lake/gone/"], s3_options(moto))
    fs.rm_file("lake/gone/b.parquet")
    results = scan(entries, workers=1, progress=False, storage_options=s3_options(moto))
    cat = Catalogue.from_results(entries, results)
    assert list(cat.files["status"]) == ["ok", "error"]
    assert cat.files["error_type"][1] == "FileNotFoundError"
    assert "s3://lake/gone/b.parquet" in cat.files["error"][1]


@pytest.mark.parametrize("url, reason", [("s3://no-such-bucket/data/", "no such bucket"),
                                         ("s3://lake/no-such-prefix/", "no such object or prefix")])
def test_s3_missing_bucket_or_prefix_is_one_scan_error(moto: MotoS3Server, url: str, reason: str) -> None:
    with pytest.raises(ScanError, match=reason) as info:
        build_catalogue(url, workers=1, progress=False, storage_options=s3_options(moto))
    assert url in str(info.value)


def test_wrong_endpoint_is_one_scan_error(capsys: pytest.CaptureFixture) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    options = {"key": "k", "secret": "s", "endpoint_url": endpoint, **FAST_FAIL}
    with pytest.raises(ScanError, match="cannot list s3://lake/data/") as info:
        build_catalogue("s3://lake/data/", workers=1, progress=False, storage_options=options)
    assert endpoint in str(info.value)
    status = main(["s3://lake/data/", "--no-progress", "--endpoint-url", endpoint, "--storage-option", "key=k",
                   "--storage-option", "secret=s", "--storage-option",
                   "config_kwargs=" + json.dumps(FAST_FAIL["config_kwargs"])])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("scanner: error: cannot list s3://lake/data/")


def test_denied_credentials_are_one_scan_error(tmp_path: Path) -> None:
    with MotoS3Server(tmp_path / "auth.log", env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as server:
        with pytest.raises(ScanError, match="cannot list s3://lake/data/: access denied"):
            build_catalogue("s3://lake/data/", workers=1, progress=False,
                            storage_options={**server.storage_options, **FAST_FAIL})


def test_cli_rescan_reads_only_failed_objects_and_full_uses_hints(moto: MotoS3Server, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    """With --output naming its earlier index, a rescan of an unchanged prefix lists it and
    reads no ok object again (only the failed ones); --full reads each once, in one exact
    request (the index's footer lengths as hints)."""
    index = tmp_path / "idx.parquet"
    args = ["s3://lake/data/", "--no-progress", "--workers", "1", "--format", "json", "--output", str(index),
            "--endpoint-url", moto.endpoint, "--storage-option", "key=testing", "--storage-option", "secret=testing",
            "--storage-option", 'client_kwargs={"region_name": "eu-west-1"}', "--concurrency", "4"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["files"], summary["failed"]) == (len(LAKE) - len(SKIPPED), len(ERRORS))
    first = Catalogue.read(index)
    assert first.files["etag"].notna().all() and first.files["mtime_ns"].notna().all()
    before = _requests(moto)
    log = moto.log_path.read_text(errors="replace")
    assert main(args) == 0
    rescan = json.loads(capsys.readouterr().out)["rescan"]
    assert (rescan["full"], rescan["reused"], rescan["retried"], rescan["added"]) == (
        False, len(LAKE) - len(SKIPPED) - len(ERRORS), len(ERRORS), 0)
    got = _new_requests(moto, before)
    assert all(got[key] == [] for key in set(LAKE) - SKIPPED - set(ERRORS)), got  # zero GETs: listed only
    assert moto.log_path.read_text(errors="replace")[len(log):].count("list-type=2") >= 1
    assert records(Catalogue.read(index).files) == records(first.files)
    before = _requests(moto)
    assert main(args + ["--full"]) == 0
    capsys.readouterr()
    got = _new_requests(moto, before)
    assert all(got[key] == ["GET"] for key in set(LAKE) - SKIPPED), got
    assert records(Catalogue.read(index).files) == records(first.files)


def test_listing_pages(moto: MotoS3Server) -> None:
    """moto, like S3, lists at most 1,000 keys per request: 1,001 objects need two pages."""
    fs = s3fs.S3FileSystem(**moto.storage_options, skip_instance_cache=True)
    tiny = _parquet(pa.table({"x": [1]}))
    fs.pipe({f"lake/many/part-{i:04d}.parquet": tiny for i in range(1001)})
    log = moto.log_path.read_text(errors="replace")
    entries = discover(["s3://lake/many/"], s3_options(moto))  # (fetching them is tested above)
    assert [e.path for e in entries] == [f"s3://lake/many/part-{i:04d}.parquet" for i in range(1001)]
    assert all(e.size == len(tiny) and e.etag for e in entries)
    listings = moto.log_path.read_text(errors="replace")[len(log):].count("GET /lake?list-type=2")
    assert listings == 2


# --------------------------------------------------------------------------- HTTP


HTTP_OBJECTS = {f"/lake/{key}": data for key, data in LAKE.items() if key not in SKIPPED}


@pytest.fixture
def http() -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(dict(HTTP_OBJECTS)) as server:
        yield server


def test_http_url_list_with_missing_and_forbidden_objects(http: RangeHTTPServer,
                                                          local_copies: Dict[str, Path]) -> None:
    urls = [http.url + path for path in HTTP_OBJECTS] + [http.url + "/lake/missing.parquet",
                                                         http.url + "/forbidden/x.parquet"]
    cat = build_catalogue(urls, workers=1, progress=False)
    files = {r["file_name"]: r for r in records(cat.files)}
    assert list(files) == urls  # the order given
    for path, data in HTTP_OBJECTS.items():
        got, key = files[http.url + path], path[len("/lake/"):]
        # size, ETag and Last-Modified come from the answer to the tail request (the empty
        # object's is a 416 with "Content-Range: bytes */0" only)
        assert got["file_size_bytes"] == len(data)
        if data:
            assert got["etag"].startswith('"') and got["mtime_ns"] == int(http.last_modified) * 10**9
        if key in ERRORS:
            assert got["error_type"] == ERRORS[key]
        else:
            assert got["status"] == "ok"
            for field, value in expected_file(local_copies[key]).items():
                assert got[field] == value, (key, field)
        big = path.endswith("big.parquet")
        expected = ["bytes=-65536"] + ([f"bytes=-{_footer_length(data) + 8}"] if big else [])
        assert [rng for _, rng in http.requests_for(path)] == expected, path
    missing = files[http.url + "/lake/missing.parquet"]
    assert (missing["error_type"], missing["error"]) == ("FileNotFoundError",
                                                         f"no such object: {http.url}/lake/missing.parquet")
    forbidden = files[http.url + "/forbidden/x.parquet"]
    assert forbidden["error_type"] == "PermissionError" and "403" in forbidden["error"]
    assert forbidden["error"].endswith(http.url + "/forbidden/x.parquet")
    assert len(http.log) == len(urls) + 1  # one request per object, two for the big footer


def test_http_hints_make_one_exact_request(http: RangeHTTPServer, tmp_path: Path) -> None:
    urls = [http.url + path for path in HTTP_OBJECTS]
    first = build_catalogue(urls, workers=1, progress=False, detail="files")
    first.write(tmp_path / "index.parquet")
    http.log.clear()
    build_catalogue(urls, workers=1, progress=False, detail="files", index_hints=tmp_path / "index.parquet")
    for path, data in HTTP_OBJECTS.items():
        ok = path[len("/lake/"):] not in ERRORS
        assert [rng for _, rng in http.requests_for(path)] == (
            [f"bytes=-{_footer_length(data) + 8}"] if ok else ["bytes=-65536"]), path
    # HTTP has no listing to tell a changed object before fetching it: a stale hint is
    # used, and still gives the right footer (here the whole, smaller object in one request)
    http.objects["/lake/wide/big.parquet"] = OTHER
    http.log.clear()
    cat = build_catalogue(urls, workers=1, progress=False, detail="files", index_hints=first)
    assert http.requests_for("/lake/wide/big.parquet") == [("GET", f"bytes=-{_footer_length(BIG) + 8}")]
    changed = records(cat.files)[urls.index(http.url + "/lake/wide/big.parquet")]
    assert changed["footer_size"] == _footer_length(OTHER) and changed["file_size_bytes"] == len(OTHER)


def test_http_503_is_retried_with_backoff(http: RangeHTTPServer) -> None:
    url = http.url + "/lake/year=2024/month=01/part-0.parquet"
    http.fail_first["/lake/year=2024/month=01/part-0.parquet"] = 2
    cat = build_catalogue([url], workers=1, progress=False)
    assert cat.files["status"][0] == "ok"
    assert len(http.requests_for("/lake/year=2024/month=01/part-0.parquet")) == 3


def test_http_503_that_never_ends_is_an_error_row(http: RangeHTTPServer) -> None:
    throttled = "/lake/year=2024/month=01/part-0.parquet"
    http.fail_first[throttled] = 100
    cat = build_catalogue([http.url + throttled, http.url + "/lake/wide/big.parquet"], workers=1, progress=False)
    row = records(cat.files)[0]
    assert row["error_type"] == "OSError"
    assert row["error"] == (f"HTTP 503 Service Unavailable: {http.url}{throttled} "
                            f"(after {scanner.sources.objectstore.RETRIES + 1} attempts)")
    assert len(http.requests_for(throttled)) == scanner.sources.objectstore.RETRIES + 1
    assert cat.files["status"][1] == "ok"


def test_unreachable_http_host_is_one_scan_error(capsys: pytest.CaptureFixture) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    urls = [f"{host}/lake/part-{i}.parquet" for i in range(20)]
    with pytest.raises(ScanError, match=f"cannot fetch from {host}: cannot connect"):
        build_catalogue(urls, workers=1, progress=False)


def test_cli_from_file(http: RangeHTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("# objects to scan\n" + "".join(f"{http.url}{p}\n\n" for p in HTTP_OBJECTS))
    assert main(["--from-file", str(listing), "--no-progress", "--format", "json", "--workers", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["files"], summary["failed"]) == (len(HTTP_OBJECTS), len(ERRORS))


def test_local_and_remote_in_one_scan(http: RangeHTTPServer, local_copies: Dict[str, Path]) -> None:
    local = local_copies["year=2024/month=01/part-0.parquet"]
    cat = build_catalogue([local, http.url + "/lake/wide/big.parquet"], workers=1, progress=False)
    assert list(cat.files["status"]) == ["ok", "ok"]
    assert cat.files["etag"].isna()[0] and not cat.files["etag"].isna()[1]


def test_scan_file_url(http: RangeHTTPServer, local_copies: Dict[str, Path]) -> None:
    got = records(scan_file(http.url + "/lake/year=2024/month=02/part-0.parquet").files)[0]
    assert got["status"] == "ok" and got["file_size_bytes"] == len(OTHER)
    assert got["num_rows"] == expected_file(local_copies["year=2024/month=02/part-0.parquet"])["num_rows"]


def test_any_listable_fsspec_protocol() -> None:
    """The same listing and fetching for any fsspec filesystem: here fsspec's in-memory one."""
    memory = fsspec.filesystem("memory")
    for key, data in LAKE.items():
        memory.pipe_file(f"/scanner-test/{key}", data)
    memory.pipe_file("/scanner-test-sibling/x.parquet", GOOD)  # shares the prefix, not the directory
    try:
        cat = build_catalogue("memory://scanner-test", workers=1, progress=False)
    finally:
        memory.rm(["/scanner-test", "/scanner-test-sibling"], recursive=True)
    assert sorted(cat.files["file_name"]) == sorted(f"memory:///scanner-test/{k}" for k in set(LAKE) - SKIPPED)
    assert dict(zip(cat.files["file_name"], cat.files["error_type"].fillna("ok"))) == {
        f"memory:///scanner-test/{k}": ERRORS.get(k, "ok") for k in set(LAKE) - SKIPPED}


def test_storage_options_from_the_command_line() -> None:
    from scanner.__main__ import build_parser, storage_options

    args = build_parser().parse_args(["s3://b/p/", "--endpoint-url", "http://h:1", "--anon", "--storage-option",
                                      'client_kwargs={"region_name": "x"}', "--storage-option", "key=abc",
                                      "--storage-option", "use_ssl=false"])
    assert storage_options(args, args.paths) == {"endpoint_url": "http://h:1", "anon": True, "key": "abc",
                                                 "client_kwargs": {"region_name": "x"}, "use_ssl": False}
    args = build_parser().parse_args(["gs://b/p/", "--anon"])
    assert storage_options(args, args.paths) == {"token": "anon"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        storage_options(build_parser().parse_args(["x", "--storage-option", "novalue"]), ["x"])


def test_cli_interrupted_mid_remote_scan_exits_cleanly(tmp_path: Path) -> None:
    """Ctrl-C while fetches are in flight: workers stopped, fetch threads let go, no block left."""
    slow = {f"/slow/{i}.parquet": GOOD for i in range(400)}
    with RangeHTTPServer(slow, latency=0.05) as server:
        listing = tmp_path / "urls.txt"
        listing.write_text("".join(f"{server.url}{p}\n" for p in slow))
        proc = start_cli("--from-file", str(listing), "--concurrency", "4", "--workers", "1")
        try:
            wait_until(lambda: len(server.log) > 40, 20, "fetches under way")
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
            _, err = proc.communicate(timeout=20)
            assert proc.returncode == 130, err
            assert b"interrupted" in err and b"Traceback" not in err, err
            wait_until(lambda: group_gone(proc.pid), 10, "the workers to exit")
        except BaseException:
            kill_group(proc)
            raise
    assert shm_blocks(proc.pid) == []


def test_giant_footer_claim_is_an_error_row_not_a_stopped_scan():
    """A trailer claiming more than rugo fetches is that object's error row."""
    from rugo.errors import FooterLengthError
    from rugo.remote import MAX_FOOTER_BYTES
    from scanner.sources.objectstore import classify
    failed = classify(FooterLengthError(f"footer length {MAX_FOOTER_BYTES + 1} exceeds", "memory://x"), "memory://x")
    assert failed.error_type == "FooterLengthError" and not failed.systemic and not failed.retryable
    assert "memory://x" in failed.error
