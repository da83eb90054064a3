"""Plan one tuning change: the cilium-config diff, Helm values, CLI commands, restarts, per-node outcome.

Pure: a plan reads a `Snapshot` and changes nothing. The item and each node's readiness come from
`catalog`, the nodes the change goes to from `config.scope`, this version's keys for the logical
settings from `cilium.translate`; the result is a `config.plans.Plan`.

Where the change goes: when every node in scope can take it, the cluster-wide cilium-config is
patched. A canary (`nodes=`) puts it in a CiliumNodeConfig that selects the chosen nodes by a label
(cilium.io/v2alpha1 for 1.13-1.15, v2 from 1.16: https://docs.cilium.io/en/stable/configuration/per-node-config/).
When some nodes in scope are blocked for the item, it is never forced on them: the change goes only
to the nodes that can take it, through a CiliumNodeConfig of its own (label `cilium-lab.io/takes-<item>`),
and the blocked nodes are refused with the reason (`config.scope`). When no node can, nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cilium_lab.cilium as cilium_pkg
from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.change.config import scope
from cilium_lab.change.config.plans import Plan
from cilium_lab.change.node_labels import canary_label, demo_label, takes_label
from cilium_lab.cluster import nodeconfig, objects
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import InputError
from cilium_lab.facts import NodeFacts


def _check_nodes(snapshot: Snapshot, nodes: object) -> tuple[str, ...]:
    if nodes is None:
        return ()
    if isinstance(nodes, str) or not isinstance(nodes, Sequence):
        raise InputError(f"nodes must be a list of node names for a canary, got {type(nodes).__name__}")
    if not nodes:
        raise InputError(
            "nodes is empty: give at least one node name for a canary, or None for the whole cluster"
        )
    if not all(isinstance(n, str) for n in nodes):
        raise InputError("every node name must be a string")
    unknown = [n for n in nodes if n not in snapshot.node_names]
    if unknown:
        raise InputError(
            f"unknown node(s) {', '.join(unknown)}; the cluster has {', '.join(snapshot.node_names)}"
        )
    return tuple(dict.fromkeys(nodes))


def _check_target(item: catalog.Item, target: object, params: dict[str, object]) -> dict[str, object]:
    names = {p.name for p in item.params}
    unknown = sorted(set(params) - names)
    if unknown:
        allowed = ", ".join(sorted(names)) or "none"
        raise InputError(f"{item.id} takes no parameter {', '.join(unknown)}; its parameters: {allowed}")
    if target is None:
        return item.resolve_targets(**params)
    if not isinstance(target, Mapping) or not all(isinstance(k, str) for k in target):
        raise InputError(f"target must be a dict of setting name -> value, got {type(target).__name__}")
    if not target:
        raise InputError("target is empty: give settings to change, or None for the item's own targets")
    return dict(target)


def _expect(readiness: catalog.Readiness, in_scope: bool) -> outcomes.NodeOutcome:
    node = readiness.node
    if not in_scope:
        return outcomes.NodeOutcome(node, outcomes.SKIPPED, "outside the canary")
    if readiness.state == catalog.BLOCKED:
        return outcomes.NodeOutcome(node, outcomes.REFUSED, "; ".join(readiness.reasons) or "blocked")
    if readiness.state == catalog.ENABLED:
        return outcomes.NodeOutcome(node, outcomes.SKIPPED, "already enabled")
    if readiness.state == catalog.NOT_APPLICABLE:
        return outcomes.NodeOutcome(node, outcomes.SKIPPED, "; ".join(readiness.reasons) or "not applicable")
    return outcomes.NodeOutcome(node, outcomes.APPLIED, "can enable: expected to take the change")


def _refuse_unmet_needs(
    item: catalog.Item, readiness: Mapping[str, catalog.Readiness], scope: Sequence[str]
) -> None:
    waiting = {
        n: r.needs for n, r in readiness.items() if n in scope and r.state == catalog.CAN_ENABLE and r.needs
    }
    if waiting:
        first = sorted({need for needs in waiting.values() for need in needs})
        raise InputError(
            f"{item.id} needs {', '.join(first)} enabled first on {', '.join(sorted(waiting))}; apply those items first"
        )


def plan(
    snapshot: Snapshot,
    item_id: str,
    *,
    target: Mapping[str, object] | None = None,
    nodes: Sequence[str] | None = None,
    **params: object,
) -> Plan:
    """Plan the change of one item; `nodes` makes it a canary on those nodes first.

    Nodes blocked for the item are refused, never forced: the change then goes to the others only,
    through a CiliumNodeConfig (`config.scope`)."""
    if not isinstance(snapshot, Snapshot):
        raise InputError(f"plan needs a Snapshot from cluster.snapshot.take(), got {type(snapshot).__name__}")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise InputError(
            f"item_id must be an item id such as 'bpf-host-routing', got {type(item_id).__name__}"
        )
    item = catalog.get(item_id)
    if item.kind != "tuning":
        raise InputError(f"{item.id} is a view of the series, not a change; pick a tuning item")
    canary = _check_nodes(snapshot, nodes)
    targets = _check_target(item, target, params)
    version = snapshot.cilium_version
    # NodeFacts.config is each node's effective config (cilium-config + the CiliumNodeConfigs selecting
    # it), so a prerequisite an earlier narrowed change set counts on the nodes that took it.
    readiness = {n.name: catalog.evaluate(item, n, cilium_version=version) for n in snapshot.nodes}
    in_scope = canary or snapshot.node_names
    _refuse_unmet_needs(item, readiness, in_scope)
    where = scope.decide(readiness, in_scope, tuple(targets))
    kept = {k: v for k, v in targets.items() if k not in where.left_out}
    selected = where.capable if where.narrowed else canary
    name = _node_config_name(item.id, canary, where)
    refused_everywhere = where.narrowed and where.nothing_can_take_it
    change = _translate(snapshot, kept, selected if name else ()) if kept and not refused_everywhere else None
    changes = dict(change.configmap) if change else {}
    node_config = _node_config(snapshot, item.id, name, canary, changes) if name and changes else None
    base = _config_of(snapshot, selected if node_config else ())
    return Plan(
        item=item.id,
        title=item.title,
        cilium_version=version,
        namespace=snapshot.namespace,
        configmap=snapshot.install.configmap,
        targets=targets,
        changes=changes,
        previous={k: base.get(k) for k in changes},
        helm=dict(change.helm) if change else {},
        cli=tuple(change.cli) if change else (),
        restart=tuple(item.restart),
        readiness=readiness,
        expected={n: _expect(r, n in in_scope) for n, r in readiness.items()},
        config_resource_version=snapshot.config_resource_version,
        helm_managed=snapshot.helm_managed,
        helm_release=snapshot.install.helm_release,
        simulated=snapshot.simulated,
        canary=canary,
        node_config=node_config,
        notes=tuple(item.caveats),
        not_ready=tuple(n.name for n in snapshot.nodes if n.name in (selected or in_scope) and not n.ready),
        scoped=where.capable if where.narrowed else (),
        left_out=where.left_out,
        scope_note=scope.explain(item.id, readiness, where, name if node_config else None),
        devices={n.name: _device(n) for n in snapshot.nodes},
    )


def plan_switch_off(snapshot: Snapshot, item_id: str, nodes: Sequence[str]) -> Plan:
    """A demonstration's change: `item` switched off on `nodes` (where it is in effect), through a
    CiliumNodeConfig of its own (label `cilium-lab.io/demo-<item>`), each of its on/off settings negated.
    Verified like any change, except that those nodes must show the item no longer in effect."""
    item = catalog.get(item_id)
    chosen = _check_nodes(snapshot, nodes)
    off = {}
    for setting, value in item.targets.items():
        if not isinstance(value, bool):
            raise InputError(f"{item.id} cannot be switched off for a demonstration: {setting} is not on/off")
        off[setting] = not value
    if not off or not chosen:
        raise InputError(f"{item.id}: nothing to switch off (no on/off setting, or no node chosen)")
    version = snapshot.cilium_version
    readiness = {n.name: catalog.evaluate(item, n, cilium_version=version) for n in snapshot.nodes}
    in_effect = tuple(n for n in chosen if readiness[n].state == catalog.ENABLED)
    if not in_effect:
        raise InputError(
            f"{item.id} is in effect on none of {', '.join(chosen)}: there is nothing to switch off"
        )
    change = _translate(snapshot, off, in_effect)
    changes = dict(change.configmap)
    name = f"cilium-lab-demo-{item.id}"
    if any(objects.name_of(cnc) == name for cnc in snapshot.node_configs):
        raise InputError(
            f"CiliumNodeConfig {snapshot.namespace}/{name} already exists (an unfinished demonstration);"
            f" delete it first: kubectl -n {snapshot.namespace} delete ciliumnodeconfig {name}"
        )
    manifest = nodeconfig.manifest(
        name, snapshot.namespace, version, {demo_label(item.id): "true"},
        {k: v for k, v in changes.items() if v is not None},
    )  # fmt: skip
    expected = {
        n: outcomes.NodeOutcome(n, outcomes.APPLIED, "in effect: switched off for the demonstration")
        if n in in_effect
        else outcomes.NodeOutcome(n, outcomes.SKIPPED, "not switched off (not chosen, or not in effect)")
        for n in readiness
    }
    base = _config_of(snapshot, in_effect)
    return Plan(
        item=item.id, title=item.title, cilium_version=version, namespace=snapshot.namespace,
        configmap=snapshot.install.configmap, targets=off, changes=changes,
        previous={k: base.get(k) for k in changes}, helm={}, cli=(), restart=tuple(item.restart),
        readiness=readiness, expected=expected, config_resource_version=snapshot.config_resource_version,
        helm_managed=snapshot.helm_managed, helm_release=snapshot.install.helm_release,
        simulated=snapshot.simulated, node_config=manifest,
        not_ready=tuple(n.name for n in snapshot.nodes if n.name in in_effect and not n.ready),
        scoped=in_effect,
        scope_note=f"a demonstration: {item.id} switched off on {', '.join(in_effect)} through CiliumNodeConfig"
        f" {name}, measured, then the backup put back; cilium-config is unchanged",
        devices={n.name: _device(n) for n in snapshot.nodes}, switch_off=True,
    )  # fmt: skip


def _node_config_name(item_id: str, canary: tuple[str, ...], where: scope.Scope) -> str | None:
    """The CiliumNodeConfig the change goes through; None for the cluster-wide cilium-config."""
    if canary:
        return canary_name(item_id)
    return scoped_name(item_id) if where.narrowed else None


def _config_of(snapshot: Snapshot, selected: Sequence[str]) -> dict[str, str]:
    """The config the change starts from: the first selected node's effective config, else cilium-config."""
    return dict(snapshot.node(selected[0]).config) if selected else dict(snapshot.config)


