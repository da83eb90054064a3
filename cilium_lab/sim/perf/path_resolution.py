"""From an exec to a performance-model path: who is the client, where does the address land.

Asks `ExecContext.resolve` (the API side's answer
to "where does this IP and port land") and builds a `Path` with the profile's `perf`
overrides. Decides reachability: an address that resolves to nothing, the client's own namespace,
or a pod end on a node without a running agent has nobody listening. A node address with a
Service's nodePort becomes a "nodeport" path whose balancer is that node.
"""

from __future__ import annotations

from cilium_lab.sim.agent.runtime import ExecContext
from cilium_lab.sim.perf.path import Path, Side


def path_to(ctx: ExecContext, ip: str, port: int | str | None = None) -> Path | None:
    """The path from the exec's pod to `ip` (and `port`), or None when nothing answers there."""
    host_network = bool((ctx.pod.get("spec") or {}).get("hostNetwork"))
    if ip.startswith("127."):
        if not host_network:
            return None  # no server in the pod's own network namespace
        ip = ctx.node.internal_ip  # the host's loopback reaches the host-network server
    elif ip == ctx.pod_ip and not host_network:
        return None
    endpoint = ctx.resolve(ip, port)
    if endpoint is None:
        return None
    datapath = ctx.boot.datapath if ctx.boot is not None and ctx.boot.ok else None
    client = Side(ctx.node, datapath, host_network)
    server = Side(endpoint.node, endpoint.datapath, endpoint.host_network)
    if any(not side.host_network and side.datapath is None for side in (client, server)):
        return None  # a pod end without an agent has no pod network
    if endpoint.via_nodeport and endpoint.balancer_node is not None:
        lb = Side(endpoint.balancer_node, endpoint.balancer_datapath, host_network=True)
        return Path(client, server, service="nodeport", lb=lb, perf=ctx.perf)
    service = "clusterip" if endpoint.via_service else "none"
    return Path(client, server, service=service, perf=ctx.perf)
