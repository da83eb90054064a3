"""Figures as people keep them: plotly JSON in notebooks, one shared plotly.js beside HTML walkthroughs.

In a notebook a figure is plotly's JSON mimetype plus one line of text/plain that says what it is
(for viewers that cannot draw it). JupyterLab draws the JSON with the jupyterlab-plotly extension the
plotly package installs (share/jupyter/labextensions/jupyterlab-plotly, plotly.js bundled, a "safe"
renderer that draws in untrusted notebooks too), so no notebook carries plotly.js's 4.8 MB.
nbconvert does not know the plotly mimetype and would show the text line, so the HTML export
(`export.to_html`) turns each figure into a div with `figure_html` and the page loads plotly.js from
the one file `write_plotlyjs` puts in its folder. `show()` displays a figure so; plotly's own
`fig.show()` would inline plotly.js with its default `notebook` renderer, and its renderer registry
imports nbformat (with jsonschema's format checkers: seconds of CPU in every kernel) to check a version.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MIMETYPE = "application/vnd.plotly.v1+json"


def show(fig: Any) -> None:
    """Display a plotly figure in the notebook as its JSON mimetype and a text line (`mimebundle`)."""
    from IPython.display import display

    display(mimebundle(fig.to_plotly_json()), raw=True)


def mimebundle(fig_dict: dict) -> dict:
    """plotly's JSON mimetype for JupyterLab, and a text line naming the figure for anything else."""
    return {MIMETYPE: _json_ready(fig_dict), "text/plain": describe(fig_dict)}


def describe(fig_dict: dict) -> str:
    """The text a viewer without plotly shows in place of the figure."""
    title = ((fig_dict.get("layout") or {}).get("title") or {}).get("text") or "untitled"
    return f"[plotly figure: {title}; drawn in JupyterLab and in the HTML walkthrough (cilium-lab export)]"


def _json_ready(fig_dict: dict) -> dict:
    from plotly.utils import PlotlyJSONEncoder

    figure = {"data": fig_dict.get("data", []), "layout": fig_dict.get("layout", {})}
    return json.loads(json.dumps(figure, cls=PlotlyJSONEncoder))


def figure_html(figure: dict) -> str:
    """A figure's JSON output as an HTML div drawn by the page's plotly.js (see `plotlyjs_name`)."""
    import plotly.io as pio

    return pio.to_html(
        figure,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        default_height=480,
        validate=False,
    )


def plotlyjs_name() -> str:
    """The file name of the installed plotly.js bundle, versioned: pages of another plotly keep theirs."""
    from plotly.offline import get_plotlyjs_version

    return f"plotly-{get_plotlyjs_version()}.min.js"


def write_plotlyjs(folder: Path) -> str:
    """Put the installed plotly package's own plotly.min.js into `folder` (once) and return its name."""
    from plotly.offline import get_plotlyjs

    name = plotlyjs_name()
    target = Path(folder) / name
    if target.is_file() and target.stat().st_size == _bundle_size():
        return name
    bundle = get_plotlyjs().encode()
    # written under a temporary name and renamed: a page never sees half a file
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(bundle)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    return name


@functools.cache
def _bundle_size() -> int:
    """The installed plotly.js bundle's size in bytes: read once per process, not once per page written."""
    from plotly.offline import get_plotlyjs

    return len(get_plotlyjs().encode())
