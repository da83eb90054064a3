"""The scorecard as a plotly heatmap: items x nodes, coloured by state, reasons on hover.

Called by the overview lab with a `scorecard.Scorecard`; calls plotly. The title carries
SIMULATED (title and note, as `ui.figures.assemble` puts them) when the scorecard was taken on
the embedded cluster.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from cilium_lab.ui import figures

STATE_CODES = {"n/a": 0, "blocked": 1, "can-enable": 2, "enabled": 3}
COLOURS = [[0.0, "#d9d9d9"], [0.33, "#d73027"], [0.66, "#fee08b"], [1.0, "#1a9850"]]


def figure(card: Any) -> go.Figure:
    """`card` is a `scorecard.Scorecard` (not imported: ui sits below scorecard in the layers)."""
    matrix = card.matrix()
    by_cell = {(r["item"], r["node"]): r for r in card.records}
    hover = [
        [
            f"{item} on {node}: {by_cell[item, node]['state']}<br>"
            + "<br>".join(by_cell[item, node]["reasons"][:4])
            for node in matrix.columns
        ]
        for item in matrix.index
    ]
    heat = {
        "type": "heatmap",
        "z": [[STATE_CODES[s] for s in row] for row in matrix.to_numpy()],
        "x": list(matrix.columns),
        "y": list(matrix.index),
        "text": matrix.to_numpy(),
        "texttemplate": "%{text}",
        "hovertext": hover,
        "hoverinfo": "text",
        "colorscale": COLOURS,
        "zmin": 0,
        "zmax": 3,
        "showscale": False,
    }
    layout = {"yaxis": {"autorange": "reversed"}, "height": 160 + 28 * len(matrix.index)}
    # the same title and SIMULATED note as every measured figure, plotly validating it once
    return figures.assemble(
        [heat],
        layout,
        f"Tuning scorecard, Cilium {card.cilium_version}",
        card.simulated,
        subtitle="hover a cell for the reasons",
    )
