"""Coverage-guided fuzzing of rugo's footer decoder with atheris (libFuzzer), for long runs.

What it checks
--------------
Every input goes to :func:`rugo.parquet.read_metadata_from_bytes` twice: as-is (a "file
tail": the trailer checks in ``tail.c`` see raw fuzz bytes) and wrapped as a footer
(``data + <4-byte LE length> + b"PAR1"``, so the Thrift walker sees the bytes). One input in
eight (chosen by its first byte, so a reproducer replays the same way) also tries
``include_statistics=False``, ``schema_only=True``, ``max_row_groups=1`` and an exact-size
buffer through ``read_metadata_from_memoryview`` (an over-read past the end then hits ASan's
redzone, not the NUL that ``bytes`` keeps after its data). A call may return a ``dict`` or
raise :class:`rugo.errors.RugoError`; anything else (another exception, a wrong result
shape, a sanitizer report, a crash) is a bug and stops the run.

Build the sanitizer extension
-----------------------------
ASan + UBSan at ``-O0 -g``, preferably in a copy of the tree so the normal in-place build is
left alone::

    cp -r /work/main /tmp/rugo-asan && cd /tmp/rugo-asan && rm -rf build rugo/*.so
    RUGO_SANITIZE=1 python setup.py build_ext --inplace
    # or, in a dedicated venv:  RUGO_SANITIZE=1 pip install -e .

Run it
------
ASan must be loaded before Python; leak checking is off (CPython keeps objects alive at
exit); ``PYTHONMALLOC=malloc`` lets ASan see Python-side buffers; libstdc++ is preloaded
so ASan can intercept the C++ exception atheris throws to stop at ``-atheris_runs``::

    cd /tmp/rugo-asan
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
    ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc PYTHONPATH=/tmp/rugo-asan \
        python scripts/fuzz_footer.py --seed-corpus /tmp/fuzz-corpus \
        -atheris_runs=1000000 -max_len=65536 /tmp/fuzz-corpus

That run has NO coverage feedback: gcc's libasan defines weak no-op ``__sanitizer_cov_*``
hooks and, preloaded first, they shadow libFuzzer's (atheris warns "Coverage symbols are
being provided by a library other than libFuzzer"), so libFuzzer only mutates the seeds
blindly. For real guidance with gcc (no clang needed), build with coverage hooks and
preload the small shim this script compiles (``--build-shim``), which routes the hooks to
atheris's libFuzzer and turns gcc's ``trace-pc`` callbacks into edge counters::

    cd /tmp/rugo-asan && rm -rf build rugo/*.so
    CFLAGS=-fsanitize-coverage=trace-pc,trace-cmp RUGO_SANITIZE=1 python setup.py build_ext --inplace
    python scripts/fuzz_footer.py --build-shim /tmp/covshim.so
    LD_PRELOAD="/tmp/covshim.so $(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
    ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 PYTHONMALLOC=malloc PYTHONPATH=/tmp/rugo-asan \
        python scripts/fuzz_footer.py --seed-corpus /tmp/fuzz-corpus \
        -atheris_runs=1000000 -max_len=65536 -use_value_profile=1 /tmp/fuzz-corpus

(The shim is listed first, hence ``verify_asan_link_order=0``; it defines no allocator
symbols, so ASan's interceptors still win. Atheris still prints its "Coverage symbols"
warning, naming the shim; ``cov:``/``ft:`` growing in the log shows that it works.)

Options of this script (everything else goes to libFuzzer; ``-help=1`` lists those)
------------------------------------------------------------------------------------
``--seed-corpus DIR``
    Write seeds into ``DIR`` (created if missing) and fuzz it: for every Parquet file under
    ``../shared/corpus/parquet-testing`` (relative to the repo root) and a few
    pyarrow-generated files, the raw Thrift footer (best for the wrapped call) and the
    footer with its 8-byte trailer (a valid as-is input).
``--seeds-only``
    With ``--seed-corpus``: write the seeds and exit (no atheris run; run it without ASan).
``--build-shim PATH``
    Compile the coverage shim described above with gcc into ``PATH`` and exit.
``--tolerate NAME``
    Accept exceptions of the class ``NAME`` (e.g. ``UnicodeDecodeError``) as if they were
    RugoErrors, reporting the first one: keeps a long run going past a known, already
    reported bug. Repeatable. Never use it for a verdict run.

A finding leaves ``crash-<sha1>`` in the working directory (``-artifact_prefix=DIR/`` moves
it); replay it with ``python scripts/fuzz_footer.py crash-<sha1>`` under the same
environment.
"""
from __future__ import annotations

