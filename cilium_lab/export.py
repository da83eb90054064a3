"""Executed notebooks to self-contained HTML walkthroughs that work offline and carry no secrets.

Uses nbconvert's HTMLExporter with the `offline` template beside this module (the lab template minus
the scripts it would fetch from CDNs). The notebooks hold figures as plotly JSON (`ui.rendering`):
each becomes a div, and every page loads plotly.js from one plotly-<version>.min.js written beside
it, so a folder of walkthroughs carries plotly.js once and works offline as a whole. Before writing,
anything that looks like a credential is replaced (`cilium_lab.scrub`), and a page that still references a remote script
is refused.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from cilium_lab import outputs
from cilium_lab.errors import InputError, LabError
from cilium_lab.scrub import scrub
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
    body, _ = _exporter().from_filename(str(notebook), resources={"plotly_js": rendering.plotlyjs_name()})
    body = scrub(body)
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


@functools.cache
def _exporter() -> Any:
    """One exporter per process: building one compiles the templates again (a third of an export's time).
    optimistic_validation: the notebook is validated once, not again after each of nbconvert's preprocessors."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
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
