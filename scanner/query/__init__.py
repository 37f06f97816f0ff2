"""Answers built on a catalogue's tables: what the partitions hold, what is unhealthy.

Each function takes the catalogue's Arrow parts (:mod:`scanner.catalogue.frames`) and
returns a DataFrame; :class:`scanner.catalogue.Catalogue` offers them as methods, so they
work the same on a fresh scan and on an index read back.
"""
