"""plotly figures of results (SIMULATED labelling, offline HTML) and the progress helpers."""

import logging

import pandas as pd
import pytest

from cilium_lab.errors import InputError
from cilium_lab.results.labels import LOCAL_KERNEL_NOTE
from cilium_lab.ui import figures, progress

COLUMNS = ["lab", "phase", "scenario", "test", "metric", "unit", "median", "ci_low", "ci_high"]
RATES = {"TCP_STREAM": ("throughput", "Mbit/s", 900), "TCP_RR": ("transaction_rate", "trans/s", 20000),
         "TCP_CRR": ("transaction_rate", "trans/s", 1000)}  # fmt: skip


def phase_summary(phase: str, scale: float, scenarios=("pod-to-pod",)) -> pd.DataFrame:
    """One phase's summary as `bench.summary` returns it (index from 0, as each measurement's is)."""
    rows = []
    for scenario in scenarios:
        for test, (metric, unit, value) in RATES.items():
            rows.append(["06", phase, scenario, test, metric, unit, value * scale, value * scale * 0.95,
                         value * scale * 1.1])  # fmt: skip
        for test in ("TCP_RR", "TCP_CRR"):
            for pct, lat in (("latency_p50", 40), ("latency_p90", 60), ("latency_p99", 90)):
                rows.append(
                    ["06", phase, scenario, test, pct, "us", lat / scale, lat / scale - 2, lat / scale + 3]
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(simulated: bool, scenarios=("pod-to-pod",)) -> pd.DataFrame:
    """Before and after concatenated as the session does: the index repeats across the two phases."""
    table = pd.concat([phase_summary("before", 1.0, scenarios), phase_summary("after", 1.4, scenarios)])
    table.attrs["simulated"] = simulated
    return table


def samples() -> pd.DataFrame:
    rows = [{"lab": "00-overview", "phase": "baseline", "value": 1000}]
    for lab, before, after in (("01-native-routing", 1000, 1200), ("06-bpf-host-routing", 1200, 1800)):
        rows += [
            {"lab": lab, "phase": "before", "value": before},
            {"lab": lab, "phase": "after", "value": after},
        ]
    rows.append({"lab": "03-bpf-masquerade", "phase": "before", "value": 5000})  # refused: no after, left out
    common = {"scenario": "pod-to-pod", "test": "TCP_STREAM", "metric": "throughput", "unit": "Mbit/s",
              "ok": True, "simulated": True}  # fmt: skip
    rows = [common | row for row in rows]
    rows.append(dict(rows[-2], value=1.0, ok=False))  # a failed sample never enters a median
    return pd.DataFrame(rows)


def panel_traces(fig) -> dict[str, list]:
    """Panel title -> the traces drawn in it (panel titles are the annotations plotly adds per subplot)."""
    titles = [a for a in fig.layout.annotations if a.name != "simulated"]
    by_axis = {}
    for trace in fig.data:
        by_axis.setdefault(trace.xaxis or "x", []).append(trace)
    axes = sorted(by_axis, key=lambda a: int(a[1:] or 1))
    assert len(axes) == len(titles)
    return {title.text: by_axis[axis] for title, axis in zip(titles, axes, strict=True)}


def text_band(top: float, size: float) -> tuple[float, float]:
    return top, top + 1.3 * size  # a line of text is about 1.3 times its font size tall


def test_simulated_figures_say_so_in_title_and_annotation():
    for fig in (
        figures.before_after(summary(True)),
        figures.latency_percentiles(summary(True)),
        figures.journey(samples()),
    ):
        assert fig.layout.title.text.startswith("SIMULATED")
        assert any("SIMULATED" in a.text for a in fig.layout.annotations)


def test_the_simulated_note_sits_between_the_title_and_the_panel_titles_without_touching_either():
    for fig in (figures.before_after(summary(True)), figures.latency_percentiles(summary(True)),
                figures.journey(samples())):  # fmt: skip
        layout = fig.layout
        (note,) = [a for a in layout.annotations if a.name == "simulated"]
        top = layout.margin.t
        plot_height = layout.height - top - (layout.margin.b or 80)
        head = text_band(layout.title.pad.t, layout.title.font.size)
        head = (head[0], head[1] + 1.3 * layout.title.subtitle.font.size + 8)  # subtitle, 8 px gap
        note_band = (top - note.yshift - 1.3 * note.font.size, top - note.yshift)
        assert note.yref == "paper" and note.y == 1 and note.yanchor == "bottom"
        assert head[1] <= note_band[0], "the note overlaps the title"
        for panel in (a for a in layout.annotations if a.name != "simulated"):
            bottom = top + (1 - panel.y) * plot_height  # panel titles sit on the top of their panel
            assert note_band[1] <= bottom - 1.3 * panel.font.size, f"the note overlaps {panel.text!r}"


def test_real_figures_carry_no_simulated_label():
    fig = figures.before_after(summary(False))
    assert "SIMULATED" not in fig.layout.title.text
    assert not any("SIMULATED" in (a.text or "") for a in fig.layout.annotations)


def test_each_test_gets_a_panel_with_one_bar_per_phase_and_scenario_side_by_side():
    fig = figures.before_after(summary(False, scenarios=("pod-to-pod", "pod-to-service")))
    panels = panel_traces(fig)
    assert list(panels) == ["TCP_STREAM throughput", "TCP_RR transaction rate", "TCP_CRR transaction rate"]
    assert fig.layout.barmode == "group"
    for title, traces in panels.items():
        assert [t.name for t in traces] == ["before", "after"], title
        for trace in traces:
            assert list(trace.x) == ["pod-to-pod", "pod-to-service"], title  # each scenario once
    crr_after = panels["TCP_CRR transaction rate"][1]
    assert list(crr_after.y) == pytest.approx([1400, 1400])  # TCP_CRR's own numbers, not TCP_RR's


def test_bars_carry_their_asymmetric_ci_as_visible_error_bars():
    fig = figures.before_after(summary(False))
    stream_before = panel_traces(fig)["TCP_STREAM throughput"][0]
    assert list(stream_before.y) == [900]
    assert list(stream_before.error_y.array) == pytest.approx([90])
    assert list(stream_before.error_y.arrayminus) == pytest.approx([45])
    for trace in fig.data:
        assert trace.error_y.visible is not False and len(trace.error_y.array) == len(trace.x)


def test_a_summary_of_two_labs_is_refused_rather_than_drawn_on_top_of_itself():
    twice = pd.concat([summary(True), summary(True).assign(lab="07")])
    with pytest.raises(InputError, match=r"more than one row for phase 'before'.*one lab"):
        figures.before_after(twice)


def test_latency_chart_has_a_panel_per_test_with_p50_p90_p99_before_and_after():
    panels = panel_traces(figures.latency_percentiles(summary(False)))
    assert list(panels) == ["TCP_RR latency", "TCP_CRR latency"]
    for traces in panels.values():
        assert [t.name for t in traces] == ["before", "after"]
        assert all(list(t.x) == ["p50", "p90", "p99"] for t in traces)


def test_journey_starts_at_the_first_measurement_and_shows_each_labs_after():
    fig = figures.journey(samples())
    (line,) = [t for t in fig.data if t.name.startswith("TCP_STREAM")]
    assert list(line.x) == ["start", "01", "06"]  # lab 03 was refused: no after, no point
    assert list(line.y) == pytest.approx([1.0, 1.2, 1.8])  # relative to lab 00's baseline
    assert list(fig.layout.xaxis.categoryarray) == ["start", "01", "06"]


def test_figures_export_to_self_contained_html(tmp_path):
    html = figures.before_after(summary(True)).to_html(include_plotlyjs=True, full_html=True)
    assert '<script src="https://cdn.plot.ly' not in html and "SIMULATED" in html
    assert len(html) > 1_000_000  # plotly.js is inlined


def test_estimate_is_samples_times_tests_times_duration_plus_overhead(caplog):
    assert progress.estimate_seconds(samples=5, tests=3, duration=10, overhead=2) == 180
    with caplog.at_level(logging.INFO, logger="cilium_lab"):
        progress.announce("bench", samples=5, tests=3, duration=10, overhead=2)
    assert "about 3 min 00 s" in caplog.text


def test_bar_counts_and_logs_a_closing_line(caplog, capsys):
    with (
        caplog.at_level(logging.INFO, logger="cilium_lab"),
        progress.bar(3, desc="samples", interactive=False) as bar,
    ):
        bar.update(2)
    assert "samples: 2 of 3 done" in caplog.text


def test_journey_gives_a_lab_measured_on_other_nodes_a_line_of_its_own():
    vms = samples().assign(client_node="vm-1", server_node="vm-2")
    boards = pd.DataFrame([{**vms.iloc[0].to_dict(), "lab": "05-bypass-iptables-conntrack", "phase": phase,
                            "value": value, "client_node": "board-2", "server_node": "board-1"}
                           for phase, value in (("before", 300), ("after", 450))])  # fmt: skip
    fig = figures.journey(pd.concat([vms, boards], ignore_index=True))
    rates = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert rates["TCP_STREAM throughput pod-to-pod vm-1/vm-2"] == (
        ["start", "01", "06"],
        pytest.approx([1, 1.2, 1.8]),
    )
    assert rates["TCP_STREAM throughput pod-to-pod board-1/board-2"] == (
        ["start", "05"],
        pytest.approx([1, 1.5]),
    )


def local_results() -> pd.DataFrame:
    """`locallab.KnobResult.record()` rows: two measured comparisons and one skipped knob."""
    base = {"metric": "throughput", "unit": "Mbit/s", "a": "native routing", "b": "VXLAN", "samples": 8}
    return pd.DataFrame([
        base | {"knob": "vxlan", "test": "TCP_STREAM", "ratio": 0.82, "ci_low": 0.78, "ci_high": 0.86,
                "verdict": "slightly worse"},
        base | {"knob": "vxlan", "test": "TCP_RR", "metric": "transactions", "unit": "trans/s", "ratio": 0.78,
                "ci_low": 0.74, "ci_high": 0.80, "verdict": "worse"},
        base | {"knob": "bbr", "test": "TCP_STREAM", "ratio": None, "ci_low": None, "ci_high": None,
                "verdict": "skipped"},
    ])  # fmt: skip


def test_paired_ratios_say_local_kernel_never_simulated_and_draw_each_ci():
    fig = figures.paired_ratios(local_results(), title="Native routing")
    assert fig.layout.title.text.startswith("LOCAL KERNEL · Native routing")
    (note,) = [a for a in fig.layout.annotations if a.name == "local kernel"]
    assert note.text == LOCAL_KERNEL_NOTE and "SIMULATED" not in fig.to_json()
    (dots,) = fig.data
    assert list(dots.x) == [0.82, 0.78] and len(dots.y) == 2  # the skipped knob is left out
    assert list(dots.error_x.arrayminus) == pytest.approx([0.04, 0.04])
    assert list(dots.error_x.array) == pytest.approx([0.04, 0.02])


def test_paired_ratios_of_nothing_measured_is_one_clear_error():
    skipped = local_results().iloc[[2]]
    with pytest.raises(InputError, match="every knob was skipped"):
        figures.paired_ratios(skipped)
