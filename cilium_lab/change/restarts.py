"""How a change reaches the agents: a DaemonSet rollout for the whole cluster, or agent pods restarted node by node.

A whole-cluster change restarts every agent through the DaemonSet (`kubectl rollout restart`). A
change that only some nodes read (a CiliumNodeConfig, or a restore that changes some nodes' effective
config) restarts only those nodes' agents, one node at a time, so the other nodes keep their running
agents (same pods, same restart counts). A NotReady node is left out, and the agents are then
restarted node by node even for a whole-cluster change: a DaemonSet rolling update stalls on a
NotReady node, whose unavailable pod uses up maxUnavailable, so `kubectl rollout status` would never
finish. The same wait serves a change and its rollback.
"""

from __future__ import annotations

import time

from cilium_lab.change.recording import Progress
from cilium_lab.cluster import discover, rollout
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

MIN_WAIT = 0.1  # seconds each node gets even when an earlier one used up the deadline


class NodesNotReady(ClusterError):
    """A node whose agent must restart is NotReady: refused before anything changes."""


def roll_out(
    conn: Connection,
    install: discover.CiliumInstall,
    nodes: tuple[str, ...] | None,
    say: Progress,
    timeout: float,
) -> str | None:
    """Restart the agents and wait; the failure in words, or None when every restarted agent is ready.

    `nodes` None restarts the whole DaemonSet; otherwise the agents of those nodes, one by one."""
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
