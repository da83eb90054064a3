"""One rule for every entry point: a lab on this run's own embedded cluster starts where the series would
have left it; on any other cluster it changes nothing it was not asked to.

The series is cumulative: lab N assumes the steps before it. An embedded cluster that this run started
for itself (a notebook's own in JupyterLab or papermill, or the one `cilium-lab run` starts for its
batch) carries a ledger of the steps that have had their turn on it (`targets.series_done`). Before a
lab starts, each earlier step without its turn is applied to that in-memory cluster through the same
plan/apply path, and the notebook says which: `cilium-lab run 06`, papermill and JupyterLab all start
lab 06 after labs 01-05, while in `cilium-lab run --all` the earlier labs had their own turn (applied or
not, as the run was approved). A real cluster, or a shared embedded one (`sim serve`), has no ledger:
nothing is ever caught up there.
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


def to_catch_up(target: targets.Target, item: Item) -> list[Item] | None:
    """The rule: the earlier steps to apply before `item`'s lab starts; None where nothing is ever caught
    up (not this run's own embedded cluster)."""
    done = targets.series_done(target)
    return None if done is None else steps_before(item, done)


def steps_before(item: Item, done: set[int]) -> list[Item]:
    """The series' earlier steps that change Cilium, keep their change and are not in `done`, in order."""
    return [
        earlier
        for earlier in catalog.TUNINGS
        if earlier.number < item.number
        and earlier.number not in done
        and earlier.id not in NOT_KEPT
        and earlier.targets
    ]


def catch_up(conn: Connection, items: list[Item], results_dir: Path) -> list[tuple[str, str]]:
    """Apply `items` in order; return (item, outcome) pairs for those that changed or failed."""
    from cilium_lab.change.config import applying, planning
    from cilium_lab.cluster import snapshot

    done: list[tuple[str, str]] = []
    for item in items:
        snap = snapshot.take(conn)
        # as the step's own lab plans it: its parameters' defaults, the pod CIDR read from cilium-config
        # (lab 09's mtu must not be handed lab 01's pod_cidr)
        declared = {p.name for p in item.params}
        params = {"pod_cidr": snap.config.get("cluster-pool-ipv4-cidr")} if "pod_cidr" in declared else {}
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
        "This lab runs on an embedded cluster this run started for itself, so the earlier steps of the series "
        f"were applied to it first, as the series would have left it: {lines}. Run the labs in order (or "
        "`cilium-lab run --all`) to see each step's own before and after."
    )