import ctypes
import hashlib
import io
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List, Set

import atheris

# stdlib modules the C extension imports, loaded first so only rugo's Python is instrumented
import datetime  # noqa: F401,E402
import decimal  # noqa: F401,E402
import uuid  # noqa: F401,E402

with atheris.instrument_imports():
    import rugo.errors
    import rugo.parquet

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_ROOT = REPO_ROOT.parent / "shared" / "corpus" / "parquet-testing"
MAGICS = (b"PAR1", b"PARE")

#: option sets tried "occasionally" (selected by the input's first byte)
OPTION_SETS: List[Dict[str, object]] = [
    {"include_statistics": False},
    {"schema_only": True},
    {"max_row_groups": 1},
]

#: exception class names accepted like RugoError (``--tolerate``), and those already reported
TOLERATED: Set[str] = set()
_REPORTED: Set[str] = set()


def wrap_footer(data: bytes) -> bytes:
    """Return ``data`` followed by a Parquet trailer that declares it as the whole footer.

    Parameters
    ----------
    data : bytes
        Bytes to present as a Thrift ``FileMetaData``.

    Returns
    -------
    bytes
        ``data + len(data) as 4-byte little-endian + b"PAR1"``.
    """
    return data + struct.pack("<I", len(data)) + b"PAR1"


def check_result(md: object, opts: Dict[str, object]) -> None:
    """Check the documented shape of a result.

    Parameters
    ----------
    md : object
        What the call returned.
    opts : dict
        The options it was called with.

    Raises
    ------
    AssertionError
        ``md`` is not a dict, or its row groups disagree with the options.
    """
    if not isinstance(md, dict):
        raise AssertionError(f"returned {type(md).__name__}, not dict")
    rgs = md["row_groups"]
    if not isinstance(rgs, list) or len(rgs) > md["num_row_groups"]:
        raise AssertionError(f"row_groups {len(rgs)} > num_row_groups {md['num_row_groups']}")
    if opts.get("schema_only") and rgs:
        raise AssertionError("schema_only=True but row_groups is not empty")
    if opts.get("max_row_groups") == 1 and len(rgs) > 1:
        raise AssertionError("max_row_groups=1 but more than one row group decoded")


def check_call(func, buf, **opts) -> None:
    """Call a rugo entry point; accept a well-formed dict or a RugoError, re-raise the rest.

    Parameters
    ----------
    func : callable
        ``read_metadata_from_bytes`` or ``read_metadata_from_memoryview``.
    buf : bytes-like
        The input.
    **opts
        Keyword options for ``func``.

    Raises
    ------
    AssertionError
        The call returned something other than the documented result.
    Exception
        Any exception that is not a :class:`rugo.errors.RugoError` nor ``--tolerate``-d.
    """
    try:
        md = func(buf, **opts)
    except rugo.errors.RugoError:
        return
    except Exception as exc:  # noqa: BLE001 - the point is to look at every exception
        name = type(exc).__name__
        if name not in TOLERATED:
            raise
        if name not in _REPORTED:
            _REPORTED.add(name)
            print(f"fuzz_footer: tolerated {name}: {exc!r} (input {bytes(buf)[:64]!r}...)",
                  file=sys.stderr, flush=True)
        return
    check_result(md, opts)


