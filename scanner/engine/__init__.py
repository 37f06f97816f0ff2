"""Engines: take the discovered files, return their rows as Arrow tables (:mod:`scanner.engine.results`).

``local``: shared memory and worker processes on this machine.
"""