def _translate(
    snapshot: Snapshot, targets: Mapping[str, object], selected: Sequence[str]
) -> cilium_pkg.ConfigChange:
    """The change for cilium-config, or for the selected nodes: every key any of them lacks."""
    first = cilium_pkg.translate(snapshot.cilium_version, targets, _config_of(snapshot, selected))
    for node in selected[1:]:
        more = cilium_pkg.translate(snapshot.cilium_version, targets, snapshot.node(node).config)
        first.configmap.update({k: v for k, v in more.configmap.items() if k not in first.configmap})
    return first


def _device(node: NodeFacts) -> str:
    if node.device is None:
        return "device unknown"
    return f"{node.device} ({node.nic_driver or 'driver unknown'})"


def canary_name(item_id: str) -> str:
    return f"cilium-lab-canary-{item_id}"


def scoped_name(item_id: str) -> str:
    """The CiliumNodeConfig of a change narrowed to the nodes that can take it."""
    return f"cilium-lab-{item_id}"


def _node_config(
    snapshot: Snapshot, item_id: str, name: str, canary: tuple[str, ...], changes: dict[str, str | None]
) -> dict:
    removed = sorted(k for k, v in changes.items() if v is None)
    if removed:
        what = "a canary" if canary else f"a change some nodes cannot take ({item_id})"
        fix = "apply to the whole cluster (nodes=None)" if canary else "change cilium-config by hand"
        raise InputError(
            f"{what} cannot remove cilium-config keys ({', '.join(removed)}): a CiliumNodeConfig only sets"
            f" values; {fix}"
        )
    if any(objects.name_of(cnc) == name for cnc in snapshot.node_configs):
        raise InputError(
            f"CiliumNodeConfig {snapshot.namespace}/{name} already exists (an earlier change of {item_id});"
            f" delete it first: kubectl -n {snapshot.namespace} delete ciliumnodeconfig {name}"
        )
    label = canary_label(item_id) if canary else takes_label(item_id)
    defaults = {k: v for k, v in changes.items() if v is not None}
    return nodeconfig.manifest(name, snapshot.namespace, snapshot.cilium_version, {label: "true"}, defaults)
