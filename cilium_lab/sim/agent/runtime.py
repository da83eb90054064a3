"""The records the control plane, the agent, the shell and the performance model share.

An agent start returns a `Boot` (kept on the pod); a command run in a pod gets an `ExecContext` and
answers an `ExecResult`; an address resolves to an `Endpoint`. These records are the only things
those layers share.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.state.profiles import NodeProfile


@dataclass(frozen=True)
class Boot:
    """The outcome of an agent start on one node."""

    ok: bool
    datapath: Datapath | None  # None when the agent failed to start
    log: tuple[str, ...] = ()  # agent log lines (level=info/warning/fatal msg=...), as `kubectl logs` shows
    error: str | None = None  # the fatal message when not ok (the pod then crash-loops)


@dataclass(frozen=True)
class ExecResult:
    stdout: str = ""
    stderr: str = ""
    code: int = 0


@dataclass(frozen=True)
class Endpoint:
    """Where an IP address lands: a pod (or host) on a node, as the perf model needs it."""

    ip: str
    node: NodeProfile
    datapath: Datapath | None  # the effective datapath of that node's agent (None: no agent running)
    host_network: bool  # a hostNetwork pod or the node address itself
    pod_name: str | None = None
    via_service: bool = False  # the address was a ClusterIP that was translated to this backend
    via_nodeport: bool = False  # the address was <node IP>:<nodePort>, translated on that node
    balancer_node: NodeProfile | None = None  # NodePort: the node that received and translated it
    balancer_datapath: Datapath | None = None  # NodePort: that node's datapath (XDP, DSR live there)


@dataclass
class ExecContext:
    """Everything a command run inside a pod may look at. Built by the backend per exec call."""

    pod: dict[str, Any]  # the pod object as stored (metadata, spec, status)
    container: str
    node: NodeProfile  # the node the pod runs on
    cilium_version: str  # the version in the agent image tag
    boot: Boot | None  # this node's agent boot (for agent pods and for the perf model)
    config: dict[str, str]  # this node's effective cilium-config (ConfigMap + CiliumNodeConfig overrides)
    # (ip, port=None) -> where it lands: a pod, a node, a ClusterIP's backend, or with a port a NodePort's
    resolve: Callable[..., Endpoint | None]
    rng: random.Random  # seeded per cluster: same seed, same measurements
    clock: Callable[[], float] = field(default=lambda: 0.0)  # virtual seconds; netperf -l advances it
    advance: Callable[[float], None] = field(default=lambda s: None)  # advance virtual time by s seconds
    pod_ip: str | None = None
    kubernetes_version: str = ""  # the cluster's gitVersion, for the status "Kubernetes:" line
    cluster_nodes: int = 1  # nodes in the cluster, for the status "Cluster health:" line
    peers: tuple[tuple[str, str], ...] = ()  # (name, InternalIP) of every node, for `status --verbose`
    perf: Mapping[str, Any] = field(default_factory=dict)  # Profile.perf: the model's per-profile overrides
    # Host changes (sim.state.host_settings): `node.host` is the node's state when the exec started; a command that
    # changes it calls write_host(changes) and continues with the returned node. None: read-only host.
    write_host: Callable[[dict[str, str]], NodeProfile] | None = None
    on_host: bool = False  # the command runs in the host's namespaces (nsenter from a privileged pod)