def exact_buffer(data: bytes) -> memoryview:
    """Copy ``data`` into a buffer of exactly ``len(data)`` bytes (no trailing NUL).

    Parameters
    ----------
    data : bytes
        The bytes to copy.

    Returns
    -------
    memoryview
        A C-contiguous byte view over a ctypes array sized exactly to ``data``.
    """
    arr = (ctypes.c_ubyte * len(data)).from_buffer_copy(data)
    return memoryview(arr).cast("B")


def test_one_input(data: bytes) -> None:
    """The libFuzzer target: feed ``data`` as a tail and as a wrapped footer.

    Parameters
    ----------
    data : bytes
        One fuzz input.
    """
    wrapped = wrap_footer(data)
    check_call(rugo.parquet.read_metadata_from_bytes, data)
    check_call(rugo.parquet.read_metadata_from_bytes, wrapped)
    if data and data[0] & 0x07 == 0:   # 1 input in 8: the other options too
        for opts in OPTION_SETS:
            check_call(rugo.parquet.read_metadata_from_bytes, wrapped, **opts)
            check_call(rugo.parquet.read_metadata_from_bytes, data, **opts)
        check_call(rugo.parquet.read_metadata_from_memoryview, exact_buffer(data))
        check_call(rugo.parquet.read_metadata_from_memoryview, exact_buffer(wrapped))


# ------------------------------------------------------------------ seeds


def split_tail(blob: bytes) -> Iterator[bytes]:
    """Yield the seeds of one file: its raw footer and its footer with the trailer.

    Parameters
    ----------
    blob : bytes
        A whole file (Parquet or not).

    Yields
    ------
    bytes
        The Thrift footer, then footer + 8-byte trailer; for files that are not Parquet
        (or whose trailer lies), the last 4 KiB as-is.
    """
    if len(blob) >= 12 and blob[-4:] in MAGICS:
        n = struct.unpack("<I", blob[-8:-4])[0]
        if 0 < n <= len(blob) - 8:
            yield blob[-8 - n:-8]
            yield blob[-8 - n:]
            return
    yield blob[-4096:]


def corpus_files() -> List[Path]:
    """Every file under the parquet-testing corpus (Parquet, encrypted and companions)."""
    if not CORPUS_ROOT.is_dir():
        return []
    return sorted(p for p in CORPUS_ROOT.rglob("*") if p.is_file() and p.suffix not in (".md", ".txt"))


