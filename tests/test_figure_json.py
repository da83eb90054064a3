"""Each kind of figure gives the same plotly JSON as when it was built up through plotly's objects.

The fixtures (tests/fixtures/figures/<kind>.json) are the JSON those object-built figures made from
these inputs, without their template; the template must be plotly's plotly_white as it stands.
Regenerate them only for an intended change of what a figure shows:
  python tests/test_figure_json.py write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import plotly.io as pio
import pytest
from plotly.utils import PlotlyJSONEncoder
from test_bench_figures import local_results, samples, summary
from test_scorecard_build import _snapshot

from cilium_lab import scorecard
from cilium_lab.ui import figures, rendering, scorecard_figure

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "figures"
KINDS = {
    "before_after_simulated": lambda: figures.before_after(summary(True), title="BPF host routing"),
    "before_after_two_scenarios": lambda: figures.before_after(
        summary(False, scenarios=("pod-to-pod", "pod-to-service")), title="Two"
    ),
    "latency_percentiles": lambda: figures.latency_percentiles(summary(True), title="Latency"),
    "journey": lambda: figures.journey(samples()),
    "paired_ratios": lambda: figures.paired_ratios(local_results(), title="Native routing"),
    "scorecard_simulated": lambda: scorecard_figure.figure(scorecard.build(_snapshot(True))),
    "scorecard_real": lambda: scorecard_figure.figure(scorecard.build(_snapshot(False))),
}


def figure_json(kind: str) -> dict:
    """The figure as a notebook keeps it (`rendering.mimebundle`), its template apart."""
    shown = rendering.mimebundle(KINDS[kind]().to_plotly_json())[rendering.MIMETYPE]
    shown["template"] = shown["layout"].pop("template")
    return shown


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_figure_shows_what_its_object_built_version_showed(kind):
    shown = figure_json(kind)
    template = shown.pop("template")
    assert shown == json.loads((FIXTURES / f"{kind}.json").read_text())
    white = pio.templates["plotly_white"].to_plotly_json()
    assert template == json.loads(json.dumps(white, cls=PlotlyJSONEncoder))


@pytest.mark.parametrize("kind", ["journey", "scorecard_real"])
def test_the_figure_object_carries_the_template_itself(kind):
    assert KINDS[kind]().layout.template == pio.templates["plotly_white"]


if __name__ == "__main__" and sys.argv[1:] == ["write"]:
    for name in KINDS:
        figure = figure_json(name)
        figure.pop("template")
        (FIXTURES / f"{name}.json").write_text(json.dumps(figure, indent=1, sort_keys=True) + "\n")
