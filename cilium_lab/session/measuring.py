"""The measurement steps of a lab: before, after, the comparison and the journey across labs.

Functions over the lab's state that return what they measured (`LabSession` keeps it); they call
`bench` (netperf pods, statistics, the results store). All samples of a results folder share one
store, so lab 99 can draw the journey across the series. The `local` target's measurement is
`session.local_kernel`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cilium_lab import bench
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.facts import NodeFacts
from cilium_lab.results.labels import LOCAL_KERNEL
from cilium_lab.session import show

if TYPE_CHECKING:
    from cilium_lab.session.run_view import RunView

MEASURED_SHOWN = ["scenario", "test", "metric", "unit", "median", "ci_low", "ci_high", "samples"]
# the metrics a reader compares; the record and the store keep every metric
KEY_METRICS = ("throughput", "transaction_rate", "latency_p50", "latency_p99")
COMPARED_SHOWN = ["scenario", "test", "metric", "unit", "median_before", "median_after", "ratio", "ci_low",
                  "ci_high", "verdict", "mde"]  # fmt: skip


def pick_nodes(snap: Snapshot, readiness_rows: list[dict[str, str]]) -> tuple[str | None, str | None]:
    """Two alike nodes that can take this step (enabled or can-enable); else the engine picks (it puts
    control-plane nodes last: `bench.pods`). A snapshot does not know a node's role."""
    ready = {r["node"] for r in readiness_rows if r["state"] in ("enabled", "can-enable")}
    # nodes that can take the step; when none can, the most capable ones (newest kernel) as a baseline
    candidates = [n for n in snap.nodes if n.name in ready] or sorted(
        snap.nodes, key=lambda n: _kernel_key(n), reverse=True
    )
    candidates.sort(key=lambda n: (n.arch, n.kernel, n.name))
    for i, first in enumerate(candidates):
        for second in candidates[i + 1 :]:
            if (first.arch, first.kernel, first.nic_driver) == (
                second.arch,
                second.kernel,
                second.nic_driver,
            ):
                return first.name, second.name
    return None, None


def _kernel_key(node: NodeFacts) -> tuple[int, ...]:
    from cilium_lab.kernel import parse_kernel

    try:
        kernel = parse_kernel(node.kernel, node.kernel_build)
    except ValueError:
        return (0,)
    return (kernel.major, kernel.minor, kernel.patch)


def measure(
    session: RunView, phase: str, pair: tuple[str | None, str | None], snap: Snapshot | None
) -> bench.Measurement:
    """One measurement phase between the two nodes of `pair`; `snap` spares the engine a snapshot."""
    p = session.params
    client, server = pair
    result = bench.measure(
        session.target.connection, lab=session.lab, phase=phase, store=session.store,
        simulated=session.target.simulated, tests=p.tests, scenario=p.scenario, samples=p.samples,
        duration=p.duration, streams=p.streams, client_node=client, server_node=server,
        progress_bar=True, interactive=show.in_notebook(), snapshot=snap,
    )  # fmt: skip
    caption = (
        f"**{phase}**: {result.client_node} -> {result.server_node}, {p.samples} samples x {p.duration} s"
    )
    if result.failed:
        caption += f"; {result.failed} failed samples (kept in the store with their reasons, not counted)"
    if session.target.simulated:
        caption += "  \n" + show.banner("SIMULATED")
    frame = result.summary
    shown = frame[frame["metric"].isin(KEY_METRICS)]
    show.table(shown[[c for c in MEASURED_SHOWN if c in shown.columns]].round(2), caption=caption)
    return result


def compare(
    session: RunView,
    before: pd.DataFrame,
    after: pd.DataFrame,
    before_phase: str = "before",
    *,
    caption: str | None = None,
) -> pd.DataFrame:
    """`before_phase` against after from the store, with the two phases' summaries drawn side by side;
    `caption` heads the table (a demonstration names the states it compares)."""
    from cilium_lab.ui import figures, model_assumptions

    table = bench.compare(session.store, session.lab, before=before_phase)
    shown = table[table["metric"].isin(KEY_METRICS)]
    show.table(shown[[c for c in COMPARED_SHOWN if c in shown.columns]].round(3),
               caption=caption or "**Before against after** (ratio = after / before, 95 % bootstrap CI)")  # fmt: skip
    both = pd.concat([before, after])
    title, simulated = session.item.title, session.target.simulated
    if simulated:  # the model's number must not pass for a measurement: say what it assumed
        show.markdown(model_assumptions.markdown(session.item.id))
    show.figure(figures.before_after(both, title=title, simulated=simulated))
    if both["metric"].str.startswith("latency_").any():
        show.figure(figures.latency_percentiles(both, title=f"{title}: latency", simulated=simulated))
    return table


def journey(results_dir: Path) -> pd.DataFrame | None:
    """Every cluster measurement of the results folder, lab by lab (lab 99)."""
    from cilium_lab.ui import figures

    samples = bench.load_all(results_dir / "samples")
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
