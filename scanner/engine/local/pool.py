"""The pool: long-lived worker processes, each on its own pipe.

Workers are forked by multiprocessing's *forkserver* (:data:`START_METHOD`), started once
per process with the worker's modules preloaded. Two forks of that small single-threaded
server are ready in about 6 ms on an idle machine, where two spawned interpreters need
about 90 ms to import what they need; in a long-lived process (a notebook, a service
scanning again and again) every scan after the first starts its workers at that price.
``fork`` of the caller itself would be faster still, but it would copy the caller's whole
heap and its threads' locks (pyarrow's and duckdb's thread pools, tqdm's monitor, the
walk's thread), which can deadlock the child. Where there is no forkserver (Windows), and
in the CLI, workers are spawned. Each worker has its own pipe, so the coordinator knows
exactly which batches a dead worker took with it.

The first worker's start starts the server, with SIGINT ignored (from the main thread:
:func:`_sigint_ignored`; from any thread: its first preload, :mod:`scanner.engine.local.server`),
so the server and every worker it forks ignore Ctrl-C from their first instruction (only
the coordinator decides what an interrupt means); a worker also ignores it itself as it
starts, for a server that someone else started. The server exits
by itself when the process that started it does.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Deque, Iterator, List, Optional, Set

from scanner.engine.local.shm import run_uninterrupted, signals_deferred
from scanner.engine.local.worker import TEST_HOOKS_ENV, worker_main

__all__ = ["Pool", "Worker", "describe_exit", "reap"]

#: Seconds to wait for workers to stop.
STOP_TIMEOUT = 5.0


@dataclass
class Worker:
    process: Any
    conn: Any
    in_flight: Deque[Any] = field(default_factory=deque)  # batches sent, oldest first
    attached: Set[str] = field(default_factory=set)
    ready: bool = False


class Pool:
    """Long-lived spawned workers, each on its own pipe so the coordinator knows exactly
    which batches a dead worker took with it."""

    def __init__(self, detail: str, target: Any = None) -> None:
        self._context = _context()
        self._detail = detail
        self._target = target or worker_main
        self.workers: List[Worker] = []

    def spawn(self) -> Worker:
        """Start one more worker.

        It is in :attr:`workers` before it starts, so that :meth:`close` stops it whatever
        interrupts us; SIGTERM is held back while it starts (SIGINT is ignored then: see
        :func:`_sigint_ignored`).
        """
        parent, child = self._context.Pipe()
        hooks = os.environ.get(TEST_HOOKS_ENV) == "1"  # read here: a forked worker has the server's environment
        process = self._context.Process(target=self._target, args=(child, self._detail, hooks),
                                        name="rugo-scanner-worker", daemon=True)
        worker = Worker(process, parent)
        self.workers.append(worker)
        with signals_deferred(), _sigint_ignored(), _main_module_hidden():
            process.start()
        child.close()
        return worker
    def remove(self, worker: Worker) -> None:
        """Forget a dead worker and reap its process."""
        self.workers.remove(worker)
        worker.conn.close()
        worker.process.join(STOP_TIMEOUT)

    def waitables(self) -> List[Any]:
        """Pipes and process sentinels to wait on."""
        return [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]

    def close(self, graceful: bool) -> None:
        """Stop every worker: ask politely after a finished scan, terminate otherwise.

        Ctrl-C or SIGTERM arriving meanwhile waits until every worker is reaped.
        """
        run_uninterrupted(lambda: self._stop_all(graceful))

    def _stop_all(self, graceful: bool) -> None:
        # idempotent: a worker leaves the list only once it is reaped and its pipe closed
        started = [w for w in self.workers if w.process.pid is not None]
        for worker in started:
            if graceful:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                worker.process.terminate()
        for worker in started:
            reap(worker.process)
        while self.workers:
            self.workers[-1].conn.close()
            self.workers.pop()


#: How workers start: ``"forkserver"`` (where there is one) or ``"spawn"``. The CLI scans
#: once per process and spawns: there a server saves nothing and would outlive the CLI by
#: the few milliseconds it takes to notice that its parent is gone.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _context() -> Any:
    """The context of :data:`START_METHOD` (a forkserver preloads the worker's modules)."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(_PRELOAD)  # no effect once a server runs: its workers import them
    return context


#: Modules the forkserver imports before forking anything (``server`` first: it makes the
#: server, and so every worker it forks, ignore SIGINT).
_PRELOAD = ["scanner.engine.local.server", "scanner.engine.local.worker", "scanner.engine.batches",
            "scanner.engine.local.shm"]


def reap(process: Any) -> None:
    """Wait for a worker that should be ending; kill it if it does not."""
    process.join(STOP_TIMEOUT)
    if process.is_alive():
        process.kill()
        process.join()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start children with SIGINT ignored (kept across exec) until they ignore it themselves.

    A Ctrl-C reaches every process of the terminal's process group; a worker that is still
    importing would die of it with a traceback. Only the main thread may change handlers.
    A Ctrl-C in these few milliseconds is lost for the parent too; one more press works.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start children without telling them the caller's ``__main__``.

    ``spawn`` re-runs the parent's main script in every child (as ``__mp_main__``) so
    that functions defined there can be unpickled. Workers need nothing from it: their
    target lives in :mod:`scanner.engine.local.worker`. Hiding it saves each worker the script's
    imports (pandas, duckdb, ... half a second or more) and lets scripts without an
    ``if __name__ == "__main__"`` guard, and notebooks, call the scanner.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def describe_exit(code: Optional[int]) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


