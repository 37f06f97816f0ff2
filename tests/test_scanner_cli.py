"""The command line, and the example lake the README's first command scans."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner import Catalogue
from scanner.__main__ import main
from scanner_helpers import REPO, make_lake, start_cli, write


# root reads the chmod 000 file of the lake (test_scanner_catalogue refuses it to root explicitly)
FAILED = 5 + (os.geteuid() != 0)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-lake")
    make_lake(root)
    return root


def test_help_explains_every_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("--output", "--workers", "--mode", "--detail", "--format", "--no-progress", "--strict",
                 "--shm-bytes", "exit status", "index (--output)", "'_'"):
        assert word in text, word


def test_table_summary(lake: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(lake), "--no-progress", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"({16 - FAILED} ok, {FAILED} failed)" in out
    assert "schemas        2 distinct" in out
    assert "largest footers" in out and "EncryptedFooterError" in out


def test_json_summary_and_index(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    index = tmp_path / "index.parquet"
    assert main([str(lake), "--no-progress", "--format", "json", "--output", str(index),
                 "--detail", "files"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["files"], summary["ok"], summary["failed"]) == (16, 16 - FAILED, FAILED)
    assert summary["output"] == str(index)
    cat = Catalogue.read(index)
    assert cat.detail == "files" and len(cat.files) == 16 and len(cat.columns) == 0


def test_strict_fails_on_a_broken_file(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(lake), "--no-progress", "--strict"]) == 1
    assert main([str(write(tmp_path / "ok.parquet")), "--no-progress", "--strict"]) == 0


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "missing"), "--no-progress"]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    for bad in (["--workers", "0"], ["--mode", "mmap"], ["--shm-bytes", "1000"], []):
        with pytest.raises(SystemExit) as exit_info:
            main([str(tmp_path), *bad] if bad else bad)
        assert exit_info.value.code == 2


def test_script_without_main_guard_can_scan(lake: Path, tmp_path: Path) -> None:
    """Workers are spawned without the caller's __main__: an unguarded script is not re-run."""
    script = tmp_path / "unguarded.py"
    script.write_text("import sys, scanner\n"
                      "cat = scanner.build_catalogue(sys.argv[1], workers=2, progress=False)\n"
                      "print(len(cat.files))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, str(script), str(lake)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "16\n", "")


def test_example_lake_end_to_end(tmp_path: Path) -> None:
    """The README's first command, minus the venv: generate the example lake, scan it."""
    spec = importlib.util.spec_from_file_location("make_example_lake", REPO / "scripts" / "make_example_lake.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_lake(tmp_path / "lake")
    proc = start_cli(str(tmp_path / "lake"), "--format", "json", "--detail", "row_groups",
                     "--output", str(tmp_path / "index.parquet"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == b""  # no warning from the resource tracker: nothing leaked
    summary = json.loads(out)
    assert (summary["ok"], summary["failed"]) == (25, 5)
    assert summary["errors_by_type"] == {"NotParquetError": 3, "EncryptedFooterError": 1, "ThriftDecodeError": 1}
    assert summary["distinct_schemas"] == 5
    assert summary["partition_columns"] == ["year", "month", "day", "region"]
    cat = Catalogue.read(tmp_path / "index.parquet")
    assert not cat.files["file_name"].str.contains("/_|/\\.", regex=True).any()
    nested = cat.columns[cat.columns["path_in_schema"] == "tags.list.element"]
    assert len(nested) == 18 and (nested["logical_type"] == "varchar").all()


def test_a_signal_once_the_cli_is_finishing_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """During a scan, the CLI's handlers raise (KeyboardInterrupt, SystemExit(143)); once it
    is finishing they return. The flag is set by a plain store before any call on the way
    out, so a signal handled inside a call there (here: inside ``signal.signal`` itself) is
    dropped instead of printing a traceback."""
    import signal

    import scanner.__main__ as cli

    with pytest.raises(KeyboardInterrupt):
        cli._interrupt(signal.SIGINT, None)
    with pytest.raises(SystemExit) as exit_info:
        cli._quiet_exit(signal.SIGTERM, None)
    assert exit_info.value.code == 143

    real = signal.signal
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handled_inside(signum, handler):  # type: ignore[no-untyped-def]
        cli._interrupt(signal.SIGINT, None)  # a Ctrl-C handled while the handlers are switched
        cli._quiet_exit(signal.SIGTERM, None)
        return real(signum, handler)

    monkeypatch.setattr(cli, "_AS_COMMAND", True)
    monkeypatch.setattr(cli, "_FINISHING", False)
    monkeypatch.setattr(cli.pool, "START_METHOD", cli.pool.START_METHOD)
    monkeypatch.setattr(cli, "_main", lambda argv: 0)
    monkeypatch.setattr(cli.signal, "signal", handled_inside)
    try:
        assert cli.main([]) == 0
        assert cli._FINISHING is True
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        for signum, handler in saved.items():
            real(signum, handler)


def test_the_command_ends_without_teardown_and_loses_no_output(lake: Path, tmp_path: Path) -> None:
    """``python -m scanner`` ends with ``os._exit`` after the exit handlers: the output,
    to a file (fully buffered, unlike a terminal), is complete, the exit status is the
    command's, and the index is in place."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        done = subprocess.run([sys.executable, "-m", "scanner", str(lake), "--no-progress", "--format", "json",
                               "--strict", "--changes", "-o", str(tmp_path / "index.parquet")],
                              cwd=REPO, env=env, stdout=stdout, stderr=stderr, timeout=120)
    assert done.returncode == 1, err.read_text()  # --strict: the lake has broken files
    summary = json.loads(out.read_text())
    assert summary["failed"] == FAILED
    assert Catalogue.read(tmp_path / "index.parquet").summary()["failed"] == FAILED


def test_the_command_exits_as_usual_while_a_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread that is not a daemon still running (a library's): the usual exit, which
    waits for it, instead of ``os._exit``; daemon threads do not hold it up."""
    import threading

    import scanner.__main__ as cli

    ended = []
    monkeypatch.setattr(cli.os, "_exit", lambda status: ended.append(("os._exit", status)))
    monkeypatch.setattr(cli.atexit, "_run_exitfuncs", lambda: ended.append(("handlers",)))
    release = threading.Event()
    daemon = threading.Thread(target=release.wait, daemon=True)
    worker = threading.Thread(target=release.wait)
    daemon.start()
    worker.start()
    try:
        # the threads of this test only: others that earlier tests left do not count
        monkeypatch.setattr(cli.threading, "enumerate", lambda: [threading.main_thread(), daemon])
        cli._exit(3)
        assert ended == [("handlers",), ("os._exit", 3)]
        monkeypatch.setattr(cli.threading, "enumerate", lambda: [threading.main_thread(), daemon, worker])
        with pytest.raises(SystemExit) as exit_info:
            cli._exit(4)
        assert exit_info.value.code == 4 and ended == [("handlers",), ("os._exit", 3)]
    finally:
        release.set()
        worker.join()
        daemon.join()
