"""The environment a measurement ran in, stored beside its samples (netbench.md §9.7).

Called by `bench.runner` once per measurement (lab and phase); calls `cluster.snapshot`. Holds per
node the kernel, architecture, NIC driver and MTU, and per benchmark node the effective datapath
as its agent reports it (`cilium-dbg status`), plus the Cilium version and a hash of cilium-config,
so two phases can be diffed and a result says what it was measured on. No credentials: the server
URL and context name only, never kubeconfig contents.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cilium_lab.cluster import snapshot as cluster_snapshot
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError
from cilium_lab.facts import NodeFacts

STATUS_FIELDS = (
    "host_routing", "kube_proxy_replacement", "routing_network", "tunnel_protocol", "masquerading",
    "bandwidth_manager", "congestion_control", "hubble", "xdp_acceleration", "nodeport_mode", "device_mode",
)  # fmt: skip


def config_hash(config: dict[str, str]) -> str:
    """sha256 of the config as sorted JSON: equal hashes, equal configs."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def node_entry(facts: NodeFacts) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kernel": facts.kernel, "arch": facts.arch, "os": facts.os_image, "nic_driver": facts.nic_driver,
        "mtu": facts.mtu, "cilium_version": facts.cilium_version,
    }  # fmt: skip
    if facts.status is not None:
        entry["status"] = {f: getattr(facts.status, f) for f in STATUS_FIELDS}
    return entry


def from_snapshot(snap: cluster_snapshot.Snapshot, *, nodes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fingerprint of a snapshot; `nodes` (the benchmark nodes) come first in `benchmark_nodes`."""
    return {
        "simulated": snap.simulated,
        "server": snap.server,
        "context": snap.context,
        "cilium_version": snap.cilium_version,
        "config_hash": config_hash(snap.config),
        "config_resource_version": snap.config_resource_version,
        "benchmark_nodes": list(nodes),
        "nodes": {f.name: node_entry(f) for f in snap.nodes},
        "problems": dict(snap.problems),
    }


def collect(conn: Connection, *, simulated: bool, nodes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Take a snapshot and fingerprint it; a cluster without Cilium still gets a fingerprint saying so."""
    try:
        return from_snapshot(cluster_snapshot.take(conn), nodes=nodes)
    except ClusterError as err:
        return {
            "simulated": simulated,
            "server": conn.server,
            "context": conn.context,
            "benchmark_nodes": list(nodes),
            "error": str(err),
        }
