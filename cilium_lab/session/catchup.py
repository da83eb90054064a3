"""A lab run alone on its own embedded cluster starts where the series would have left it.

The series is cumulative: lab N assumes the steps before it. When a lab starts a fresh embedded
cluster for itself (cluster="sim:<profile>" and no kubeconfig), there is nobody's cluster to
protect, so the earlier steps are applied to that in-memory cluster through the same plan/apply
path, and the notebook says which. Never on a real cluster, nor on an embedded cluster a batch run
shares (a kubeconfig was given): there the earlier labs did the work.
"""

from __future__ import annotations

from pathlib import Path

from cilium_lab import catalog, targets
from cilium_lab.catalog import Item
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import LabError
from cilium_lab.session import show

# steps the series undoes again (lab 08 switches Hubble back on by default)
NOT_KEPT = ("hubble-overhead",)


def wanted(target: targets.Target, item: Item) -> bool:
    return target.spec.kind == "sim" and target.started_embedded and item.number > 1


def catch_up(conn: Connection, lab_item: Item, results_dir: Path) -> list[tuple[str, str]]:
    """Apply the tuning items before `lab_item`; return (item, outcome) pairs."""
    from cilium_lab.change.config import applying, planning
    from cilium_lab.cluster import snapshot

    done: list[tuple[str, str]] = []
    for item in catalog.TUNINGS:
        if item.number >= lab_item.number or item.id in NOT_KEPT or not item.targets:
            continue
        snap = snapshot.take(conn)
        params = {"pod_cidr": snap.config.get("cluster-pool-ipv4-cidr")} if item.params else {}
        try:
            plan = planning.plan(snap, item.id, **{k: v for k, v in params.items() if v})
            if plan.nothing_to_do:
                continue
            report = applying.apply(conn, plan, approved=True, results_dir=str(results_dir))
            done.append((item.id, str(report.outcome)))
        except LabError as err:
            done.append((item.id, f"not applied: {err}"))
    return done


def announce(done: list[tuple[str, str]]) -> None:
    if not done:
        return
    lines = ", ".join(f"{catalog.get(i).number:02d} {i} ({outcome})" for i, outcome in done)
    show.markdown(
        "This lab started its own embedded cluster, so the earlier steps of the series were applied to it "
        f"first, as the series would have left it: {lines}. Run the labs in order (or `cilium-lab run --all`) "
        "to see each step's own before and after."
    )
