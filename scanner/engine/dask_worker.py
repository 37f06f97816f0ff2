"""Preloaded in the worker processes of the command line's ``--dask-local`` cluster.

A Ctrl-C at the terminal reaches every process of its process group, and the local
cluster's worker processes are in ours. asyncio, which runs each dask worker, turned the
SIGINT into a cancelled task and a KeyboardInterrupt, and every worker printed two
tracebacks as it died, while the command itself was already stopping. Ignoring SIGINT
instead would keep a worker alive until its running task ends (closing a cluster waits
for it: a long task, a long wait). So a worker ends at once and quietly, as a Ctrl-C
asks; the command closes the cluster, and the local engine's processes of a task, which
see their coordinator die, unlink its shared memory.

Light on purpose: it is imported by every worker before the worker starts.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    """End this worker process at once and quietly on SIGINT (dask calls it as the worker
    starts)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _end)


def _end(signum: int, frame: Any) -> None:
    os._exit(128 + signum)
