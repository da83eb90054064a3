"""Plan one tuning change: the cilium-config diff, Helm values, CLI commands, restarts, per-node outcome.

Called by the labs and the CLI before `change.apply`; calls `catalog` (the item, per-node
readiness), `cilium.translate` (logical settings -> this version's keys) and `change.render`. Pure:
a plan reads a `Snapshot` and changes nothing. A canary plan puts the change in a CiliumNodeConfig
that selects the chosen nodes by a label (cilium.io/v2alpha1 for 1.13-1.15, v2 from 1.16:
https://docs.cilium.io/en/stable/configuration/per-node-config/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cilium_lab.cilium as cilium_pkg
from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.cluster import nodeconfig
from cilium_lab.cluster.snapshot import Snapshot
from cilium_lab.errors import InputError

CANARY_LABEL = "cilium-lab.io/canary"  # prefix: one label per item, so two canaries on a node keep both


def canary_label(item_id: str) -> str:
    """The node label whose CiliumNodeConfig carries this item's canary (value "true")."""
    return f"{CANARY_LABEL}-{item_id}"


@dataclass(frozen=True)
class Plan:
    item: str
    title: str
    cilium_version: str
    namespace: str
    configmap: str
    targets: dict[str, object]
    changes: dict[str, str | None]  # cilium-config keys to set (None: delete)
    previous: dict[str, str | None]  # those keys' values now (None: absent)
    helm: dict[str, object]
    cli: tuple[str, ...]
    restart: tuple[str, ...]
    readiness: dict[str, catalog.Readiness]
    expected: dict[str, outcomes.NodeOutcome]
    config_resource_version: str  # cilium-config as planned; apply refuses if it changed since
    helm_managed: bool
    helm_release: str
    simulated: bool
    canary: tuple[str, ...] = ()
    node_config: dict | None = None  # the CiliumNodeConfig a canary creates
    not_ready: tuple[str, ...] = ()  # nodes in scope that were NotReady in the snapshot: apply refuses them
    notes: tuple[str, ...] = field(default=())

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes

    @property
    def nodes_in_scope(self) -> tuple[str, ...]:
        return self.canary or tuple(self.expected)

    @property
    def canary_label(self) -> str:
        return canary_label(self.item)

    @property
    def helm_command(self) -> str:
        sets = " ".join(f"--set {k}={_helm_text(v)}" for k, v in sorted(flatten(self.helm).items()))
        release = self.helm_release or "cilium"
        return f"helm upgrade {release} cilium/cilium --namespace {self.namespace} --reuse-values --version {self.cilium_version} {sets}".rstrip()

    def to_text(self) -> str:
        from cilium_lab.change import render

        return render.plan_text(self)

    def to_html(self) -> str:
        from cilium_lab.change import render

        return render.plan_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested Helm values -> dotted keys, as `--set` takes them."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _helm_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


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
    """Plan the change of one item; `nodes` makes it a canary on those nodes first."""
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
    readiness = {n.name: catalog.evaluate(item, n, cilium_version=version) for n in snapshot.nodes}
    scope = canary or snapshot.node_names
    _refuse_unmet_needs(item, readiness, scope)
    change = cilium_pkg.translate(version, targets, snapshot.config)
    changes = {k: v for k, v in change.configmap.items() if snapshot.config.get(k) != v}
    expected = {n: _expect(r, n in scope) for n, r in readiness.items()}
    node_config = _canary_config(snapshot, item.id, canary, changes) if canary else None
    return Plan(
        item=item.id, title=item.title, cilium_version=version, namespace=snapshot.namespace,
        configmap=snapshot.install.configmap, targets=targets, changes=changes,
        previous={k: snapshot.config.get(k) for k in changes}, helm=dict(change.helm), cli=tuple(change.cli),
        restart=tuple(item.restart), readiness=readiness, expected=expected,
        config_resource_version=snapshot.config_resource_version, helm_managed=snapshot.helm_managed,
        helm_release=snapshot.install.helm_release, simulated=snapshot.simulated, canary=canary,
        node_config=node_config, notes=tuple(item.caveats),
        not_ready=tuple(n.name for n in snapshot.nodes if n.name in scope and not n.ready),
    )  # fmt: skip


def canary_name(item_id: str) -> str:
    return f"cilium-lab-canary-{item_id}"


def _canary_config(
    snapshot: Snapshot, item_id: str, canary: tuple[str, ...], changes: dict[str, str | None]
) -> dict:
    removed = sorted(k for k, v in changes.items() if v is None)
    if removed:
        raise InputError(
            f"a canary cannot remove cilium-config keys ({', '.join(removed)}): a CiliumNodeConfig only sets"
            " values; apply to the whole cluster (nodes=None)"
        )
    defaults = {k: v for k, v in changes.items() if v is not None}
    return nodeconfig.manifest(
        canary_name(item_id),
        snapshot.namespace,
        snapshot.cilium_version,
        {canary_label(item_id): "true"},
        defaults,
    )
