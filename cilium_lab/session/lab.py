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
    """The state of one lab run; created by `session.start`."""

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
        self.decision = "not reached"
        self.measurements: dict[str, Any] = {}
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

    def snapshot(self) -> Any:
        if self._skip_local("the cluster snapshot"):
            return None
        self.snapshot_before = self.take_snapshot()
        snap = self.snapshot_before
        head = f"Cilium {snap.cilium_version} on {len(snap.nodes)} nodes ({self.target.label.lower()})"
        if snap.helm_managed:
            head += "; cilium-config is managed by Helm"
        show.table(nodes_frame(snap), caption=f"**{head}**")
        for node, why in sorted(snap.problems.items()):
            show.markdown(f"- {node}: {why}")
        return snap

    def readiness(self) -> pd.DataFrame | None:
        if self._skip_local("readiness"):
            return None
        snap = self._need_snapshot()
        rows = []
        for node in snap.nodes:
            r = catalog.evaluate(self.item, node, cilium_version=snap.cilium_version)
            rows.append({"node": node.name, "kernel": node.kernel, "state": r.state,
                         "reasons": "; ".join(r.reasons), "needs first": ", ".join(r.needs)})  # fmt: skip
        self.readiness_rows = rows
        frame = pd.DataFrame(rows)
        show.table(frame, caption=f"**{self.item.title}: readiness per node**")
        return frame

    def _need_snapshot(self) -> Any:
        if self.snapshot_before is None:
            self.snapshot_before = self.take_snapshot()
        return self.snapshot_before

    def _skip_local(self, what: str) -> bool:
        if self.local:
            show.markdown(f"_{what}: skipped, the local kernel lab has no cluster._")
        return self.local

    # -- measurements ------------------------------------------------------------------------

    def measure(self, phase: str) -> pd.DataFrame | None:
        return measuring.measure(self, phase)

    def compare(self) -> pd.DataFrame | None:
        return measuring.compare(self)

    def journey(self) -> pd.DataFrame | None:
        return measuring.journey(self)

    # -- the change ------------------------------------------------------------------------

    def plan(self) -> Any:
        return changing.plan(self)

    def confirm(self) -> Any:
        return changing.confirm(self)

    def verify(self) -> pd.DataFrame | None:
        return changing.verify(self)

    def restore(self) -> Any:
        return changing.restore(self)

    # -- views of the series -----------------------------------------------------------------

    def scorecard(self) -> Any:
        return summary.scorecard(self)

    def checklist(self) -> pd.DataFrame | None:
        return summary.checklist(self)

    # -- the nodes (labs 14 and 15) ---------------------------------------------------------

    def node_report(self) -> pd.DataFrame | None:
        return nodes.node_report(self)

    def node_commands(self) -> dict[str, list[str]]:
        return nodes.node_commands(self)

    # -- record ------------------------------------------------------------------------------

    def finish(self) -> Path:
        path = record.write(self)
        show.markdown(f"Result record: `{path}`; decision: **{self.decision}**.")
        return path


def nodes_frame(snap: Any) -> pd.DataFrame:
    rows = []
    for n in snap.nodes:
        row = {"node": n.name, "arch": n.arch, "kernel": n.kernel, "os": n.os_image, "ready": n.ready,
               "device": n.device, "driver": n.nic_driver, "mtu": n.mtu}  # fmt: skip
        for column, attr in STATUS_COLUMNS.items():
            row[column] = getattr(n.status, attr, None) if n.status else None
        rows.append(row)
    return pd.DataFrame(rows)
