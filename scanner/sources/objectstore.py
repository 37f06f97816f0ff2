"""Remote sources: list object-store prefixes and fetch footers concurrently, through fsspec.

Data flow (the rest of the scan is the one for local files)::

    s3://bucket/prefix/ ──► list_url: fs.find(detail=True), paged by s3fs / gcsfs
    (gs://, any listable       │  size, ETag, LastModified per object; the skip rules and
     fsspec protocol)          │  hive partitions of local discovery
    https://host/x.parquet ────┤  (HTTP has no listing: each URL is one object)
                               ▼
                    FileEntry(url, size, mtime_ns, partitions, etag)
                               │
    Fetcher ── ``concurrency`` threads, each calling rugo.remote.fetch_tail: one range
       │       request per object (absolute when the listing gave the size, a suffix range
       │       otherwise), a second only for a footer over 64 KiB, one exact request with a
       │       footer-size hint from an earlier index. With async filesystems (s3fs, gcsfs,
       │       HTTP through aiohttp) every request runs on fsspec's event loop: the threads
       │       only wait, so ``concurrency`` requests are in flight at once.
       │       Throttling (429, 503 SlowDown), other 5xx answers, timeouts and dropped
       │       connections are retried with exponential backoff; what still fails is a
       │       :class:`Failed` (an error row naming the URL).
       ▼
    coordinator ── copies each tail into the shared-memory slab; workers parse as usual

A wrong endpoint, denied credentials or a missing bucket fail the listing: one
:class:`~scanner.errors.ScanError` naming the URL. HTTP has no listing, so there the first
answers decide: if no object of a host could be fetched and one fails because the host
cannot be reached at all, the scan stops with a ``ScanError`` instead of one error row per
URL.

Only the coordinator imports this module (fsspec and pyarrow are not for workers).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import socket
import threading
import time
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any, Deque, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple, Union
from urllib.parse import urlsplit

from rugo.errors import RugoError
from rugo.remote import fetch_tail, filesystem_for
from scanner.entries import FileEntry, Partitions, Selection, partition_of
from scanner.errors import ScanError

__all__ = ["DEFAULT_CONCURRENCY", "RETRIES", "BACKOFF_SECONDS", "Fetched", "Failed", "Job", "Fetcher",
           "list_url", "fetch_object", "fetch_one", "classify", "footer_hints", "is_remote"]

#: Requests in flight at once, by default.
DEFAULT_CONCURRENCY = 64
#: Retries after the first attempt for throttling, 5xx answers, timeouts and dropped connections.
RETRIES = 3
#: Wait before the first retry; it doubles with each retry (times a random 0.5-1.5).
BACKOFF_SECONDS = 0.25
#: Bytes a plaintext-footer encrypted file has between its footer and trailer (nonce + tag).
_SIGNATURE = 28

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_RETRY_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                          "TooManyRequests", "RequestTimeout", "InternalError", "ServiceUnavailable"})
_DENIED_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                           "InvalidToken", "AllAccessDisabled", "AccountProblem"})
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound"})
#: Exception classes (by name, anywhere in the chain) that mean the host cannot be reached.
_UNREACHABLE = frozenset({"ConnectionRefusedError", "gaierror", "ClientConnectorError",
                          "ClientConnectorDNSError", "EndpointConnectionError", "ConnectTimeoutError"})
_TIMEOUTS = frozenset({"TimeoutError", "ReadTimeoutError", "ConnectTimeoutError", "ServerTimeoutError",
                       "FSTimeoutError", "timeout"})
_DROPPED = frozenset({"ConnectionError", "ClientConnectionError", "ClientPayloadError",
                      "ServerDisconnectedError", "HTTPClientError", "IncompleteRead", "ProtocolError"})


def is_remote(path: str) -> bool:
    """True for a URL that fsspec reads remotely (``s3://``, ``gs://``, ``https://``...), not ``file://``."""
    return "://" in path and not path.startswith("file://")


# --------------------------------------------------------------------------- errors


class Failed(NamedTuple):
    """An object that could not be fetched: an error row, or (``systemic``) a reason to stop."""

    error_type: str
    error: str
    retryable: bool = False
    systemic: bool = False


def classify(exc: BaseException, url: str) -> Failed:
    """What a failed request means: error class, a message naming ``url``, whether to retry.

    Parameters
    ----------
    exc : BaseException
        What fsspec raised (s3fs translates botocore errors and keeps them as the cause;
        HTTP raises aiohttp's ``ClientResponseError``).
    url : str
        The object, named in the message.

    Returns
    -------
    Failed
        ``error_type`` is ``FileNotFoundError`` (404, NoSuchKey), ``PermissionError`` (401,
        403, AccessDenied), ``TimeoutError``, ``ConnectionError`` or ``OSError`` (another
        HTTP status), else the exception's class; ``systemic`` when the host cannot be
        reached at all or the error is not about the object (a bad option).
    """
    chain = list(_chain(exc))
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    status, code, text = _status(chain)
    answer = f"HTTP {status} {text}".strip() if status else (code or "")
    if isinstance(exc, FileNotFoundError) or status in (404, 410) or code in _MISSING_CODES:
        return Failed("FileNotFoundError", f"no such object: {url}")
    if isinstance(exc, PermissionError) or status in (401, 403) or code in _DENIED_CODES:
        return Failed("PermissionError", f"access denied ({answer or exc}): {url}")
    if status in _RETRY_STATUS or code in _RETRY_CODES:
        return Failed("OSError", f"{answer}: {url}", retryable=True)
    if names & _UNREACHABLE:
        return Failed("ConnectionError", f"cannot connect ({_first_line(exc)}): {url}", True, True)
    if names & _TIMEOUTS:
        return Failed("TimeoutError", f"timed out ({_first_line(exc) or 'no answer'}): {url}", True)
    if names & _DROPPED:
        return Failed("ConnectionError", f"connection failed ({_first_line(exc)}): {url}", True)
    if status:
        return Failed("OSError", f"{answer}: {url}")
    if isinstance(exc, OSError):
        return Failed(type(exc).__name__, f"{_first_line(exc)}: {url}")
    if isinstance(exc, RugoError):   # about this object's bytes (a giant footer claim): a row
        return Failed(type(exc).__name__, str(exc))
    return Failed(type(exc).__name__, f"{_first_line(exc)}: {url}", systemic=True)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes / contexts, each once."""
    seen: Set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status(chain: Sequence[BaseException]) -> Tuple[Optional[int], Optional[str], str]:
    """HTTP status, service error code and reason found in an exception chain."""
    for e in chain:
        response = getattr(e, "response", None)
        if isinstance(response, dict):  # botocore ClientError
            error = response.get("Error") or {}
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            return status, error.get("Code"), error.get("Message") or error.get("Code") or ""
        status = getattr(e, "status", None)
        if isinstance(status, int) and 100 <= status < 600:  # aiohttp ClientResponseError
            return status, None, str(getattr(e, "message", "") or "")
        status = getattr(e, "code", None)
        if isinstance(status, int) and 100 <= status < 600:  # gcsfs HttpError
            return status, None, str(getattr(e, "message", "") or "")
    return None, None, ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --------------------------------------------------------------------------- listing


def list_url(url: str, storage_options: Optional[Mapping[str, Any]] = None,
             selection: Optional[Selection] = None, shard: str = "", top_only: bool = False) -> List[FileEntry]:
    """The objects at ``url``: one HTTP(S) object, or every object below a prefix.

    ``shard`` (a sub-prefix of the prefix, ``a=1/b``) lists only below it, and
    ``top_only`` only the objects directly in the prefix: the parts a distributed listing
    splits a prefix into (:mod:`scanner.engine.executor`). Partitions and selection rules
    are those of the whole prefix either way.

    Listable protocols (``s3://``, ``gs://``, ...) are listed with ``fs.find(detail=True)``:
    the filesystem pages through the listing; each object's size, ETag and modification
    time come with it. Below the prefix, objects are skipped as ``selection`` says (hidden
    names, sidecars, globs: :class:`~scanner.entries.Selection`) and ``key=value`` path
    parts become hive partitions, as for local directories. An
    ``http(s)://`` URL is taken as one object: its size and ETag come with its tail.

    Raises
    ------
    ScanError
        The listing failed (wrong endpoint, denied credentials, missing bucket), or
        found nothing: one error naming ``url``.
    """
    selection = selection if selection is not None else Selection()
    if urlsplit(url).scheme in ("http", "https"):
        return [FileEntry(url)] if selection.keep(url, "") else []
    try:
        fs, root = filesystem_for(url, storage_options)
    except Exception as exc:
        raise ScanError(f"cannot open {url}: {type(exc).__name__}: {_first_line(exc)}") from None
    below = f"{root.rstrip('/')}/{shard}" if shard else root
    try:
        found = fs.ls(root, detail=True) if top_only else fs.find(below, detail=True)
        if top_only:
            found = {info["name"]: info for info in found}
    except Exception as exc:
        failed = classify(exc, url)
        reason = {"FileNotFoundError": "no such bucket or prefix", "PermissionError": "access denied",
                  "ConnectionError": "cannot connect", "TimeoutError": "timed out"}.get(failed.error_type,
                                                                                       failed.error_type)
        raise ScanError(f"cannot list {url}: {reason} ({_first_line(exc)})") from None
    root = root.rstrip("/")
    entries = []
    listed = 0
    for name in sorted(found):
        info = found[name]
        if info.get("type", "file") != "file" or name.endswith("/"):
            continue
        if name != root and not name.startswith(root + "/"):  # a sibling sharing the prefix
            continue
        listed += 1
        relative = name[len(root) + 1:].split("/") if name != root else []
        if any(selection.hidden(part) for part in relative):
            continue
        url_of_object = fs.unstrip_protocol(name)
        if not selection.keep(url_of_object, "/".join(relative)):
            continue
        entries.append(FileEntry(url_of_object, _int(info.get("size"), -1), _mtime_ns(info),
                                 _partitions(relative[:-1]), etag=info.get("ETag") or info.get("etag")))
    if not listed:
        raise ScanError(f"cannot list {url}: no such object or prefix (nothing below it to scan)")
    return entries


def _partitions(directories: Sequence[str]) -> Partitions:
    return tuple(p for part in directories for p in partition_of(part))


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _mtime_ns(info: Mapping[str, Any]) -> int:
    """Modification time of a listed object, ns since the epoch (-1 when not listed)."""
    for key in ("LastModified", "mtime", "updated", "last_modified", "Last-Modified"):
        value = info.get(key)
        if value is not None:
            return _time_ns(value)
    return -1


def _time_ns(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value * 1_000_000_000)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = parsedate_to_datetime(value)  # HTTP date
            except (TypeError, ValueError):
                return -1
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return (value - _EPOCH) // dt.timedelta(microseconds=1) * 1000
    return -1


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------- hints


def footer_hints(entries: Sequence[FileEntry], index: Any) -> Dict[str, int]:
    """Footer lengths an earlier index recorded, for the remote entries it still describes.

    Parameters
    ----------
    entries : sequence of FileEntry
        The objects about to be fetched.
    index : path or Catalogue
        An index written by ``Catalogue.write`` (only ``file_name``, ``file_size_bytes``,
        ``etag``, ``status``, ``footer_size`` and ``encryption_algorithm`` are read), or a
        :class:`~scanner.catalogue.Catalogue`.

    Returns
    -------
    dict
        URL -> the footer length its trailer claims, for rows that were ok and whose
        ETag (when both sides know it) or else size (when both know it) still match. A
        hint that turns out stale costs a second request, never a wrong result.
    """
    rows = _index_rows(index)
    hints = {}
    for entry in entries:
        row = rows.get(entry.path)
        if row is None or not is_remote(entry.path):
            continue
        size, etag, footer = row
        if etag is not None and entry.etag is not None:
            if etag != entry.etag:
                continue
        elif size is not None and entry.size >= 0 and size != entry.size:
            continue
        hints[entry.path] = footer
    return hints


def _index_rows(index: Any) -> Dict[str, Tuple[Optional[int], Optional[str], int]]:
    """file_name -> (size, etag, footer length the trailer claims) of an index's ok rows."""
    wanted = ("file_name", "file_size_bytes", "etag", "status", "footer_size", "encryption_algorithm")
    if hasattr(index, "files"):
        columns = {name: index.files[name].to_numpy(dtype=object, na_value=None).tolist()
                   if name in index.files else None for name in wanted}
    else:
        import pyarrow.parquet as pq

        path = os.fspath(index)
        try:
            present = set(pq.read_schema(path).names)
            table = pq.read_table(path, columns=[n for n in wanted if n in present])
        except Exception as exc:
            raise ScanError(f"{path}: cannot read footer hints from it: {_first_line(exc)}") from None
        if not {"file_name", "footer_size", "status"} <= present:
            raise ScanError(f"{path}: not a scanner index (no file_name / footer_size / status)")
        columns = {name: table.column(name).to_pylist() if name in present else None for name in wanted}
    count = len(columns["file_name"])
    for name in wanted:
        if columns[name] is None:
            columns[name] = [None] * count
    rows = {}
    for name, size, etag, status, footer, encryption in zip(*(columns[n] for n in wanted)):
        if status == "ok" and footer is not None and footer > 0:
            claimed = int(footer) + (_SIGNATURE if encryption is not None else 0)
            rows[name] = (None if size is None else int(size), etag, claimed)
    return rows


# --------------------------------------------------------------------------- fetching


class Fetched(NamedTuple):
    """An object's tail, and what the answer said about the object (HTTP: size, ETag)."""

    tail: bytes
    size: int = -1
    mtime_ns: int = -1
    etag: Optional[str] = None


class Job(NamedTuple):
    """One object to fetch: ``key`` is the caller's (the file id)."""

    key: int
    url: str
    size: int = -1
    hint: Optional[int] = None


Outcome = Union[Fetched, Failed]


def fetch_object(fs: Any, url: str, *, size: int = -1, hint: Optional[int] = None,
                 answers: Optional["_Answers"] = None, retries: Optional[int] = None,
                 backoff: Optional[float] = None) -> Outcome:
    """Fetch one object's tail with :func:`rugo.remote.fetch_tail`, retrying what is transient.

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem of ``url``.
    url : str
        The object.
    size : int
        Its size from the listing (-1: unknown; a suffix range is used).
    hint : int, optional
        Footer length from an earlier index: the first request is exact.
    answers : optional
        HTTP only: where the answers' headers are seen (size, ETag, Last-Modified).
    retries, backoff : int, float, optional
        Retries after the first attempt, and the first wait (doubling, with jitter);
        default :data:`RETRIES` and :data:`BACKOFF_SECONDS`.

    Returns
    -------
    Fetched or Failed
    """
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    path = fs._strip_protocol(url)
    for attempt in range(retries + 1):
        try:
            tail = fetch_tail(fs, path, footer_size_hint=hint, size=size if size >= 0 else None, url=url)
        except Exception as exc:
            if size < 0 and hint is None and _status(list(_chain(exc)))[0] == 416:
                # only an empty object cannot satisfy a suffix range: its tail is b""
                return Fetched(b"", *answers.pop(fs, url)) if answers is not None else Fetched(b"", 0)
            failed = classify(exc, url)
            if not failed.retryable or attempt == retries:
                if attempt:
                    failed = failed._replace(error=f"{failed.error} (after {attempt + 1} attempts)")
                return failed
            time.sleep(backoff * 2 ** attempt * (0.5 + random.random()))
        else:
            if answers is not None:
                return Fetched(tail, *answers.pop(fs, url))
            return Fetched(tail)
    raise AssertionError("unreachable")  # pragma: no cover


class _Answers:
    """Size, ETag and Last-Modified of HTTP answers, seen through an aiohttp trace hook.

    HTTP has no listing, and a suffix-range answer names the object's size only in its
    ``Content-Range`` header, which fsspec does not return: this hook notes the headers of
    each answer, keyed by URL, without a request of its own.
    """

    def __init__(self) -> None:
        import aiohttp

        self.seen: Dict[str, Tuple[int, int, Optional[str]]] = {}
        self.trace_config = aiohttp.TraceConfig()
        self.trace_config.on_request_end.append(self._on_request_end)

    async def _on_request_end(self, session: Any, context: Any, params: Any) -> None:
        response = params.response
        if response.status not in (200, 206, 416):
            return
        headers = response.headers
        if response.status != 200:  # Content-Range: bytes 0-99/1000, or bytes */0
            size = _int(headers.get("Content-Range", "").rpartition("/")[2], -1)
        else:
            size = _int(headers.get("Content-Length"), -1)
        modified = headers.get("Last-Modified")
        self.seen[str(params.url)] = (size, _time_ns(modified) if modified else -1, headers.get("ETag"))

    def pop(self, fs: Any, url: str) -> Tuple[int, int, Optional[str]]:
        return self.seen.pop(str(fs.encode_url(url)), (-1, -1, None))


class Fetcher:
    """Fetch the tails of remote objects on ``concurrency`` threads, a bounded window ahead.

    The coordinator :meth:`pump` s jobs in (at most ``window`` objects are being fetched or
    wait, fetched, to be copied into shared memory), waits on the fetcher as on its worker
    pipes (:meth:`fileno`), :meth:`take` s the outcomes and reports with :meth:`consumed`
    when a tail is in shared memory.

    Parameters
    ----------
    jobs : sequence of Job
        The objects, in the order to fetch them.
    storage_options : mapping, optional
        For the filesystems (credentials, ``endpoint_url``, ...).
    concurrency : int
        Requests in flight at once (threads).
    window : int, optional
        Objects fetched ahead of the coordinator; default ``2 * concurrency``.
    retries, backoff : int, float, optional
        As for :func:`fetch_object`.

    Raises
    ------
    ScanError
        A filesystem cannot be created (unknown protocol, bad option).
    """

    def __init__(self, jobs: Sequence[Job], storage_options: Optional[Mapping[str, Any]] = None,
                 concurrency: int = DEFAULT_CONCURRENCY, window: Optional[int] = None,
                 retries: Optional[int] = None, backoff: Optional[float] = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.pending = len(jobs)
        self._waiting: Deque[Job] = deque(jobs)
        self._window = window or 2 * concurrency
        self._retries, self._backoff = retries, backoff
        self._filesystems: Dict[str, Tuple[Any, Optional[_Answers]]] = {}
        for job in jobs:
            self._filesystem(job.url, storage_options, concurrency)
        self._queue: Deque[Optional[Job]] = deque()
        self._queued = threading.Semaphore(0)
        self._done: Deque[Tuple[int, str, Outcome]] = deque()
        self._unconsumed: Set[int] = set()
        self._in_flight = 0
        self._reached: Set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._threads = [threading.Thread(target=self._serve, name=f"rugo-fetch-{n}", daemon=True)
                         for n in range(min(concurrency, len(jobs)))]
        for thread in self._threads:
            thread.start()
        self.pump()

    def _filesystem(self, url: str, storage_options: Optional[Mapping[str, Any]],
                    concurrency: int) -> Tuple[Any, Optional[_Answers]]:
        protocol = urlsplit(url).scheme
        known = self._filesystems.get(protocol)
        if known is not None:
            return known
        options = dict(storage_options or {})
        answers = None
        if protocol in ("http", "https"):
            answers = _Answers()
            client = dict(options.get("client_kwargs") or {})
            client["trace_configs"] = list(client.get("trace_configs") or []) + [answers.trace_config]
            options.update(client_kwargs=client, skip_instance_cache=True)
        elif protocol in ("s3", "s3a"):
            config = dict(options.get("config_kwargs") or {})
            config.setdefault("max_pool_connections", max(10, concurrency))  # botocore's default is 10
            options["config_kwargs"] = config
        try:
            fs, _ = filesystem_for(url, options)
        except Exception as exc:
            raise ScanError(f"cannot open {url}: {type(exc).__name__}: {_first_line(exc)}") from None
        self._filesystems[protocol] = (fs, answers)
        return fs, answers

    def fileno(self) -> int:
        """Readable when outcomes are waiting (for ``multiprocessing.connection.wait``)."""
        return self._wake_read.fileno()

    def pump(self) -> None:
        """Queue more jobs while fewer than ``window`` objects are fetched or held."""
        while self._waiting and self._in_flight + len(self._unconsumed) < self._window:
            self._in_flight += 1
            self._queue.append(self._waiting.popleft())
            self._queued.release()

    def take(self) -> List[Tuple[int, Outcome]]:
        """Outcomes of the fetches finished since the last call, as ``(key, outcome)``.

        Raises
        ------
        ScanError
            A host cannot be reached (or a bad option) before any of its objects could
            be fetched: one error instead of a row per object.
        """
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        outcomes = []
        while self._done:
            key, url, outcome = self._done.popleft()
            self._in_flight -= 1
            self.pending -= 1
            host = urlsplit(url).netloc
            if isinstance(outcome, Fetched):
                self._reached.add(host)
                self._unconsumed.add(key)
            elif outcome.systemic and host not in self._reached:
                raise ScanError(f"cannot fetch from {urlsplit(url).scheme}://{host}: {outcome.error}")
            outcomes.append((key, outcome))
        self.pump()
        return outcomes

    def consumed(self, key: int) -> None:
        """The tail of ``key`` is in shared memory: room for one more in the window."""
        self._unconsumed.discard(key)

    def close(self) -> None:
        """Stop the threads (a request in flight finishes in its daemon thread) and close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._waiting.clear()
            self._queue.clear()
            for _ in self._threads:
                self._queue.append(None)
                self._queued.release()
            self._wake_read.close()
            self._wake_write.close()
        for fs, answers in self._filesystems.values():
            if answers is not None:
                _close_http_session(fs)
        self._filesystems.clear()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _serve(self) -> None:
        while True:
            self._queued.acquire()
            try:
                job = self._queue.popleft()
            except IndexError:  # cleared by close()
                return
            if job is None:
                return
            try:
                fs, answers = self._filesystems[urlsplit(job.url).scheme]
            except KeyError:  # closed meanwhile
                return
            outcome = fetch_object(fs, job.url, size=job.size, hint=job.hint, answers=answers,
                                   retries=self._retries, backoff=self._backoff)
            with self._lock:
                if self._closed:
                    return
                self._done.append((job.key, job.url, outcome))
                try:
                    self._wake_write.send(b"!")
                except (BlockingIOError, OSError):
                    pass  # the coordinator has wake-ups waiting already


def fetch_one(entry: FileEntry, storage_options: Optional[Mapping[str, Any]] = None,
              hint: Optional[int] = None) -> Outcome:
    """Fetch one remote object's tail, as a scan would (same filesystem set-up and retries)."""
    from multiprocessing.connection import wait

    with Fetcher([Job(0, entry.path, entry.size, hint)], storage_options, concurrency=1) as fetcher:
        while True:
            wait([fetcher], timeout=1.0)
            for _, outcome in fetcher.take():
                return outcome


def _close_http_session(fs: Any) -> None:
    """Close the aiohttp session of a filesystem made for this scan (not in fsspec's cache)."""
    session = getattr(fs, "_session", None)
    if session is None:
        return
    try:
        fs.close_session(fs.loop, session)
    except Exception:  # pragma: no cover - best effort at the end of a scan
        pass
    fs._session = None
