"""Stubs for the C extension rugo._footer (sources in rugo/_ext/)."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union
import os

def parse(buffer: Any, include_statistics: bool, max_row_groups: int) -> Dict[str, Any]: ...
def read_file(path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"], include_statistics: bool,
              max_row_groups: int) -> Dict[str, Any]: ...
def parse_batch(buffer: Any, spans: Sequence[Tuple[Optional[int], Optional[int]]],
                detail: int) -> Dict[str, Dict[str, Union[Tuple[bytes, Optional[bytes]],
                                                          Tuple[bytes, bytes, Optional[bytes]], List[Any]]]]: ...
