"""The measurement steps of a lab: before, after, the comparison and the journey across labs.

Called by `LabSession`; calls `bench` (netperf pods, statistics, the results store) or, on the
`local` target, `locallab` (real packets in network namespaces). All samples of a results folder
share one store, so lab 99 can draw the journey across the series.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cilium_lab import bench
from cilium_lab.results.labels import LOCAL_KERNEL
from cilium_lab.session import changing, show

MEASURED_SHOWN = ["scenario", "test", "metric", "unit", "median", "ci_low", "ci_high", "samples"]
# the metrics a reader compares; the record and the store keep every metric
KEY_METRICS = ("throughput", "transaction_rate", "latency_p50", "latency_p99")
COMPARED_SHOWN = ["scenario", "test", "metric", "unit", "median_before", "median_after", "ratio", "ci_low",
                  "ci_high", "verdict", "mde"]  # fmt: skip


def store(session: Any) -> bench.ResultStore:
    if getattr(session, "store", None) is None:
        session.store = bench.ResultStore(session.results_dir / "samples", run_id=session.run_id)
    return session.store


def pick_nodes(session: Any) -> tuple[str | None, str | None]:
    """Two alike nodes that can take this step (enabled or can-enable), workers first; else the engine picks."""
    snap = session._need_snapshot()
    ready = {r["node"] for r in session.readiness_rows if r["state"] in ("enabled", "can-enable")}
    control = {n.name for n in snap.nodes if n.name in getattr(snap, "control_plane", ())}
    # nodes that can take the step; when none can, the most capable ones (newest kernel) as a baseline
    candidates = [n for n in snap.nodes if n.name in ready] or sorted(
        snap.nodes, key=lambda n: _kernel_key(n), reverse=True
    )
    candidates.sort(key=lambda n: (n.name in control, n.arch, n.kernel, n.name))
    for i, first in enumerate(candidates):
        for second in candidates[i + 1 :]:
            if (first.arch, first.kernel, first.nic_driver) == (
                second.arch,
                second.kernel,
                second.nic_driver,
            ):
                return first.name, second.name
    return None, None


def _kernel_key(node: Any) -> tuple[int, ...]:
    from cilium_lab.kernel import parse_kernel

    try:
        kernel = parse_kernel(node.kernel, node.kernel_build)
    except ValueError:
        return (0,)
    return (kernel.major, kernel.minor, kernel.patch)


def measure(session: Any, phase: str) -> pd.DataFrame | None:
    if session.local:
        return _measure_local(session, phase)
    if (
        phase == "after"
        and not changing.applied(session)
        and session.item.kind == "tuning"
        and session.plan_ is not None
    ):
        show.markdown("_After: skipped, the change was not applied (nothing to compare)._")
        return None
    p = session.params
    if phase not in session.nodes_for_bench:
        session.nodes_for_bench[phase] = session.nodes_for_bench.get("before") or pick_nodes(session)
    client, server = session.nodes_for_bench[phase]
    result = bench.measure(
        session.target.connection, lab=session.lab, phase=phase, store=store(session),
        simulated=session.target.simulated, tests=p.tests, scenario=p.scenario, samples=p.samples,
        duration=p.duration, streams=p.streams, client_node=client, server_node=server,
        progress_bar=True, interactive=show.in_notebook(), snapshot=_current_snapshot(session),
    )  # fmt: skip
    session.measurements[phase] = result
    caption = (
        f"**{phase}**: {result.client_node} -> {result.server_node}, {p.samples} samples x {p.duration} s"
    )
    if result.failed:
        caption += f"; {result.failed} failed samples (kept in the store with their reasons, not counted)"
    if session.target.simulated:
        caption += "  \n" + show.banner("SIMULATED")
    frame = session.summaries[phase] = result.summary  # computed once: bootstrap CIs are not free
    shown = frame[frame["metric"].isin(KEY_METRICS)]
    show.table(shown[[c for c in MEASURED_SHOWN if c in shown.columns]].round(2), caption=caption)
    return frame


def _current_snapshot(session: Any) -> Any:
    """The session's snapshot when nothing has changed since it was taken (saves one per measurement);
    None makes the engine take a fresh one."""
    if session.report is None:
        return session.snapshot_before
    return session.snapshot_after  # taken by verify after the change; None if verify did not run


def compare(session: Any) -> pd.DataFrame | None:
    from cilium_lab.ui import figures, model_assumptions

    if session.local:
        return getattr(session, "local_comparison", None)
    if "before" not in session.measurements or "after" not in session.measurements:
        show.markdown("_Comparison: skipped, there is no before and after pair from this run._")
        return None
    table = bench.compare(store(session), session.lab)
    session.comparison = table
    shown = table[table["metric"].isin(KEY_METRICS)]
    show.table(shown[[c for c in COMPARED_SHOWN if c in shown.columns]].round(3),
               caption="**Before against after** (ratio = after / before, 95 % bootstrap CI)")  # fmt: skip
    both = pd.concat([session.summaries["before"], session.summaries["after"]])
    simulated = session.target.simulated
    if simulated:  # the model's number must not pass for a measurement: say what it assumed
        show.markdown(model_assumptions.markdown(session.item.id))
    show.figure(figures.before_after(both, title=session.item.title, simulated=simulated))
    if both["metric"].str.startswith("latency_").any():
        show.figure(
            figures.latency_percentiles(both, title=f"{session.item.title}: latency", simulated=simulated)
        )
    return table


def journey(session: Any) -> pd.DataFrame | None:
    from cilium_lab.ui import figures

    samples = bench.load_all(session.results_dir / "samples")
    local = samples["label"] == LOCAL_KERNEL  # another host's namespaces, not a step of this cluster's series
    if local.any():
        show.markdown(
            f"_Left out: {int(local.sum())} LOCAL KERNEL samples (`cilium-lab local`), not a cluster's._"
        )
    samples = samples[~local]
    if samples.empty:
        show.markdown("_No cluster measurements in this results folder yet: run the labs first._")
        return None
    show.figure(figures.journey(samples, simulated=bool(samples["simulated"].any())))
    table = bench.summary(samples)
    show.table(table[table["metric"].isin(["throughput", "transaction_rate"])].round(2),
               caption="**Medians per lab and phase**")  # fmt: skip
    return table


def _measure_local(session: Any, phase: str) -> pd.DataFrame | None:
    from cilium_lab.session import local

    return local.measure(session, phase, store(session))
