"""Stubs for the C extension rugo._footer (sources in rugo/_ext/)."""
from typing import Any, Dict, Union
import os

def parse(buffer: Any, include_statistics: bool, max_row_groups: int) -> Dict[str, Any]: ...
def read_file(path: Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"], include_statistics: bool,
              max_row_groups: int) -> Dict[str, Any]: ...
