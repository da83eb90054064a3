"""plotly figures of benchmark results: before/after bars, latency percentiles, the journey across labs.

Called by the labs (through `session.measuring`) with plain pandas tables (this layer does not import
`bench`): a summary table with columns lab, phase, scenario, test, metric, unit, median, ci_low,
ci_high (as `bench.summary` returns it) or the raw sample frame of `results.store`. Calls plotly only
and returns `go.Figure` objects; it never sets a global renderer (`ui.rendering` shows them as
plotly JSON, and the HTML export draws them with one shared plotly.js). A figure of anything measured on a
simulated cluster says SIMULATED in its title and in a note above the panels.

The figures are written as plain trace and layout dicts and handed to plotly once (`assemble`): built
up through plotly's objects, each trace, axis update and template change is validated and deep-copied
on its own, five times the CPU for the same JSON. The panel grids are `make_subplots`' own, made once
per set of panel titles.

Each test gets a panel of its own (TCP_STREAM in Mbit/s, TCP_RR at ~10^4 trans/s and TCP_CRR at
~10^3 trans/s share no useful scale), and within a panel each scenario is a group with one bar per
phase side by side, whiskers at the 95 % CI.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cilium_lab.errors import InputError
from cilium_lab.results.labels import LOCAL_KERNEL, LOCAL_KERNEL_NOTE, SIMULATED, SIMULATED_NOTE

RATE_METRICS = ("throughput", "transaction_rate")
PERCENTILES = ("latency_p50", "latency_p90", "latency_p99")
JOURNEY_PANELS = {  # panel title -> the metrics it draws, relative to their first measurement
    "rates (higher is better)": RATE_METRICS,
    "latency p99 (lower is better)": ("latency_p99",),
}
TEST_COLOURS = {
    "TCP_STREAM": "#1f77b4",
    "TCP_STREAM_MULTI": "#17becf",
    "TCP_RR": "#ff7f0e",
    "TCP_CRR": "#2ca02c",
}
LINE_DASHES = ("solid", "dot", "dash", "dashdot")
PHASE_ORDER = ("baseline", "before", "aa", "after")
PHASE_COLOURS = {"baseline": "#7f7f7f", "before": "#7f7f7f", "aa": "#bcbd22", "after": "#1f77b4"}
CI_COLOUR = "#222222"
TEMPLATE = "plotly_white"

# The head of every figure, in pixels from its top: the title and its subtitle (how to read the
# figure), below them the SIMULATED note, below that the panel titles (plotly draws them just above
# each panel), none on top of another.
TITLE_PAD = 10  # px above the title
TITLE_SIZE = 17
SUBTITLE_SIZE = 12
NOTE_SIZE = 11
NOTE_LIFT = 30  # px from the top of the panels up to the note's bottom: clears a panel title
PANEL_TITLE_SIZE = 13
TOP_MARGIN = 115  # px: title and subtitle (10-55), note (70-85), panel titles (98-115)
PANEL_HEIGHT = 300
MAX_COLUMNS = 3


def is_simulated(table: pd.DataFrame) -> bool:
    if "simulated" in table.attrs:
        return bool(table.attrs["simulated"])
    return bool("simulated" in table and table["simulated"].astype(bool).any())


def assemble(
    data: list[dict],
    layout: dict,
    title: str,
    simulated: bool,
    *,
    subtitle: str = "",
    local: bool = False,
) -> go.Figure:
    """The figure of plain trace and layout dicts on the template, titled; on simulated (or local-kernel)
    data the title is prefixed with SIMULATED (LOCAL KERNEL) and the note saying what that means stands
    between title and panels.
    `layout` becomes the figure's (it is not copied).

    plotly validates the traces and layout once, without a template (an empty one: plotly's "none",
    which spares a copy of its default). The template is then put into the checked JSON, and the
    figure made of that without validating it again, as plotly makes its own registered templates
    (plotly/io/_templates.py, `Template(template_dict, _validate=False)`; plotly 7.1): validating
    plotly_white on its own took three quarters of a figure's CPU time. What the figure shows is the
    same (tests/test_figure_json.py)."""
    head, note = _head(title, simulated, subtitle=subtitle, local=local)
    _merge(layout, head)
    layout["template"] = {}
    if note:
        layout["annotations"] = [*layout.get("annotations", ()), note]
    checked = go.Figure({"data": data, "layout": layout}).to_plotly_json()
    checked["layout"]["template"] = copy.deepcopy(_template())
    return go.Figure(checked, _validate=False)


@functools.cache
def _template() -> dict:
    """The template's JSON (plotly keeps its registered templates validated)."""
    import plotly.io as pio

    return pio.templates[TEMPLATE].to_plotly_json()


