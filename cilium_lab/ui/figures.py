"""plotly figures of benchmark results: before/after bars, latency percentiles, the journey across labs.

Called by the labs and `bench` callers with plain pandas tables (this layer does not import
`bench`): a summary table with columns lab, phase, scenario, test, metric, unit, median, ci_low,
ci_high (as `bench.summary` returns it) or the raw sample frame of `bench.store`. Calls plotly only
and returns `go.Figure` objects; it never sets a global renderer, so the notebooks choose one that
inlines plotly.js for offline HTML (notebook-practice.md §4). A figure of anything measured on a
simulated cluster says SIMULATED in its title and in an annotation on the plot.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SIMULATED_NOTE = "SIMULATED: measured on the embedded cluster's performance model, not on real hardware"
RATE_METRICS = ("throughput", "transaction_rate")
PERCENTILES = ("latency_p50", "latency_p90", "latency_p99")
PHASE_COLOURS = {"before": "#7f7f7f", "aa": "#bcbd22", "after": "#1f77b4"}


def is_simulated(table: pd.DataFrame) -> bool:
    if "simulated" in table.attrs:
        return bool(table.attrs["simulated"])
    return bool("simulated" in table and table["simulated"].astype(bool).any())


def label(fig: go.Figure, title: str, simulated: bool) -> go.Figure:
    """Set the title; on simulated data prefix it with SIMULATED and add the note on the plot."""
    fig.update_layout(title=f"SIMULATED · {title}" if simulated else title, template="plotly_white")
    if simulated:
        fig.add_annotation(
            text=SIMULATED_NOTE, xref="paper", yref="paper", x=0.5, y=1.0, yanchor="bottom", showarrow=False,
            font={"color": "#d62728", "size": 11},
        )  # fmt: skip
    return fig


def _error_bars(rows: pd.DataFrame) -> dict:
    return {
        "type": "data",
        "array": (rows["ci_high"] - rows["median"]).clip(lower=0).tolist(),
        "arrayminus": (rows["median"] - rows["ci_low"]).clip(lower=0).tolist(),
    }


def _phase_bars(fig: go.Figure, rows: pd.DataFrame, x: pd.Series, *, row: int, legend: bool) -> None:
    for phase, part in rows.groupby("phase", sort=False):
        fig.add_trace(
            go.Bar(
                name=str(phase), x=x[part.index].tolist(), y=part["median"].tolist(), error_y=_error_bars(part),
                marker_color=PHASE_COLOURS.get(str(phase)), legendgroup=str(phase), showlegend=legend,
            ),
            row=row, col=1,
        )  # fmt: skip


def before_after(
    summary: pd.DataFrame, *, title: str = "Before and after", simulated: bool | None = None
) -> go.Figure:
    """Median per test and phase with its 95 % CI as error bars; one panel per rate metric."""
    rows = summary[summary["metric"].isin(RATE_METRICS)]
    metrics = [m for m in RATE_METRICS if m in set(rows["metric"])]
    fig = make_subplots(rows=max(1, len(metrics)), cols=1, subplot_titles=[_axis(rows, m) for m in metrics])
    for i, metric in enumerate(metrics, start=1):
        part = rows[rows["metric"] == metric]
        _phase_bars(fig, part, part["test"] + " " + part["scenario"], row=i, legend=i == 1)
    fig.update_layout(barmode="group", height=320 * max(1, len(metrics)))
    return label(fig, f"{title} (median of samples, 95 % bootstrap CI)", _sim(summary, simulated))


def latency_percentiles(
    summary: pd.DataFrame, *, title: str = "Latency percentiles", simulated: bool | None = None
) -> go.Figure:
    """p50/p90/p99 per RR test and phase: each is the median of the per-sample percentile, with its CI."""
    rows = summary[summary["metric"].isin(PERCENTILES)]
    x = rows["test"] + " " + rows["scenario"] + " " + rows["metric"].str.replace("latency_", "", regex=False)
    fig = make_subplots(rows=1, cols=1)
    _phase_bars(fig, rows, x, row=1, legend=True)
    fig.update_layout(barmode="group", yaxis_title="latency (µs, lower is better)")
    return label(fig, f"{title} (median of per-sample percentiles, 95 % CI)", _sim(summary, simulated))


def journey(
    samples: pd.DataFrame, *, title: str = "Performance across the labs", simulated: bool | None = None
) -> go.Figure:
    """One line per test, scenario and metric across lab numbers: each lab's median after its change,
    relative to the first lab's median before (1.0 = the starting point)."""
    ok = samples[samples["ok"].astype(bool)]
    medians = (
        ok.groupby(["lab", "phase", "scenario", "test", "metric", "unit"], sort=True)["value"]
        .median()
        .reset_index()
    )
    fig = go.Figure()
    for (scenario, test, metric, unit), part in medians.groupby(
        ["scenario", "test", "metric", "unit"], sort=True
    ):
        points = _journey_points(part)
        if points.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=points["lab"].tolist(), y=(points["value"] / points["value"].iloc[0]).tolist(), mode="lines+markers",
                name=f"{test} {scenario} {metric}", customdata=points["value"].tolist(),
                hovertemplate=f"lab %{{x}}<br>%{{customdata:.4g}} {unit}<extra>{test} {metric}</extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        xaxis={"title": "lab", "type": "category"}, yaxis_title="relative to the first measurement"
    )
    return label(fig, title, _sim(samples, simulated))


def _journey_points(part: pd.DataFrame) -> pd.DataFrame:
    """The starting point (first lab, before) followed by each lab's after (or its only phase)."""
    first_lab = part["lab"].min()
    start = part[(part["lab"] == first_lab) & (part["phase"] == "before")].assign(lab="start")
    afters = part[part["phase"] == "after"]
    if afters.empty:
        afters = part.drop_duplicates("lab", keep="last")
    return pd.concat([start, afters], ignore_index=True)[["lab", "value"]]


def _axis(rows: pd.DataFrame, metric: str) -> str:
    unit = rows[rows["metric"] == metric]["unit"].iloc[0]
    return f"{metric.replace('_', ' ')} ({unit}, higher is better)"


def _sim(table: pd.DataFrame, simulated: bool | None) -> bool:
    return is_simulated(table) if simulated is None else simulated
