"""How a change reaches the agents: a DaemonSet rollout for the whole cluster, or agent pods restarted node by node.

Called by `change.apply` (after the change, and again after a rollback); calls `cluster.rollout`.
A whole-cluster change restarts every agent through the DaemonSet (`kubectl rollout restart`). A
change through a CiliumNodeConfig (a canary, or a change narrowed to the nodes that can take it)
restarts only the selected nodes' agents, one node at a time, so the other nodes keep their running
agents (same pods, same restart counts). When NotReady nodes are allowed
(`apply(..., allow_not_ready=True)`), a whole-cluster change is also restarted node by node, leaving
them out: a DaemonSet rolling update stalls on a NotReady node, whose unavailable pod uses up
maxUnavailable, so `kubectl rollout status` would never finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cilium_lab.change.plan import Plan
from cilium_lab.cluster import discover, rollout
from cilium_lab.cluster.connect import Connection

Progress = Callable[[str], None]
MIN_WAIT = 0.1  # seconds each node gets even when an earlier one used up the deadline


def nodes_to_restart(plan: Plan, not_ready: Mapping[str, str]) -> tuple[str, ...] | None:
    """None: restart the whole DaemonSet; otherwise the nodes whose agents restart, one by one."""
    if not plan.selected and not not_ready:
        return None
    return tuple(n for n in plan.nodes_in_scope if n not in not_ready)


def roll_out(
    conn: Connection,
    install: discover.CiliumInstall,
    nodes: tuple[str, ...] | None,
    say: Progress,
    timeout: float,
) -> str | None:
    """Restart the agents and wait; the failure in words, or None when every restarted agent is ready."""
    if nodes is None:
        rollout.restart(conn, install.namespace, install.daemonset)
        say(f"restarted {install.namespace}/{install.daemonset}")
        result = rollout.wait(conn, install, timeout=timeout, progress=say)
        say(result.message)
        return None if result.state == rollout.DONE else result.message
    deadline = time.monotonic() + timeout
    for node in nodes:
        replaced = rollout.restart_nodes(conn, install, [node])
        say(f"deleted agent pod {replaced[node] or '(none running)'} on {node}")
        left = max(MIN_WAIT, deadline - time.monotonic())
        result = rollout.wait_nodes(conn, install, replaced, timeout=left, progress=say)
        say(result.message)
        if result.state != rollout.DONE:
            return result.message
    return None
