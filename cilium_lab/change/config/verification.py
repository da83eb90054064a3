"""After a rollout: does every node's effective state match the plan?

Read from a fresh `Snapshot` with `catalog.observe` and `catalog.evaluate`. A node expected to take
the change must now show it in effect (the agent's status decides where it has the line; settings the
node cannot take or the plan left out are not checked); a node expected to refuse must run a healthy
agent that shows the fallback (the item not in effect), not fail; nodes outside the scope, and nodes
the apply left out (NotReady), are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping

from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.change.config.plans import Plan
from cilium_lab.cluster.snapshot import Snapshot


def node_outcome(plan: Plan, after: Snapshot, node: str) -> outcomes.NodeOutcome:
    expected = plan.expected[node]
    if expected.outcome == outcomes.SKIPPED:
        return expected
    if node not in after.node_names:
        return outcomes.NodeOutcome(node, outcomes.FAILED, "node disappeared during the change")
    facts = after.node(node)
    if facts.status is None:
        why = after.problems.get(node, "no agent status")
        return outcomes.NodeOutcome(node, outcomes.FAILED, f"agent not healthy after the change: {why}")
    if expected.outcome == outcomes.REFUSED:
        seen = catalog.evaluate(plan.item, facts, cilium_version=after.cilium_version)
        if seen.state == catalog.ENABLED:
            return outcomes.NodeOutcome(node, outcomes.APPLIED, "expected to refuse, but took the change")
        return outcomes.NodeOutcome(node, outcomes.REFUSED, f"falls back as planned: {expected.reason}")
    # Settings the node cannot take, or the plan left out, were not changed: their checks do not count.
    skip = {*plan.readiness[node].blocked_settings, *plan.left_out}
    seen = catalog.observe(
        catalog.get(plan.item), facts, skip_settings=skip, cilium_version=after.cilium_version
    )
    if plan.switch_off:  # a demonstration: the item must no longer be in effect here
        why = "; ".join(seen.evidence) or f"nothing reports {', '.join(seen.unseen)}"
        if seen.enabled is False:
            return outcomes.NodeOutcome(node, outcomes.APPLIED, f"switched off: {why}")
        return outcomes.NodeOutcome(node, outcomes.FAILED, f"still in effect after switching it off: {why}")
    if seen.enabled:
        return outcomes.NodeOutcome(node, outcomes.APPLIED, "; ".join(seen.evidence) or "in effect")
    why = "; ".join(seen.evidence) or f"nothing reports {', '.join(seen.unseen)}"
    return outcomes.NodeOutcome(node, outcomes.FAILED, f"not in effect after the change: {why}")


def check(
    plan: Plan, after: Snapshot, *, skip: Mapping[str, str] | None = None
) -> dict[str, outcomes.NodeOutcome]:
    """Each node's outcome; nodes in `skip` (node -> why, e.g. NotReady and left out) are skipped."""
    skip = skip or {}
    return {
        node: outcomes.NodeOutcome(node, outcomes.SKIPPED, skip[node])
        if node in skip
        else node_outcome(plan, after, node)
        for node in plan.expected
    }
