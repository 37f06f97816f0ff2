"""Imported by the forkserver that forks the workers (:data:`pool._PRELOAD`), and by
nothing else: it makes the server ignore SIGINT as it starts.

A child forked by the server starts with the handlers the server had before it set up
its own, and the server imports its preload modules before that. So every worker it
forks ignores Ctrl-C from its first instruction, whichever thread started the server.
:func:`pool._sigint_ignored` does the same for a server started from the main thread;
this covers one started from any other thread (a dask task running a scan), where a
Ctrl-C in the instant between a fork and ``worker_main`` printed a worker's traceback.
"""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
