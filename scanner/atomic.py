"""Files replaced whole: readers see the old file or the new one, never a part of one."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Union

__all__ = ["replacing"]

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def replacing(path: PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to: a temporary file beside it, made
    durable (fsync) and renamed over ``path`` when the block ends. An exception, Ctrl-C
    included, removes the temporary file and leaves ``path`` as it was."""
    path = os.fspath(path)
    temporary = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(temporary, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
