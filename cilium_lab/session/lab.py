"""One lab's steps, each a method a notebook cell calls: the flow of DESIGN.md, in order.

parameters -> connect -> snapshot -> readiness -> baseline -> plan -> confirm/apply -> verify ->
after -> compare -> record. Calls `targets`, `cluster.snapshot`, `catalog`, `change`, `bench`,
`scorecard` and `ui`; shows results through `session.show`. Methods never raise for a skipped step:
a headless run without approval says "not applied" and the later steps say they were skipped.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from cilium_lab import catalog, targets
from cilium_lab.catalog import Item
from cilium_lab.params import LabParams
from cilium_lab.session import about, changing, measuring, nodes, record, show, summary

STATUS_COLUMNS = {
    "routing": "routing_network",
    "KPR": "kube_proxy_replacement",
    "masquerading": "masquerading",
    "host routing": "host_routing",
    "bandwidth mgr": "bandwidth_manager",
    "congestion": "congestion_control",
    "hubble": "hubble",
}


class LabSession:
    """The state of one lab run; created by `session.start`.

    Each step shows its result and returns None (a notebook would otherwise show it twice); what a
    step found stays on the session: `snapshot_before`, `readiness_rows`, `plan_`, `report`,
    `decision`, `measurements`, `comparison`, `record_path`.
    """

    def __init__(self, lab: str, item: Item, params: LabParams, target: targets.Target) -> None:
        self.lab = lab
        self.item = item
        self.params = params
        self.target = target
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.results_dir = Path(params.results_dir)
        self.snapshot_before: Any = None
        self.snapshot_after: Any = None
        self.readiness_rows: list[dict[str, Any]] = []
        self.plan_: Any = None
        self.report: Any = None
        # a view of the series changes nothing; a tuning lab's decision comes from its confirm step
        self.decision = "not reached" if item.kind == "tuning" else "no change (a view of the series)"
        self.record_path: Path | None = None
        self.measurements: dict[str, Any] = {}
        self.summaries: dict[str, pd.DataFrame] = {}
        self.comparison: pd.DataFrame | None = None
        self.record_extra: dict[str, Any] = {}
        self.nodes_for_bench: dict[str, tuple[str | None, str | None]] = {}
        self.store: Any = None

    # -- the cluster as it is -------------------------------------------------------------

    @property
    def local(self) -> bool:
        return self.target.spec.kind == "local"

    def about(self) -> None:
        show.markdown(about.markdown(self.item))

    def take_snapshot(self) -> Any:
        from cilium_lab.cluster import snapshot

        return snapshot.take(self.target.connection)

    def snapshot(self) -> None:
        if self._skip_local("the cluster snapshot"):
            return
        self.snapshot_before = self.take_snapshot()
        snap = self.snapshot_before
        head = f"Cilium {snap.cilium_version} on {len(snap.nodes)} nodes ({self.target.label.lower()})"
        if snap.helm_managed:
            head += "; cilium-config is managed by Helm"
        show.table(nodes_frame(snap), caption=f"**{head}**")
        for node, why in sorted(snap.problems.items()):
            show.markdown(f"- {node}: {why}")

    def readiness(self) -> None:
        if self._skip_local("readiness"):
            return
        snap = self._need_snapshot()
        rows = []
        for node in snap.nodes:
            r = catalog.evaluate(self.item, node, cilium_version=snap.cilium_version)
            rows.append({"node": node.name, "kernel": node.kernel, "state": r.state,
                         "reasons": "; ".join(r.reasons), "needs first": ", ".join(r.needs)})  # fmt: skip
        self.readiness_rows = rows
        show.table(pd.DataFrame(rows), caption=f"**{self.item.title}: readiness per node**")

    def _need_snapshot(self) -> Any:
        if self.snapshot_before is None:
            self.snapshot_before = self.take_snapshot()
        return self.snapshot_before

    def _skip_local(self, what: str) -> bool:
        if self.local:
            show.markdown(f"_{what}: skipped, the local kernel lab has no cluster._")
        return self.local

    # -- measurements ------------------------------------------------------------------------

    def measure(self, phase: str) -> None:
        measuring.measure(self, phase)

    def compare(self) -> None:
        measuring.compare(self)

    def journey(self) -> None:
        measuring.journey(self)

    # -- the change ------------------------------------------------------------------------

    def plan(self) -> None:
        changing.plan(self)

    def confirm(self) -> None:
        changing.confirm(self)

    def verify(self) -> None:
        changing.verify(self)

    def restore(self) -> None:
        changing.restore(self)

    # -- views of the series -----------------------------------------------------------------

    def scorecard(self) -> None:
        summary.scorecard(self)

    def checklist(self) -> None:
        summary.checklist(self)

    def how_to_undo(self) -> None:
        summary.how_to_undo(self)

    # -- the nodes (labs 14 and 15) ---------------------------------------------------------

    def node_report(self) -> None:
        nodes.node_report(self)

    def node_commands(self) -> None:
        nodes.node_commands(self)

    # -- record ------------------------------------------------------------------------------

    def finish(self) -> None:
        self.record_path = record.write(self)
        show.markdown(f"Result record: `{self.record_path}`; decision: **{self.decision}**.")


def nodes_frame(snap: Any) -> pd.DataFrame:
    rows = []
    for n in snap.nodes:
        row = {"node": n.name, "arch": n.arch, "kernel": n.kernel, "os": n.os_image, "ready": n.ready,
               "device": n.device, "driver": n.nic_driver, "mtu": n.mtu}  # fmt: skip
        for column, attr in STATUS_COLUMNS.items():
            row[column] = getattr(n.status, attr, None) if n.status else None
        rows.append(row)
    return pd.DataFrame(rows)