def pyarrow_seed_files() -> List[bytes]:
    """A few small files written by pyarrow covering types and features the corpus lacks.

    Returns
    -------
    list of bytes
        Whole Parquet files: mixed flat types with statistics, nested types with the page
        index, several row groups with sorting columns and key/value metadata.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.table({
        "i8": pa.array([1, -2, 3], pa.int8()), "u64": pa.array([1, 2, 2**63], pa.uint64()),
        "f": [0.5, None, 2.0], "s": ["a", "b", None], "b": [True, False, None],
        "bin": pa.array([b"\x00", b"\xff", None], pa.binary()),
        "fsb": pa.array([b"abcd", b"efgh", None], pa.binary(4)),
        "ts": pa.array([1, 2, 3], pa.timestamp("us", tz="UTC")),
        "tsn": pa.array([1, 2, 3], pa.timestamp("ns")),
        "d": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")], pa.decimal128(9, 2)),
        "dbig": pa.array([decimal.Decimal("1" * 30), None, None], pa.decimal128(38, 0)),
        "date": pa.array([datetime.date(2020, 1, 1)] * 3, pa.date32()),
        "t": pa.array([datetime.time(1, 2, 3)] * 3, pa.time64("us")),
        "h": pa.array([1.5, None, -2.0], pa.float16()),
    }).replace_schema_metadata({"origin": "fuzz", "empty": ""})
    nested = pa.table({
        "l": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
        "s": pa.array([{"a": 1, "b": "x"}, None, {"a": 2, "b": None}],
                      pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "m": pa.array([[("k", 1)], None, []], pa.map_(pa.string(), pa.int64())),
    })
    out = []
    for table, opts in ((flat, {}), (flat, {"row_group_size": 1, "compression": "zstd",
                                             "sorting_columns": [pq.SortingColumn(0)]}),
                        (flat, {"version": "1.0", "use_dictionary": False, "write_statistics": False}),
                        (nested, {"write_page_index": True, "data_page_version": "2.0"})):
        buf = io.BytesIO()
        try:
            pq.write_table(table, buf, **opts)
        except (TypeError, ValueError, NotImplementedError, pa.ArrowException):
            continue
        out.append(buf.getvalue())
    return out


def write_seeds(directory: Path) -> int:
    """Write seed inputs into ``directory`` (named by content hash); return how many.

    Parameters
    ----------
    directory : pathlib.Path
        Corpus directory; created when missing. Existing files are kept.

    Returns
    -------
    int
        Number of distinct seeds written or already present.
    """
    directory.mkdir(parents=True, exist_ok=True)
    blobs = [p.read_bytes() for p in corpus_files()] + pyarrow_seed_files()
    names = set()
    for blob in blobs:
        for seed in split_tail(blob):
            name = "seed-" + hashlib.sha1(seed).hexdigest()
            names.add(name)
            (directory / name).write_bytes(seed)
    return len(names)


# ------------------------------------------------------------------ coverage shim for gcc

#: C source of covshim.so (see the module docstring): strong __sanitizer_cov_* definitions
#: that tail-call atheris's libFuzzer (caller PCs preserved), plus AFL-style edge counters
#: fed by gcc's -fsanitize-coverage=trace-pc callback.
SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

static void *core;
static int find_core(struct dl_phdr_info *info, size_t size, void *data)
{
    if (info->dlpi_name && strstr(info->dlpi_name, "core_with_libfuzzer")) {
        *(const char **)data = info->dlpi_name;
        return 1;
    }
    return 0;
}
static void *resolve(const char *name)
{
    if (!core) {
        const char *path = NULL;
        dl_iterate_phdr(find_core, &path);
        if (!path || !(core = dlopen(path, RTLD_NOLOAD | RTLD_LAZY)))
            return NULL;
    }
    return dlsym(core, name);
}
#define FWD(name, params, args) void name params { static void (*real) params; \
    if (!real && !(real = (void (*) params)resolve(#name))) return; real args; }
FWD(__sanitizer_cov_8bit_counters_init, (uint8_t *a, uint8_t *b), (a, b))
FWD(__sanitizer_cov_pcs_init, (const uintptr_t *a, const uintptr_t *b), (a, b))
FWD(__sanitizer_cov_trace_cmp1, (uint8_t a, uint8_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp2, (uint16_t a, uint16_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp4, (uint32_t a, uint32_t b), (a, b))
FWD(__sanitizer_cov_trace_cmp8, (uint64_t a, uint64_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp1, (uint8_t a, uint8_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp2, (uint16_t a, uint16_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp4, (uint32_t a, uint32_t b), (a, b))
FWD(__sanitizer_cov_trace_const_cmp8, (uint64_t a, uint64_t b), (a, b))
FWD(__sanitizer_cov_trace_switch, (uint64_t v, uint64_t *c), (v, c))
FWD(__sanitizer_cov_trace_div4, (uint32_t v), (v))
FWD(__sanitizer_cov_trace_div8, (uint64_t v), (v))
FWD(__sanitizer_cov_trace_gep, (uintptr_t v), (v))
FWD(__sanitizer_cov_trace_pc_indir, (uintptr_t v), (v))
FWD(__sanitizer_weak_hook_memcmp, (void *pc, const void *a, const void *b, size_t n, int r), (pc, a, b, n, r))
FWD(__sanitizer_weak_hook_strncmp, (void *pc, const char *a, const char *b, size_t n, int r), (pc, a, b, n, r))
FWD(__sanitizer_weak_hook_strcmp, (void *pc, const char *a, const char *b, int r), (pc, a, b, r))
FWD(__sanitizer_weak_hook_strncasecmp, (void *pc, const char *a, const char *b, size_t n, int r), (pc, a, b, n, r))
FWD(__sanitizer_weak_hook_strcasecmp, (void *pc, const char *a, const char *b, int r), (pc, a, b, r))

#define EDGES (1u << 16)
static uint8_t counters[EDGES] __attribute__((aligned(4096)));
static uintptr_t pcs[2 * EDGES] __attribute__((aligned(4096)));
static __thread uint32_t prev;
static int registered;
static void register_edges(void)
{
    void (*init)(uint8_t *, uint8_t *) = (void (*)(uint8_t *, uint8_t *))resolve("__sanitizer_cov_8bit_counters_init");
    void (*pcinit)(const uintptr_t *, const uintptr_t *) =
        (void (*)(const uintptr_t *, const uintptr_t *))resolve("__sanitizer_cov_pcs_init");
    if (!init || !pcinit)
        return;
    for (uint32_t i = 0; i < EDGES; i++) {
        pcs[2 * i] = 0x10000000u + i;   /* one fake PC per edge slot, for libFuzzer's cov: */
        pcs[2 * i + 1] = 0;
    }
    memset(counters, 0, sizeof counters);
    init(counters, counters + EDGES);
    pcinit(pcs, pcs + 2 * EDGES);
    registered = 1;
}
void __sanitizer_cov_trace_pc(void)
{
    if (__builtin_expect(!registered, 0)) {
        register_edges();
        if (!registered)
            return;
    }
    uint64_t pc = (uint64_t)(uintptr_t)__builtin_return_address(0);
    uint32_t cur = (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 48);
    counters[(cur ^ prev) & (EDGES - 1)]++;
    prev = cur >> 1;
}
"""


