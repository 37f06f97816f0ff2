"""Workers: parse the footers in shared memory blocks, send back columnar batches.

A worker is a long-lived process. It maps each block once, by name and read-only, and
for each batch makes one C call (:func:`scanner.engine.batches.parse`) that decodes every
footer of the batch into Arrow-layout buffers: no Python object per column chunk. What
goes back to the coordinator is that batch (bytes and two short lists per table), one
pickle per batch. A file that fails is a row with ``error_type`` and ``error``, never an
exception that stops the batch.

This module must stay light (no pandas, no pyarrow): every worker imports it at start.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any, Dict, Sequence, Tuple

__all__ = ["worker_main", "TEST_HOOKS_ENV", "TEST_HOOK_KEY"]

#: Set to ``1`` to let files ask a worker to misbehave (tests only, never by default).
TEST_HOOKS_ENV = "RUGO_SCANNER_TEST_HOOKS"
#: Key/value metadata key of a file that asks for a hook: ``crash`` or ``sleep:SECONDS``.
TEST_HOOK_KEY = "rugo.scanner.test"


def _run_test_hooks(buf: Any, spans: Sequence[Tuple[int, int]]) -> None:
    """Misbehave as the batch's files ask (only with :data:`TEST_HOOKS_ENV` set to 1 in the
    coordinator's environment when it started the worker)."""
    from rugo.parquet import read_metadata_from_memoryview

    with memoryview(buf) as whole:
        for start, end in spans:
            with whole[start:end] as view:
                try:
                    meta = read_metadata_from_memoryview(view, schema_only=True)
                except Exception:
                    continue
            _run_test_hook(meta)


def _run_test_hook(meta: dict) -> None:
    """Misbehave as a file's metadata asks (only with :data:`TEST_HOOKS_ENV` set to 1)."""
    hook = (meta["key_value_metadata"] or {}).get(TEST_HOOK_KEY) or ""
    if hook == "crash":
        os._exit(70)
    if hook.startswith("sleep:"):
        time.sleep(float(hook.split(":", 1)[1]))


def worker_main(conn: Any, detail: str, hooks: bool = False) -> None:
    """Body of a worker process: serve batches from ``conn`` until told to stop.

    ``hooks``: let files ask the worker to misbehave (tests only: :data:`TEST_HOOKS_ENV`).

    Messages in: ``(batch_id, block_name, spans, drop_names)``, or ``None`` to stop.
    Messages out: ``("ready", pid)`` once started, then ``("done", batch_id, tables)``
    per batch; ``("fatal", message)`` if the worker cannot start.
    """
    # Ctrl-C reaches the whole process group; only the coordinator decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from scanner.engine.batches import parse
        from scanner.engine.local.shm import attach, sweep_orphans
    except Exception as exc:  # a broken install: say so instead of dying silently
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        return
    blocks: Dict[str, Any] = {}
    try:
        conn.send(("ready", os.getpid()))
        for batch_id, name, spans, drop in iter(conn.recv, None):
            for old in drop:
                blocks.pop(old).close()  # retired by the coordinator
            if name not in blocks:
                blocks[name] = attach(name)
            if hooks:
                _run_test_hooks(blocks[name].buf, spans)
            conn.send(("done", batch_id, parse(blocks[name].buf, spans, detail)))
    except (EOFError, OSError):
        # The coordinator is gone (the pipe broke, or it unlinked a block we were sent):
        # nobody is left to tell. If it died (SIGKILL, a crash), nobody is left to unlink
        # its blocks either: sweep them (the blocks of live owners stay).
        for shm in blocks.values():
            shm.close()
        blocks.clear()
        sweep_orphans()
    finally:
        for shm in blocks.values():
            shm.close()
