"""An HTML report of a catalogue: one self-contained file (inline SVG plots, no scripts, no
network), small however many files the lake holds.

``python -m scanner DIR --report report.html``, ``python -m scanner --from-index I --report
report.html`` or :meth:`scanner.Catalogue.report`. What it shows: :mod:`scanner.report.page`;
how it draws: :mod:`scanner.report.figures` (matplotlib), grouped by
:mod:`scanner.report.groups`; the page: ``page.html.j2`` (Jinja2, every value escaped).
"""
from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING, Optional, Union

import rugo
from scanner.atomic import replacing
from scanner.errors import ScanError

if TYPE_CHECKING:  # pragma: no cover
    from scanner.catalogue import Catalogue
    from scanner.query.health import HealthRules

__all__ = ["render", "write_report", "is_report", "GENERATOR"]

PathLike = Union[str, "os.PathLike[str]"]

#: The page's ``<meta name="generator">``: how a report is told from any other file.
GENERATOR = "rugo-report"


def render(catalogue: "Catalogue", rules: Optional["HealthRules"] = None, title: Optional[str] = None) -> str:
    """The report of ``catalogue`` as HTML text (health flags by ``rules``; ``title``
    defaults to the roots scanned)."""
    import jinja2

    from scanner.report.page import content

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.dirname(__file__)),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return environment.get_template("page.html.j2").render(
        page=content(catalogue, rules, title), generator=GENERATOR, generated=generated, version=rugo.__version__)


def is_report(path: PathLike) -> bool:
    """Whether ``path`` is a report this module wrote (its generator tag near the start)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head


def write_report(catalogue: "Catalogue", path: PathLike, rules: Optional["HealthRules"] = None,
                 title: Optional[str] = None, force: bool = False) -> str:
    """Write the report of ``catalogue`` to ``path`` atomically; its absolute path.

    Raises
    ------
    ScanError
        ``path`` is a directory, or an existing file that is not a report (unless
        ``force``): a report never replaces data by mistake.
    """
    check_report_path(path, force)
    text = render(catalogue, rules, title)
    with replacing(path) as f:
        f.write(text.encode("utf-8"))
    return os.path.abspath(path)


def check_report_path(path: PathLike, force: bool = False) -> None:
    """Refuse a report path that would destroy data (see :func:`write_report`)."""
    if os.path.isdir(path):
        raise ScanError(f"report {os.fspath(path)} is a directory; name the HTML file")
    if os.path.lexists(path) and not force and not is_report(path):
        raise ScanError(f"report {os.fspath(path)} exists and is not a scanner report; refusing to overwrite it "
                        "(choose another path, or --force to replace it)")
