"""plotly figures of results (SIMULATED labelling, offline HTML) and the progress helpers."""

import logging

import pandas as pd
import pytest

from cilium_lab.ui import figures, progress


def summary(simulated: bool) -> pd.DataFrame:
    rows = []
    for phase, scale in (("before", 1.0), ("after", 1.4)):
        rows.append(
            [
                "06",
                phase,
                "pod-to-pod",
                "TCP_STREAM",
                "throughput",
                "Mbit/s",
                900 * scale,
                880 * scale,
                920 * scale,
            ]
        )
        rows.append(
            [
                "06",
                phase,
                "pod-to-pod",
                "TCP_RR",
                "transaction_rate",
                "trans/s",
                20000 * scale,
                19000 * scale,
                21000 * scale,
            ]
        )
        for pct, lat in (("latency_p50", 40), ("latency_p90", 60), ("latency_p99", 90)):
            rows.append(
                [
                    "06",
                    phase,
                    "pod-to-pod",
                    "TCP_RR",
                    pct,
                    "us",
                    lat / scale,
                    lat / scale - 2,
                    lat / scale + 3,
                ]
            )
    table = pd.DataFrame(
        rows, columns=["lab", "phase", "scenario", "test", "metric", "unit", "median", "ci_low", "ci_high"]
    )
    table.attrs["simulated"] = simulated
    return table


def samples() -> pd.DataFrame:
    rows = []
    for lab, before, after in (("01", 1000, 1200), ("06", 1200, 1800)):
        for phase, value in (("before", before), ("after", after)):
            rows.append({"lab": lab, "phase": phase, "scenario": "pod-to-pod", "test": "TCP_STREAM", "metric": "throughput",
                         "unit": "Mbit/s", "value": value, "ok": True, "simulated": True})  # fmt: skip
    rows.append(dict(rows[-1], value=1.0, ok=False))  # a failed sample never enters a median
    return pd.DataFrame(rows)


def test_simulated_figures_say_so_in_title_and_annotation():
    for fig in (
        figures.before_after(summary(True)),
        figures.latency_percentiles(summary(True)),
        figures.journey(samples()),
    ):
        assert fig.layout.title.text.startswith("SIMULATED")
        assert any("SIMULATED" in a.text for a in fig.layout.annotations)


def test_real_figures_carry_no_simulated_label():
    fig = figures.before_after(summary(False))
    assert "SIMULATED" not in fig.layout.title.text
    assert not any("SIMULATED" in (a.text or "") for a in fig.layout.annotations)


def test_before_after_bars_have_asymmetric_ci_error_bars_per_phase():
    fig = figures.before_after(summary(False))
    bars = [t for t in fig.data if t.type == "bar"]
    assert {b.name for b in bars} == {"before", "after"}
    stream_before = next(b for b in bars if b.name == "before" and "TCP_STREAM pod-to-pod" in b.x)
    assert (
        list(stream_before.y) == [900]
        and list(stream_before.error_y.array) == [20]
        and list(stream_before.error_y.arrayminus) == [20]
    )


def test_latency_chart_shows_p50_p90_p99_before_and_after():
    fig = figures.latency_percentiles(summary(False))
    xs = {x for trace in fig.data for x in trace.x}
    assert xs == {"TCP_RR pod-to-pod p50", "TCP_RR pod-to-pod p90", "TCP_RR pod-to-pod p99"}


def test_journey_is_relative_to_the_first_measurement_and_ignores_failed_samples():
    fig = figures.journey(samples())
    (line,) = fig.data
    assert list(line.x) == ["start", "01", "06"]
    assert list(line.y) == pytest.approx([1.0, 1.2, 1.8])


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
