"""Demonstrations: where a step's feature is already in effect, show its effect the way the articles do.

The agent turns some features on by itself (Cilium 1.13 enables BPF host routing once KPR and BPF
masquerading are in, lab 03), so on the chosen nodes a lab may find nothing left to change. Its
`demonstrate` parameter (`catalog.DEMONSTRATE`; None: on for the embedded cluster, off on a real one)
then switches the feature off there (for host routing: `enable-host-legacy-routing: "true"` through a
CiliumNodeConfig), measures, puts the backup that change took back (the cluster as found), and the
lab's "after" measures the feature on again: the comparison is off against on. Both writes go through
the same confirmed apply and restore as any change: backup, lock, verification, rollback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from cilium_lab import catalog
from cilium_lab.catalog import Item
from cilium_lab.change import outcomes
from cilium_lab.change.reports import ApplyReport
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.session import show

if TYPE_CHECKING:
    from cilium_lab.bench import Measurement
    from cilium_lab.change.config.plans import Plan
    from cilium_lab.session.run_view import RunView

PHASE = "switched-off"  # the measurement with the feature switched off (the comparison's "before")


def wanted(session: RunView) -> bool:
    """The `demonstrate` parameter, None resolved by the target: on for the embedded cluster only."""
    if catalog.DEMONSTRATE not in session.item.parameters:
        return False
    given = session.params.extra.get(catalog.DEMONSTRATE.name)
    return session.target.simulated if given is None else bool(given)


def plan(session: RunView, snap: Snapshot, planned: Plan | None) -> Plan | None:
    """The switch-off plan where the step's change leaves the chosen nodes as they are because the feature
    is in effect there already; None when there is nothing to demonstrate (or demonstrate is off)."""
    from cilium_lab.change.config import planning
    from cilium_lab.session.changing import canary_nodes

    if planned is None or not wanted(session):
        return None
    chosen = canary_nodes(session.params.get(catalog.CANARY_NODES.name, str, "")) or snap.node_names
    in_effect = [n for n in chosen if planned.readiness[n].state == catalog.ENABLED]
    # a node the step still changes is measured by the step itself
    if not in_effect or any(planned.expected[n].outcome == outcomes.APPLIED for n in chosen):
        return None
    off = planning.plan_switch_off(snap, session.item.id, in_effect)
    restarts = ", ".join(off.restart)
    show.markdown(
        f"**Demonstration.** {session.item.title} is in effect already on {', '.join(in_effect)}, so this "
        "step has nothing to change there. To show its effect the way the articles do, the lab switches it "
        f"off on those nodes, measures, then puts back the backup that change took (the cluster as found) and "
        f"measures again with it on. Disruption: the Cilium agents on {', '.join(in_effect)} restart twice "
        f"({restarts}); their pods lose connectivity for a moment each time. It needs approval like any change."
    )
    show.html_or_text(off)
    return off


def run(
    session: RunView, off: Plan, pair: tuple[str | None, str | None]
) -> tuple[ApplyReport, Measurement | None, dict[str, dict[str, str]]]:
    """Switch off (approved), measure, put the backup back: one report for the whole demonstration, the
    measurement switched off, and what the agents showed switched off and on again ({"off": {node: ...},
    "on": ...}), which the report's nodes say too."""
    from cilium_lab.change.backups import restoring
    from cilium_lab.change.config import applying
    from cilium_lab.cluster import snapshot
    from cilium_lab.session import measuring

    conn, results = session.target.connection, str(session.results_dir)
    switched = applying.apply(conn, off, approved=True, results_dir=results)
    if switched.outcome != outcomes.APPLIED:
        return switched, None, {}  # not switched off (rolled back or failed): nothing to measure or undo
    measured = None
    try:
        measured = measuring.measure(session, PHASE, pair, switched.after)
    finally:
        saved = restoring.find(conn, off.namespace, from_file=switched.backup_path)
        # the switch-off's node config only as it left it: someone else's edit since stops the put-back
        back = restoring.restore_backup(
            conn, saved, approved=True, results_dir=results, node_configs_written=switched.node_configs
        )
    report = ApplyReport(
        off.item, outcomes.APPLIED, "", simulated=off.simulated, backup_path=switched.backup_path,
        backup_configmap=switched.backup_configmap, steps=[*switched.steps, *back.steps],
        warnings=list(back.warnings),  # the switch-off's Helm warning is moot: the cluster ends as found
    )  # fmt: skip
    if back.outcome == restoring.RESTORED:
        report.message = (
            f"switched off on {', '.join(off.scoped)} (verified), measured, and back as found (backup "
            f"{saved.stamp} restored, verified)"
        )
        report.after = snapshot.take(conn)
    else:
        report.outcome = outcomes.FAILED
        report.message = (
            f"switched off and measured, but putting it back ended {back.outcome}: {back.message}"
        )
    states = {
        "off": seen(off.item, switched.after, off.scoped),
        "on": seen(off.item, report.after, off.scoped),
    }
    report.nodes = _nodes(session, off, back.nodes, states["off"], states["on"])
    return report, measured, states


def seen(item_id: str, snap: Snapshot | None, nodes: tuple[str, ...]) -> dict[str, str]:
    """What each node's agent shows of the item (its verify checks: for host routing the status line's
    "Host Routing: Legacy" or "BPF"), as the verification read it."""
    if snap is None:
        return {}
    item, present = catalog.get(item_id), set(snap.node_names)
    return {
        node: "; ".join(catalog.observe(item, snap.node(node), cilium_version=snap.cilium_version).evidence)
        for node in nodes
        if node in present
    }


def caption(item: Item, states: Mapping[str, Mapping[str, str]]) -> str:
    """The comparison's heading for a demonstration: the item switched off against on again, with what
    the agents showed each time (so "Legacy" against "BPF" host routing reads as the articles put it)."""
    nodes = ", ".join(sorted(states.get("off", {}))) or "the chosen nodes"
    off = "; ".join(sorted(set(states.get("off", {}).values()))) or "switched off"
    on = "; ".join(sorted(set(states.get("on", {}).values()))) or "on again"
    return (
        f"**Demonstration on {nodes}: {item.title} switched off ({off}) against on again ({on})** "
        "(ratio = on / off, 95 % bootstrap CI)"
    )


def _nodes(
    session: RunView,
    off: Plan,
    restored: dict[str, outcomes.NodeOutcome],
    seen_off: Mapping[str, str],
    seen_on: Mapping[str, str],
) -> dict[str, outcomes.NodeOutcome]:
    """Per node: switched off and back on (with what its agent showed each time), or what the step's own
    plan said (refused with the reason)."""
    planned = session.plan_.expected if session.plan_ is not None else off.expected  # type: ignore[union-attr]
    nodes = {}
    for node, expected in planned.items():
        if node in off.scoped:
            back = restored.get(node)
            failed = back is not None and back.outcome == outcomes.FAILED
            nodes[node] = outcomes.NodeOutcome(
                node,
                outcomes.FAILED if failed else outcomes.APPLIED,
                f"switched off ({seen_off.get(node) or 'verified'}), measured, switched back on "
                f"({seen_on.get(node) or (back.reason if back else 'as found')})",
            )
        else:
            nodes[node] = expected
    return nodes
