"""Answers built on a catalogue's tables: what the partitions hold, what is unhealthy, which
files and row groups may hold the rows a filter asks for.

Each function takes the catalogue's tables (the Arrow parts of
:mod:`scanner.catalogue.frames`; pruning the DataFrames, whose bounds are Python values)
and returns a DataFrame; :class:`scanner.catalogue.Catalogue` offers them as methods, so they
work the same on a fresh scan and on an index read back.
"""