def build_shim(path: Path) -> None:
    """Compile :data:`SHIM_SOURCE` with gcc into the shared library ``path``.

    Parameters
    ----------
    path : pathlib.Path
        Where to write the ``.so``.

    Raises
    ------
    subprocess.CalledProcessError
        gcc failed.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "covshim.c"
        src.write_text(SHIM_SOURCE)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(path), str(src), "-ldl"], check=True)


# ------------------------------------------------------------------ main


def parse_args(argv: List[str]) -> Dict[str, object]:
    """Split this script's options from libFuzzer's.

    Parameters
    ----------
    argv : list of str
        ``sys.argv``.

    Returns
    -------
    dict
        ``seed_dir`` (Path or None), ``seeds_only`` (bool), ``shim`` (Path or None) and
        ``fuzzer_args`` (argv[0] plus everything libFuzzer should see).
    """
    out: Dict[str, object] = {"seed_dir": None, "seeds_only": False, "shim": None, "fuzzer_args": [argv[0]]}
    rest = iter(argv[1:])
    valued = {"--seed-corpus": "seed_dir", "--build-shim": "shim", "--tolerate": "tolerate"}
    for arg in rest:
        key, _, value = arg.partition("=")
        if key in valued:
            value = value or next(rest)
            if key == "--tolerate":
                TOLERATED.add(value)
            else:
                out[valued[key]] = Path(value)
        elif arg == "--seeds-only":
            out["seeds_only"] = True
        else:
            out["fuzzer_args"].append(arg)
    return out


def main(argv: List[str]) -> None:
    """Write seeds / build the shim if asked, then hand the rest of ``argv`` to libFuzzer.

    Parameters
    ----------
    argv : list of str
        ``sys.argv``.
    """
    opts = parse_args(argv)
    if opts["shim"] is not None:
        build_shim(opts["shim"])
        print(f"fuzz_footer: wrote {opts['shim']}", file=sys.stderr)
        return
    args = opts["fuzzer_args"]
    seed_dir = opts["seed_dir"]
    if seed_dir is not None:
        print(f"fuzz_footer: {write_seeds(seed_dir)} seeds in {seed_dir}", file=sys.stderr)
        if opts["seeds_only"]:
            return
        if str(seed_dir) not in args:
            args.append(str(seed_dir))
    print(f"fuzz_footer: rugo._footer from {rugo.parquet._footer.__file__}"
          + (f"; tolerating {sorted(TOLERATED)}" if TOLERATED else ""), file=sys.stderr)
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
