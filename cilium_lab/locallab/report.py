"""Plain-text rendering of local-lab results and probe findings, always labelled LOCAL KERNEL.

Called by `cilium-lab local` and usable from notebooks; calls nothing else in cilium_lab.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cilium_lab.locallab.knob_runs import LABEL, KnobResult

HEADER = f"{LABEL}: real packets between network namespaces on this host (not a cluster, not simulated)"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def result_rows(results: Sequence[KnobResult]) -> list[list[str]]:
    """One row per knob and test: knob, test, A, B, median A, median B, unit, ratio [CI], verdict."""
    rows = []
    for r in results:
        if r.verdict == "skipped":
            rows.append([r.knob, r.test, r.a, r.b, "-", "-", r.unit, "-", f"skipped: {r.reason}"])
            continue
        ratio = f"{r.ratio:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" if r.ratio is not None else "-"
        rows.append([r.knob, r.test, r.a, r.b, _num(r.median_a), _num(r.median_b), r.unit, ratio, r.verdict])
    return rows


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Left-aligned fixed-width text table."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def render(results: Sequence[KnobResult], *, samples: int, duration: int, host: str = "") -> str:
    """The whole report: label, where (`host`, a line from `probe.describe_host`), how it was measured,
    the table, and each knob's note."""
    header = ["knob", "test", "A", "B", "median A", "median B", "unit", "B/A [95% CI]", "verdict"]
    notes = {r.knob: r.note for r in results if r.note}
    lines = [
        HEADER,
        *([f"host: {host}"] if host else []),
        f"{samples} samples x {duration} s per arm, interleaved in pairs (AB, BA, ...); RR/CRR pinned to one CPU; "
        "B/A = median of per-pair ratios (A and B measured back to back), percentile bootstrap CI over pairs",
        "",
        table(result_rows(results), header),
    ]
    if notes:
        lines += ["", *(f"note: {knob}: {note}" for knob, note in notes.items())]
    return "\n".join([*lines, *counter_lines(results)])


def counter_lines(results: Sequence[KnobResult]) -> list[str]:
    """What a knob's kernel counter did per sample, e.g. 'conntrack: conntrack_entries grew per sample by
    11,998 with conntrack, 0 with NOTRACK'."""
    return [
        f"{r.knob}: {r.counter.replace('_', ' ')} grew per sample by {_num(r.counter_a)} with {r.a}, "
        f"{_num(r.counter_b)} with {r.b}"
        for r in results
        if r.counter and r.counter_a is not None and r.counter_b is not None
    ]


def render_probe(features: Mapping[str, str], support: Mapping[str, str]) -> str:
    """What this host can run: features, then knobs with the reason for each skipped one."""
    rows = [[name, "yes" if not why else f"no: {why}"] for name, why in features.items()]
    knob_rows = [[name, "runs" if not why else f"skipped: {why}"] for name, why in support.items()]
    return "\n\n".join([table(rows, ["feature", "available"]), table(knob_rows, ["knob", "status"])])
