"""Which nodes a change goes to: the whole cluster, an operator's canary, or only the nodes that can take it.

Pure: it reads `catalog` readiness states only. A change is never forced on a node that cannot take
it: when some nodes in scope are blocked for the item (kernel, driver, device MTU, ...) and others can
take it, the change is narrowed to the capable nodes and goes through a CiliumNodeConfig that selects
them, leaving cilium-config alone. The Cilium Tuning Guide recommends per-node config
(CiliumNodeConfig) for datapath tunings, which "require Pod or even node restarts"
(https://docs.cilium.io/en/latest/operations/performance/tuning/). Target settings blocked on some
capable node (IPv4 BIG TCP below kernel 6.3) are left out of the change for every node, so no node is
given a setting it cannot take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cilium_lab import catalog


@dataclass(frozen=True)
class Scope:
    """Where a change goes. `selected` empty and `narrowed` False: the cluster-wide ConfigMap."""

    in_scope: tuple[str, ...]  # the canary, or every node
    capable: tuple[str, ...]  # nodes in scope expected to take the change (can-enable)
    blocked: tuple[str, ...]  # nodes in scope that cannot take it: refused
    left_out: tuple[str, ...]  # target settings some capable node cannot take: changed nowhere
    narrowed: bool  # blocked nodes in scope: the change goes to the capable nodes only

    @property
    def nothing_can_take_it(self) -> bool:
        return not self.capable


def decide(
    readiness: Mapping[str, catalog.Readiness], in_scope: Sequence[str], targets: Sequence[str]
) -> Scope:
    """The scope of a change of `targets` (logical settings) given each node's readiness."""
    states = {n: readiness[n] for n in in_scope}
    capable = tuple(n for n, r in states.items() if r.state == catalog.CAN_ENABLE)
    blocked = tuple(n for n, r in states.items() if r.state == catalog.BLOCKED)
    left = {s for n in capable for s in states[n].blocked_settings}
    left_out = tuple(s for s in targets if s in left)
    return Scope(tuple(in_scope), capable, blocked, left_out, narrowed=bool(blocked))


def refusal_groups(readiness: Mapping[str, catalog.Readiness], nodes: Sequence[str]) -> list[tuple[str, str]]:
    """(nodes, why) for blocked nodes, grouped by their first reason: "board-1, board-2", "kernel 4.19 ..."."""
    groups: dict[str, list[str]] = {}
    for node in nodes:
        reasons = readiness[node].reasons
        groups.setdefault(reasons[0] if reasons else "blocked", []).append(node)
    return [(", ".join(names), why) for why, names in groups.items()]


def explain(
    item_id: str,
    readiness: Mapping[str, catalog.Readiness],
    scope: Scope,
    node_config_name: str | None,
) -> str:
    """The plan's plain sentence on why the change is scoped, or "" when it is not."""
    if not scope.blocked and not scope.left_out:
        return ""
    cannot = "; ".join(
        f"{n} cannot take {item_id} ({why})" for n, why in refusal_groups(readiness, scope.blocked)
    )
    left = ""
    if scope.left_out:
        takers = [n for n in scope.capable if set(readiness[n].blocked_settings) & set(scope.left_out)]
        left = f"{', '.join(scope.left_out)} left out: {', '.join(takers)} cannot take it"
    if scope.nothing_can_take_it:
        have = [n for n in scope.in_scope if readiness[n].state == catalog.ENABLED]
        rest = (
            f"{', '.join(have)} already have it, so nothing changes"
            if have
            else "no node in scope can take it, so nothing changes"
        )
        return f"{cannot or left}: {rest}"
    where = f"through CiliumNodeConfig {node_config_name}" if node_config_name else "through cilium-config"
    parts = [p for p in (cannot, left) if p]
    tail = "; cilium-config is unchanged" if node_config_name else ""
    return f"{'; '.join(parts)}: the change goes to {', '.join(scope.capable)} only, {where}{tail}"
