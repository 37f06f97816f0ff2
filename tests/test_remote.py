"""Remote sources through fsspec against real local servers, counting requests per object."""
from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rugo.parquet as pm
from rugo.errors import NotParquetError, FooterLengthError

s3fs = pytest.importorskip("s3fs", reason="remote extra not installed: pip install 'rugo[remote]'")
pytest.importorskip("moto", reason="moto[server] not installed")

from servers import MotoS3Server, RangeHTTPServer  # noqa: E402


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


SMALL = _parquet(pa.table({"id": list(range(100)), "name": [f"n{k}" for k in range(100)]}))
BIG = _parquet(pa.table({f"a_rather_long_column_name_{k:05d}": [k] for k in range(1500)}))   # footer > 64 KiB
OBJECTS = {
    "/data/small.parquet": SMALL,
    "/data/big.parquet": BIG,
    "/data/truncated.parquet": SMALL[: len(SMALL) // 2],
    "/data/notes.txt": b"hello, not parquet\n" * 10,
    "/data/lying.parquet": SMALL[:-8] + (len(SMALL) * 4).to_bytes(4, "little") + b"PAR1",
}


def _footer_size(data: bytes) -> int:
    return int.from_bytes(data[-8:-4], "little")


def test_fixture_sizes():
    assert _footer_size(SMALL) + 8 < pm.TAIL_READ_SIZE < _footer_size(BIG) + 8


@pytest.fixture(scope="module")
def http():
    with RangeHTTPServer(dict(OBJECTS)) as server:
        yield server


def _local(data: bytes) -> dict:
    return pm.read_metadata_from_bytes(data)


class TestHTTP:
    def test_small_footer_is_one_suffix_request(self, http):
        before = len(http.log)
        assert pm.read_metadata(http.url + "/data/small.parquet") == _local(SMALL)
        assert http.log[before:] == [("GET", "/data/small.parquet", "bytes=-65536")]

    def test_big_footer_is_two_requests(self, http):
        before = len(http.log)
        md = pm.read_metadata(http.url + "/data/big.parquet")
        assert md == _local(BIG)
        assert http.log[before:] == [("GET", "/data/big.parquet", "bytes=-65536"),
                                     ("GET", "/data/big.parquet", f"bytes=-{md['footer_size'] + 8}")]

    def test_footer_size_hint_is_one_exact_request(self, http):
        hint = _footer_size(BIG)
        before = len(http.log)
        assert pm.read_metadata(http.url + "/data/big.parquet", footer_size_hint=hint) == _local(BIG)
        assert http.log[before:] == [("GET", "/data/big.parquet", f"bytes=-{hint + 8}")]

    def test_stale_hint_still_reads(self, http):
        md = pm.read_metadata(http.url + "/data/big.parquet", footer_size_hint=100)
        assert md == _local(BIG)

    def test_missing_object(self, http):
        url = http.url + "/data/missing.parquet"
        with pytest.raises(FileNotFoundError, match="missing.parquet") as info:
            pm.read_metadata(url)
        assert info.value.filename == url

    def test_forbidden_object_names_the_url(self, http):
        url = http.url + "/forbidden/x.parquet"
        with pytest.raises(Exception, match="403|orbidden") as info:
            pm.read_metadata(url)
        assert "forbidden/x.parquet" in str(info.value)

    @pytest.mark.parametrize("name, exc", [("truncated.parquet", NotParquetError), ("notes.txt", NotParquetError),
                                           ("lying.parquet", FooterLengthError)])
    def test_bad_objects_name_the_url(self, http, name, exc):
        url = f"{http.url}/data/{name}"
        with pytest.raises(exc) as info:
            pm.read_metadata(url)
        assert info.value.path == url and url in str(info.value)

    def test_options_apply_to_urls(self, http):
        md = pm.read_metadata(http.url + "/data/small.parquet", schema_only=True)
        assert md["row_groups"] == [] and md["num_rows"] == 100

    def test_bad_hint(self, http):
        with pytest.raises(ValueError):
            pm.read_metadata(http.url + "/data/small.parquet", footer_size_hint=0)
        with pytest.raises(TypeError):
            pm.read_metadata(str(Path(__file__)), footer_size_hint=10)


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    with MotoS3Server(tmp_path_factory.mktemp("moto") / "access.log") as server:
        fs = s3fs.S3FileSystem(**server.storage_options)
        fs.mkdir("lake")
        for path, data in OBJECTS.items():
            fs.pipe_file("lake" + path, data)
        yield server


class TestS3:
    def test_small_and_big_footers(self, moto):
        opts = moto.storage_options
        before_small = len(moto.requests_for("lake", "data/small.parquet"))
        assert pm.read_metadata("s3://lake/data/small.parquet", storage_options=opts) == _local(SMALL)
        assert moto.requests_for("lake", "data/small.parquet")[before_small:] == ["GET"]
        before_big = len(moto.requests_for("lake", "data/big.parquet"))
        assert pm.read_metadata("s3://lake/data/big.parquet", storage_options=opts) == _local(BIG)
        assert moto.requests_for("lake", "data/big.parquet")[before_big:] == ["GET", "GET"]

    def test_hint_is_one_request(self, moto):
        before = len(moto.requests_for("lake", "data/big.parquet"))
        md = pm.read_metadata("s3://lake/data/big.parquet", storage_options=moto.storage_options,
                              footer_size_hint=_footer_size(BIG))
        assert md == _local(BIG)
        assert moto.requests_for("lake", "data/big.parquet")[before:] == ["GET"]

    def test_missing_object_and_bucket(self, moto):
        for url in ("s3://lake/data/nope.parquet", "s3://no-such-bucket/x.parquet"):
            with pytest.raises(FileNotFoundError) as info:
                pm.read_metadata(url, storage_options=moto.storage_options)
            assert info.value.filename == url

    def test_not_parquet_names_the_url(self, moto):
        with pytest.raises(NotParquetError, match="s3://lake/data/notes.txt"):
            pm.read_metadata("s3://lake/data/notes.txt", storage_options=moto.storage_options)


class TestUserGuideExamples:
    """The network and cloud examples of the user guide (in-memory-data.txt), as written,
    against the local servers: whole-object downloads handed to read_metadata_from_bytes."""

    def test_urllib_and_requests(self, http):
        import urllib.request

        import requests

        import rugo.parquet as parquet_meta
        url = http.url + "/data/small.parquet"
        response = urllib.request.urlopen(url)
        data = response.read()
        metadata = parquet_meta.read_metadata_from_bytes(data)
        assert metadata == _local(SMALL)

        def read_http_metadata(url):
            response = requests.get(url)
            data = response.content
            return parquet_meta.read_metadata_from_bytes(data)

        assert read_http_metadata(url) == metadata

    def test_boto3_get_object(self, moto):
        import boto3

        import rugo.parquet as parquet_meta
        s3 = boto3.client("s3", endpoint_url=moto.endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="eu-west-1")
        response = s3.get_object(Bucket="lake", Key="data/small.parquet")
        data = response["Body"].read()
        metadata = parquet_meta.read_metadata_from_bytes(data)
        assert metadata == _local(SMALL)


def test_remote_giant_footer_claim_is_not_fetched():
    """A trailer claiming more than MAX_FOOTER_BYTES: no second request; the planner's error.

    ``fetch`` carries the error; ``fetch_tail`` leaves it to the parser (as the scanner's
    workers report it), which raises the same from the 64 KiB it got.
    """
    import fsspec

    from rugo.remote import MAX_FOOTER_BYTES, fetch, fetch_tail
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/giant.parquet", b"\0" * 70_000 + (MAX_FOOTER_BYTES + 1).to_bytes(4, "little") + b"PAR1")
    message = f"footer length {MAX_FOOTER_BYTES + 1} exceeds the {MAX_FOOTER_BYTES} bytes rugo reads"
    fetched = fetch(fs, "/giant.parquet", url="memory://giant.parquet")
    assert len(fetched.data) == 64 * 1024 and fetched.size == -1
    assert isinstance(fetched.error, FooterLengthError) and str(fetched.error) == message
    with pytest.raises(FooterLengthError, match=message):
        pm.read_metadata_from_bytes(fetch_tail(fs, "/giant.parquet", url="memory://giant.parquet"))
    with pytest.raises(FooterLengthError, match=f"memory://giant.parquet: {message}"):
        pm.read_metadata("memory://giant.parquet")
