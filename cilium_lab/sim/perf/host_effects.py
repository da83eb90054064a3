"""Per-node effects of the kernel and the host's tuning on the performance model.

For each node on a path, reads the node's preemption model and its
`host` settings (governor, tuned_profile, irqbalance) from the profile and looks the multipliers up
in data/perfmodel.yaml (`host:`), relative to the C.1 nodes (PREEMPT_NONE, tuned, irqbalance killed).
Simplification: these settings change rates and jitter only; no frequency or C-state model.
"""

from __future__ import annotations

from cilium_lab.sim.perf import constants
from cilium_lab.sim.state.profiles import NodeProfile


def settings(node: NodeProfile) -> dict[str, str]:
    """The row of each `host:` table that applies to this node."""
    table = constants.value("host")
    tuned = node.host.get("tuned_profile", "none")
    return {
        "preempt": node.preempt if node.preempt in table["preempt"] else "voluntary",
        "governor": _governor_row(node.host.get("governor", "none")),
        "tuned_profile": tuned if tuned in table["tuned_profile"] else "none",
        "irqbalance": "active" if node.host.get("irqbalance", "inactive") == "active" else "inactive",
    }


def factors(node: NodeProfile, kind: str) -> list[tuple[str, float]]:
    """Named rate multipliers for this node, leaving out those equal to 1."""
    table = constants.value("host")
    named = []
    for setting, row in settings(node).items():
        f = float(table[setting][row].get(kind, 1.0))
        if f != 1.0:
            named.append((f"{setting}={row}@{node.name}", f))
    return named


def tail(node: NodeProfile) -> float:
    """How much this node widens the latency percentiles above the median."""
    table = constants.value("host")
    result = 1.0
    for setting, row in settings(node).items():
        result *= float(table[setting][row].get("tail", 1.0))
    return result


def _governor_row(governor: str) -> str:
    """performance and no cpufreq at all (VMs) leave cores at speed; every other governor idles them."""
    if governor in ("", "none"):
        return "none"
    return "performance" if governor == "performance" else "other"
