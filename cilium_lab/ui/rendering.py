"""Figures that show in JupyterLab and survive offline HTML export.

`setup()` runs in each lab's first cell: it emits plotly.js once, inline (no CDN), and makes every
figure render as both plotly's JSON mimetype (JupyterLab draws it natively) and an HTML fragment
that calls the inline plotly.js (nbconvert keeps it). plotly's own `notebook` renderer would add a
MathJax script from a CDN to every figure; this renderer leaves MathJax out.
"""

from __future__ import annotations

import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

RENDERER = "cilium_lab"


class OfflineRenderer(MimetypeRenderer):
    """plotly JSON for live frontends plus an HTML fragment relying on the plotly.js emitted by setup()."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=480,
            validate=False,
        )
        return {"application/vnd.plotly.v1+json": _json_ready(fig_dict), "text/html": html}


def _json_ready(fig_dict: dict) -> dict:
    import json

    from plotly.utils import PlotlyJSONEncoder

    return json.loads(
        json.dumps(
            {"data": fig_dict.get("data", []), "layout": fig_dict.get("layout", {})}, cls=PlotlyJSONEncoder
        )
    )


def setup() -> None:
    """Register and select the offline renderer, and emit plotly.js into this cell's output."""
    from IPython.display import HTML, display
    from plotly.offline import get_plotlyjs

    pio.renderers[RENDERER] = OfflineRenderer()
    pio.renderers.default = RENDERER
    script = f'<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: "local"}};{get_plotlyjs()}</script>'
    display(HTML(script))
