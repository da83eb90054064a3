"""Executed notebooks to self-contained HTML walkthroughs that work offline and carry no secrets.

Uses nbconvert's HTMLExporter (without its BeautifulSoup pass: `walkthrough_exporter`) with the
`offline` template beside this module (the lab template minus the scripts it would fetch from CDNs).
The notebooks hold figures as plotly JSON (`ui.rendering`): each becomes a div, and every page loads
plotly.js from one plotly-<version>.min.js written beside it, so a folder of walkthroughs carries
plotly.js once and works offline as a whole. Anything that looks like a credential is replaced
(`cilium_lab.scrub`) in every string of the notebook before rendering and in the rendered page before
writing, and a page that still references a remote script is refused.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from cilium_lab import outputs
from cilium_lab.errors import InputError, LabError
from cilium_lab.scrub import scrub, scrub_data
from cilium_lab.ui import rendering

TEMPLATES = Path(__file__).resolve().parent / "templates"
_REMOTE_SCRIPT = re.compile(r"<script[^>]+src=[\"']https?://", re.I)


def check_notebook(notebook: Path) -> Path:
    """`notebook` if it is a notebook file, else one InputError line."""
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        raise InputError(
            f"{notebook} is not an executed notebook (.ipynb): run the lab first with `cilium-lab run`"
        )
    try:
        json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(
            f"{notebook} is not a readable notebook ({type(err).__name__}): give an executed .ipynb"
        ) from None
    return notebook


def to_html(notebook: Path, out: Path | None = None) -> Path:
    """Write the walkthrough next to the notebook (or to `out`) and return its path."""
    notebook = check_notebook(Path(notebook))
    resources = {
        "plotly_js": rendering.plotlyjs_name(),
        "metadata": {"name": notebook.stem, "path": str(notebook.parent)},  # as from_filename sets them
    }
    body, _ = _exporter().from_notebook_node(_read(notebook), resources=resources)
    body = scrub_page(body)
    if _REMOTE_SCRIPT.search(body):
        raise LabError(f"{notebook.name}: the walkthrough would load a script from the internet; not written")
    body = body.replace("<head>", f"<head>\n{GENERATOR}", 1)
    out = outputs.place(Path(out) if out else notebook.with_suffix(".html"), _walkthrough)
    rendering.write_plotlyjs(out.parent)
    out.write_text(body, encoding="utf-8")
    return out


GENERATOR = '<meta name="generator" content="cilium-lab export">'  # how a walkthrough of ours is known


def _walkthrough(path: Path) -> bool:
    return outputs.head_has(path, GENERATOR)


def _read(notebook: Path) -> Any:
    """The notebook (nbformat 4, validated) with every string scrubbed (`scrub.scrub_data`) before the
    template sees it: pygments splits a code cell's `token = "..."` into spans that the page's scrub would
    no longer recognise."""
    import nbformat

    nb = nbformat.reads(notebook.read_text(encoding="utf-8"), as_version=4)
    return _this_export_only()(nbformat.from_dict(scrub_data(nb)))


@functools.cache
def _this_export_only() -> type:
    import nbformat

    class ThisExportOnly(nbformat.NotebookNode):  # type: ignore[misc]
        """A notebook read for one export and dropped after it: nbconvert deep-copies the notebook it is
        given three times (from_notebook_node, _preprocess, nbformat's normalize) so that the caller's
        stays as it was; nobody holds this one, so the copies are skipped (0.13 of the 0.85 CPU-s that
        exporting the series took)."""

        def __deepcopy__(self, memo: dict) -> Any:
            return self

    return ThisExportOnly


def scrub_page(page: str) -> str:
    """`page` scrubbed (`cilium_lab.scrub`). Each <style> element of the head (the template's 300 kB of
    CSS, the same on every page) is scrubbed on its own and its result kept for the next page; the rest of
    the head and the whole body are scrubbed as before."""
    end = page.find("</head>")
    head, body = (page[:end], page[end:]) if end >= 0 else ("", page)
    pieces = _HEAD_STYLE.split(head)  # the style elements at odd indices
    return "".join(_scrub_style(p) if i % 2 else scrub(p) for i, p in enumerate(pieces)) + scrub(body)


_HEAD_STYLE = re.compile(r"(<style\b[^>]*>.*?</style\s*>)", re.S | re.I)
_scrub_style = functools.lru_cache(maxsize=16)(scrub)


@functools.cache
def _exporter() -> Any:
    """One exporter per process: building one compiles the templates again (a third of an export's time).
    optimistic_validation: the notebook is validated once, not again after each of nbconvert's preprocessors."""
    from cilium_lab.walkthrough_exporter import Exporter

    exporter = Exporter(
        template_name="offline", extra_template_basedirs=[str(TEMPLATES)], optimistic_validation=True
    )
    exporter.register_preprocessor(_figures_as_html, enabled=True)
    return exporter


def _figures_as_html(nb: Any, resources: dict) -> tuple[Any, dict]:
    """nbconvert preprocessor: every plotly JSON output gains the HTML div the page draws it in (nbconvert
    prefers text/html over the output's text line)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            figure = output.get("data", {}).get(rendering.MIMETYPE)
            if figure is not None:
                output["data"]["text/html"] = rendering.figure_html(figure)
    return nb, resources
