"""A network path as the performance model sees it: two ends (and a NodePort balancer), each a node
with its agent's effective datapath.

Simplification: an end is a node and whether it is the host's network namespace; which pod on the node
does not matter to the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.state.profiles import NodeProfile


@dataclass(frozen=True)
class Side:
    """One end of a path: a node, its agent's effective datapath, and whether the end is the host."""

    node: NodeProfile
    datapath: Datapath | None
    host_network: bool


@dataclass(frozen=True)
class Path:
    """client -> server; `service` says how the address was translated ("none", "clusterip", "nodeport")."""

    client: Side
    server: Side
    service: str = "none"
    lb: Side | None = None  # NodePort: the node that received the request
    perf: Mapping[str, Any] = field(default_factory=dict)  # Profile.perf overrides

    @property
    def same_node(self) -> bool:
        return self.client.node.name == self.server.node.name

    @property
    def scenario(self) -> str:
        """cilium-cli's naming: pod-to-pod, host-to-pod, ... plus same-node/other-node."""
        ends = ["host" if s.host_network else "pod" for s in (self.client, self.server)]
        return f"{ends[0]}-to-{ends[1]} {'same-node' if self.same_node else 'other-node'}"

    def reversed(self) -> Path:
        return Path(self.server, self.client, self.service, self.lb, self.perf)