def _head(title: str, simulated: bool, *, subtitle: str, local: bool) -> tuple[dict, dict | None]:
    """The layout's title and top margin, and the SIMULATED (LOCAL KERNEL) note if there is one."""
    banner = SIMULATED if simulated else LOCAL_KERNEL if local else ""
    head = {
        "title": {
            "text": f"{banner} · {title}" if banner else title,
            "yref": "container",
            "y": 1,
            "yanchor": "top",
            "pad": {"t": TITLE_PAD},
            "font": {"size": TITLE_SIZE},
            "subtitle": {"text": subtitle, "font": {"size": SUBTITLE_SIZE}},
        },
        "margin": {"t": TOP_MARGIN},
    }
    if not banner:
        return head, None
    note = {
        "text": SIMULATED_NOTE if simulated else LOCAL_KERNEL_NOTE,
        "name": banner.lower(),
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 1,
        "yanchor": "bottom",
        "yshift": NOTE_LIFT,
        "showarrow": False,
        "font": {"color": "#d62728", "size": NOTE_SIZE},
    }
    return head, note


def _merge(target: dict, updates: dict) -> dict:
    """`updates` into `target`, nested dicts key by key (as plotly's update_layout merges)."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


def before_after(
    summary: pd.DataFrame, *, title: str = "Before and after", simulated: bool | None = None
) -> go.Figure:
    """Median per phase with its 95 % CI as whiskers: a panel per test and rate metric, a group per scenario."""
    rows = summary[summary["metric"].isin(RATE_METRICS)]
    panels = _panels(rows.assign(group=rows["scenario"]), ["metric", "test"], RATE_METRICS)
    layout, axes = _grid([f"{test} {metric.replace('_', ' ')}" for (metric, test), _ in panels])
    data: list[dict] = []
    for i, ((_, _), part) in enumerate(panels):
        cell = axes[_cell(i, len(panels))]
        _phase_bars(data, layout, part, cell=cell, y_title=f"{part['unit'].iloc[0]}, higher is better")
    layout["legend"] = {"title": {"text": "phase"}}
    subtitle = "bars: median of the samples per phase; whiskers: 95 % bootstrap confidence interval"
    return assemble(data, layout, f"{title}: before and after", _sim(summary, simulated), subtitle=subtitle)


def paired_ratios(results: pd.DataFrame, *, title: str = "A against B") -> go.Figure:
    """The local kernel lab's comparisons: B/A per knob and test (median of per-pair ratios) with its 95 %
    CI, 1.0 marked; `results` has the columns of `locallab.KnobResult.record()`. Skipped rows are left out."""
    rows = results[results["ratio"].notna()].reset_index(drop=True)
    if rows.empty:
        raise InputError("no measured comparison to draw (every knob was skipped): see the table's reasons")
    names = [f"{r.knob} {r.test}<br><sub>{r.b} vs {r.a}</sub>" for r in rows.itertuples()]
    dots = {
        "type": "scatter",
        "x": rows["ratio"].tolist(),
        "y": names,
        "mode": "markers",
        "marker": {"size": 10, "color": CI_COLOUR},
        "error_x": {
            "type": "data",
            "color": CI_COLOUR,
            "thickness": 1.5,
            "width": 6,
            "array": (rows["ci_high"] - rows["ratio"]).clip(lower=0).tolist(),
            "arrayminus": (rows["ratio"] - rows["ci_low"]).clip(lower=0).tolist(),
        },
        "customdata": rows[["ci_low", "ci_high", "verdict", "metric"]].to_numpy().tolist(),
        "hovertemplate": "B/A %{x:.3f} (95 % CI %{customdata[0]:.3f} to %{customdata[1]:.3f})"
        "<br>%{customdata[3]}: %{customdata[2]}<extra></extra>",
        "showlegend": False,
    }
    layout = {
        # 1.0 marked across the panel, as fig.add_vline(x=1) draws it
        "shapes": [
            {"type": "line", "x0": 1, "x1": 1, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
             "line": {"dash": "dash", "color": "#7f7f7f"}},
        ],
        "xaxis": {"title": {"text": "B / A (1 = no difference)"}, "type": "log"},
        "yaxis": {"autorange": "reversed"},
        "height": TOP_MARGIN + 80 + 70 * len(rows),
    }  # fmt: skip
    subtitle = (
        "dot: median of the per-pair ratios B/A (pairs measured back to back); whiskers: 95 % bootstrap CI"
    )
    return assemble([dots], layout, title, False, subtitle=subtitle, local=True)


def latency_percentiles(
    summary: pd.DataFrame, *, title: str = "Latency percentiles", simulated: bool | None = None
) -> go.Figure:
    """p50/p90/p99 per phase, a panel per RR test: each is the median of the per-sample percentile, with its CI."""
    rows = summary[summary["metric"].isin(PERCENTILES)]
    short = rows["metric"].str.replace("latency_", "", regex=False)
    group = rows["scenario"] + " " + short if rows["scenario"].nunique() > 1 else short
    panels = _panels(rows.assign(group=group), ["test"], ())
    layout, axes = _grid([f"{test} latency" for (test,), _ in panels])
    data: list[dict] = []
    for i, (_, part) in enumerate(panels):
        cell = axes[_cell(i, len(panels))]
        _phase_bars(data, layout, part, cell=cell, y_title=f"{part['unit'].iloc[0]}, lower is better")
    layout["legend"] = {"title": {"text": "phase"}}
    subtitle = (
        "bars: median of the per-sample percentile per phase; whiskers: 95 % bootstrap confidence interval"
    )
    return assemble(data, layout, title, _sim(summary, simulated), subtitle=subtitle)


def journey(
    samples: pd.DataFrame, *, title: str = "Performance across the labs", simulated: bool | None = None
) -> go.Figure:
    """One line per test, scenario, node pair and metric across the labs: its first measurement (the
    start), then each lab's median after its change, relative to the start (1.0). Labs without an after
    are left out; a lab measured on other nodes (the ones that can take its step) starts a line of its own."""
    ok = samples[samples["ok"].astype(bool)]
    ok = ok.assign(nodes=_node_pairs(ok))  # labs measure on the nodes that can take their step
    keys = ["scenario", "nodes", "test", "metric", "unit"]
    medians = ok.groupby(["lab", "phase", *keys], sort=True)["value"].median().reset_index()
    styles = sorted(set(zip(medians["scenario"], medians["nodes"], strict=True)))
    layout, axes = _grid(list(JOURNEY_PANELS), columns=1)
    data: list[dict] = []
    for row, metrics in enumerate(JOURNEY_PANELS.values(), start=1):
        cell = axes[row, 1]
        chosen = medians[medians["metric"].isin(metrics)]
        for (scenario, nodes, test, metric, unit), part in chosen.groupby(keys, sort=True):
            trace = _journey_line(_journey_points(part), test=test, metric=metric, unit=unit)
            if len(styles) > 1:
                trace["name"] = f"{trace['name']} {scenario} {nodes}".rstrip()
            trace["line"]["dash"] = LINE_DASHES[styles.index((scenario, nodes)) % len(LINE_DASHES)]
            data.append(trace | cell)
        _merge(layout[_axis_key(cell["yaxis"])], {"title": {"text": "× its first measurement"}})
    labs = sorted(set(medians.loc[medians["phase"] == "after", "lab"].str.split("-").str[0]))
    every_x = {"type": "category", "categoryorder": "array", "categoryarray": ["start", *labs]}
    for key in _axis_keys(layout, "xaxis"):
        _merge(layout[key], every_x | {"title": {"text": "lab"}})
    subtitle = (
        "each line: its first measurement (start), then the median after each lab's change; 1.0 = start"
    )
    return assemble(data, layout, title, _sim(samples, simulated), subtitle=subtitle)


def _node_pairs(frame: pd.DataFrame) -> list[str]:
    """'vm-1/vm-2' per sample, either direction alike; '' where the frame names no nodes."""
    if not {"client_node", "server_node"} <= set(frame.columns):
        return [""] * len(frame)
    pairs = zip(frame["client_node"].fillna(""), frame["server_node"].fillna(""), strict=True)
    return ["/".join(sorted(pair)) if all(pair) else "" for pair in pairs]


def _journey_line(points: pd.DataFrame, *, test: str, metric: str, unit: str) -> dict:
    short = metric.replace("latency_", "").replace("_", " ")
    return {
        "type": "scatter",
        "x": points["x"].tolist(),
        "y": (points["value"] / points["value"].iloc[0]).tolist(),
        "mode": "lines+markers",
        "name": f"{test} {short}",
        "line": _given(color=TEST_COLOURS.get(test)),
        "customdata": list(zip(points["lab"], points["phase"], points["value"], strict=True)),
        "hovertemplate": f"%{{customdata[0]}} %{{customdata[1]}}<br>%{{customdata[2]:.4g}} {unit}"
        f"<br>%{{y:.2f}} × start<extra>{test} {metric}</extra>",
    }


def _panels(rows: pd.DataFrame, by: list[str], first: tuple[str, ...]) -> list[tuple[tuple, pd.DataFrame]]:
    """Rows split per panel, `first` metrics in that order; a group drawn twice in one phase is refused."""
    rows = rows.reset_index(drop=True)
    twice = rows.duplicated(["phase", *by, "group"])
    if twice.any():
        dup = rows[twice].iloc[0]
        raise InputError(
            f"the summary has more than one row for phase {dup['phase']!r}, {dup['test']} {dup['scenario']} "
            f"{dup['metric']} (lab {dup.get('lab', '?')!r}): pass the summary of one lab"
        )
    order = {metric: i for i, metric in enumerate(first)}
    panels = [((key,) if isinstance(key, str) else key, part) for key, part in rows.groupby(by, sort=False)]
    return sorted(panels, key=lambda panel: order.get(panel[0][0], len(order)))


def _grid(titles: list[str], columns: int = MAX_COLUMNS) -> tuple[dict, dict[tuple[int, int], dict]]:
    """The layout of a grid of panels with these titles (a copy: the caller's to fill), and per cell
    (row, column) the axes a trace in it names ({"xaxis": "x2", "yaxis": "y2"})."""
    layout, axes = _grid_of(len(titles), columns)
    layout = copy.deepcopy(layout)
    for annotation, title in zip(layout["annotations"], titles, strict=True):  # one per title, in order
        annotation["text"] = title
    return layout, axes


@functools.lru_cache(maxsize=64)
def _grid_of(count: int, columns: int) -> tuple[dict, dict[tuple[int, int], dict]]:
    # the labs' grids come in a handful of sizes: make_subplots runs once for each, the panel titles
    # (annotations, in the order of the titles) filled in by `_grid`
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    titles = [f"panel {i + 1}" for i in range(count)]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.45 / rows)
    fig.update_annotations(font_size=PANEL_TITLE_SIZE)  # only the panel titles exist yet
    fig.update_layout(height=TOP_MARGIN + rows * PANEL_HEIGHT, barmode="group")
    layout = fig.to_plotly_json()["layout"]
    layout.pop("template", None)  # `assemble` sets the figures' own
    axes = {}
    for row in range(1, rows + 1):
        for col in range(1, cols + 1):
            subplot = fig.get_subplot(row, col)
            axes[row, col] = {
                "xaxis": subplot.xaxis.plotly_name.replace("axis", ""),
                "yaxis": subplot.yaxis.plotly_name.replace("axis", ""),
            }
    return layout, axes


def _axis_key(ref: str) -> str:
    """The layout key of the axis a trace names: "y2" -> "yaxis2", "y" -> "yaxis"."""
    return f"{ref[0]}axis{ref[1:]}"


def _axis_keys(layout: dict, kind: str) -> Iterable[str]:
    return [key for key in layout if key == kind or (key.startswith(kind) and key[len(kind) :].isdigit())]


def _given(**props: object) -> dict:
    """The properties that have a value (None leaves plotly's default, as an unset one does)."""
    return {key: value for key, value in props.items() if value is not None}


def _cell(index: int, count: int) -> tuple[int, int]:
    cols = max(1, min(MAX_COLUMNS, count))
    return index // cols + 1, index % cols + 1


def _phase_bars(data: list[dict], layout: dict, part: pd.DataFrame, *, cell: dict, y_title: str) -> None:
    """One bar trace per phase (before, then after), x the panel's groups, whiskers the CI, on the
    axes of `cell`; the panel's y axis titled."""
    shown = {trace["name"] for trace in data if trace.get("showlegend") is not False}
    phases = sorted(set(part["phase"]), key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else 99, p))
    for phase in phases:
        rows = part[part["phase"] == phase]
        bar = {
            "type": "bar",
            "name": phase,
            "x": rows["group"].tolist(),
            "y": rows["median"].tolist(),
            "error_y": _error_bars(rows),
            "marker": _given(color=PHASE_COLOURS.get(phase)),
            "legendgroup": phase,
            "showlegend": phase not in shown,
            "customdata": rows[["ci_low", "ci_high"]].to_numpy().tolist(),
            "hovertemplate": "%{x}: %{y:.4g} (95 % CI %{customdata[0]:.4g} to %{customdata[1]:.4g})",
        }
        data.append(bar | cell)
    _merge(layout[_axis_key(cell["yaxis"])], {"title": {"text": y_title}, "rangemode": "tozero"})


def _error_bars(rows: pd.DataFrame) -> dict:
    return {
        "type": "data",
        "color": CI_COLOUR,
        "thickness": 1.5,
        "width": 6,
        "array": (rows["ci_high"] - rows["median"]).clip(lower=0).tolist(),
        "arrayminus": (rows["median"] - rows["ci_low"]).clip(lower=0).tolist(),
    }


def _journey_points(part: pd.DataFrame) -> pd.DataFrame:
    """The line's first measurement (its first lab's before or baseline), then each lab's after."""
    first = part[part["lab"] == part["lab"].min()]
    start = first.sort_values("phase", key=lambda phases: phases.map(_start_rank)).head(1)
    afters = part[(part["phase"] == "after") & ~part.index.isin(start.index)]
    return pd.concat(
        [start.assign(x="start"), afters.assign(x=afters["lab"].str.split("-").str[0])], ignore_index=True
    )[["x", "lab", "phase", "value"]]


def _start_rank(phase: str) -> int:
    return {"before": 0, "baseline": 1, "aa": 2, "after": 4}.get(phase, 3)


def _sim(table: pd.DataFrame, simulated: bool | None) -> bool:
    return is_simulated(table) if simulated is None else simulated
