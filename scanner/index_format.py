"""What identifies a scanner index: its metadata key and format versions.

A leaf module (no pyarrow): the command line reads an index's footer with ``rugo`` to see
whether a rescan has anything to do before it imports pyarrow and pandas
(:mod:`scanner.incremental`); :mod:`scanner.catalogue.index` writes and reads the index.
"""
from __future__ import annotations

import os
from typing import Union

__all__ = ["INDEX_METADATA_KEY", "INDEX_FORMAT", "READABLE_FORMATS", "MANIFEST", "is_dataset_path"]

#: Key of the index file's key/value metadata that describes the index (JSON).
INDEX_METADATA_KEY = "rugo.scanner"
#: Version of the index layout written. 3: ``files`` records ``ctime_ns``, ``inode`` and
#: ``schema_columns``, and the metadata the scan's ``roots`` (what an incremental rescan
#: compares). 2: the fields of the nested ``columns`` and ``row_groups`` entries carry a
#: prefix (:func:`scanner.catalogue.index.nested_name`), and a nanosecond timestamp bound is kind ``timestamp``
#: with its nanoseconds in the int copy; 1 had no prefixes and kept such bounds as
#: ``datetime`` text (microseconds).
INDEX_FORMAT = 3
#: Versions :meth:`scanner.Catalogue.read` understands.
READABLE_FORMATS = (1, 2, 3)

#: A partitioned index is a directory of part files (each a Parquet index of some files)
#: and this manifest: the index's metadata, and its parts in order.
MANIFEST = "_rugo_index.json"


def is_dataset_path(path: Union[str, "os.PathLike[str]"]) -> bool:
    """Whether ``path`` names a partitioned index: an existing directory, or a path ending
    with a separator (``--output idx/``)."""
    text = os.fspath(path)
    return os.path.isdir(text) or text.endswith(("/", os.sep))
