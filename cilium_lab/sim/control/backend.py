"""One embedded cluster's state and behaviour, behind the HTTP surface.

Every handler reaches it through `access.backend_of(request)`. Holds the store, the served resources, the
profile, users, faults, the virtual clock, the seeded randomness, the agent boots per pod and each node's
mutable host settings (`state.host_settings`; neither are API objects). Every exec and every resolved endpoint
sees a node with its current host settings. Builds the `ExecContext` for an exec and answers `resolve(ip,
port)` for the performance model: a pod, a node, a ClusterIP's backend, or, for a node address with a
Service's nodePort, that Service's backend reached through the node (`via_nodeport`, the node as balancer).
Simplification: backends are chosen round-robin per service among running selected pods; a NodePort is open on
every node, including ones without a running agent (kube-proxy or the agent would answer there).
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from cilium_lab.sim.agent.runtime import Boot, Endpoint, ExecContext
from cilium_lab.sim.control.faults import Faults
from cilium_lab.sim.state import selectors
from cilium_lab.sim.state.audit import AuditLog
from cilium_lab.sim.state.host_settings import HostStates, HostWriteError
from cilium_lab.sim.state.object_store import Store
from cilium_lab.sim.state.profiles import NodeProfile, Profile
from cilium_lab.sim.state.rbac import Identity, Users
from cilium_lab.sim.state.resources import Registry

CILIUM_NS = "kube-system"
CNC_KEY = "ciliumnodeconfigs.cilium.io"
IMAGE_TAG = re.compile(r":v?(\d+\.\d+\.\d+[^@]*)")


@dataclass(frozen=True)
class Timing:
    """Wall-clock pacing of the controllers: fast enough for tests, slow enough to observe."""

    tick: float = 0.01  # controller loop period
    start: float = 0.01  # Pending -> Running of a pod
    crash_backoff: float = 0.2  # between restarts of a crash-looping container


class VirtualClock:
    """Virtual seconds since the cluster started; only `advance` moves it (netperf -l 10 takes no wall time)."""

    def __init__(self, now: float = 0.0) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move the virtual clock backwards by {seconds} s")
        with self._lock:
            self._now += seconds


def _port(port: int | str | None) -> int | None:
    try:
        return int(port) if port not in (None, "") else None
    except ValueError:
        return None


def image_version(image: str) -> str:
    """'quay.io/cilium/cilium:v1.13.4@sha256:...' -> '1.13.4'."""
    m = IMAGE_TAG.search(image.rsplit("/", 1)[-1])
    return m.group(1) if m else ""


class Backend:
    def __init__(self, profile: Profile, seed: int = 0, timing: Timing | None = None) -> None:
        self.profile = profile
        self.seed = seed
        self.timing = timing or Timing()
        self.store = Store()
        self.registry = Registry(profile.cilium_version)
        self.users = Users()
        self.anonymous: Identity | None = None  # who a request without a token is (plain-http fallback only)
        self.faults = Faults()
        self.audit = AuditLog()  # every authorized request: who, verb, resource, name, allowed
        self.clock = VirtualClock()
        self._rng = random.Random(seed)
        self._rr: dict[str, int] = {}
        self.boots: dict[str, Boot] = {}  # pod uid -> the agent boot of its current container
        self.boot_configs: dict[str, dict[str, str]] = {}  # pod uid -> config that boot read (for restore)
        self.nodes = {n.name: n for n in profile.nodes}
        self.hosts = HostStates(self.nodes)
        # every exec's (namespace, pod, container, argv), newest last: what reached a shell, for tests to check
        self.exec_log: deque[tuple[str, str, str, tuple[str, ...]]] = deque(maxlen=5000)

    # config ------------------------------------------------------------------------------------------
    def node_config(self, node: str) -> dict[str, str]:
        """cilium-config data with the CiliumNodeConfig `defaults` of every object that selects `node`
        applied in name order (later names win; an assumption, the docs do not define the order)."""
        cm = self.store.find("configmaps", CILIUM_NS, "cilium-config", copied=False) or {}
        config = dict(cm.get("data") or {})
        node_obj = self.store.find("nodes", "", node, copied=False) or {"metadata": {}}
        labels = node_obj["metadata"].get("labels") or {}
        for cnc in self.store.view(CNC_KEY, CILIUM_NS):
            spec = cnc.get("spec") or {}
            if selectors.match_label_selector(spec.get("nodeSelector"), labels):
                config.update({k: str(v) for k, v in (spec.get("defaults") or {}).items()})
        return config

    def agent_boot(self, node: str) -> Boot | None:
        """The boot of the agent pod on `node` (a started one preferred; None: no agent has started)."""
        pods = [p for p in self.store.view("pods", CILIUM_NS) if p["spec"].get("nodeName") == node]
        boots = [self.boots[p["metadata"]["uid"]] for p in pods if p["metadata"]["uid"] in self.boots]
        return next((b for b in boots if b.ok), boots[0] if boots else None)

    # exec ----------------------------------------------------------------------------------------------
    def exec_context(self, pod: dict[str, Any], container: str) -> ExecContext:
        node = self.node_profile(pod["spec"]["nodeName"])
        uid = pod["metadata"]["uid"]
        image = next((c["image"] for c in pod["spec"]["containers"] if c["name"] == container), "")
        version = image_version(image) if uid in self.boots else self._cilium_version()
        with self.store.lock:
            rng = random.Random(self._rng.getrandbits(64))
        return ExecContext(
            pod=pod,
            container=container,
            node=node,
            cilium_version=version or self._cilium_version(),
            boot=self.boots.get(uid) or self.agent_boot(node.name),
            config=self.boot_configs.get(uid) or self.node_config(node.name),
            resolve=self.resolve,
            rng=rng,
            clock=self.clock.now,
            advance=self.clock.advance,
            pod_ip=pod.get("status", {}).get("podIP"),
            kubernetes_version=self.profile.kubernetes_version,
            cluster_nodes=len(self.store.view("nodes")),
            peers=tuple(
                (n["metadata"]["name"], self.node_profile(n["metadata"]["name"]).internal_ip)
                for n in self.store.view("nodes")
            ),
            perf=self.profile.perf,
            write_host=lambda changes: self._write_host(node.name, changes),
        )

    def _write_host(self, node: str, changes: dict[str, str]) -> NodeProfile:
        if self.faults.take_host(node, list(changes)):
            raise HostWriteError(f"fault injected by the embedded cluster: host change on {node}")
        return self.hosts.update(node, changes)

    def _cilium_version(self) -> str:
        ds = self.store.find("daemonsets.apps", CILIUM_NS, "cilium", copied=False)
        if ds:
            for c in ds["spec"]["template"]["spec"]["containers"]:
                if version := image_version(c.get("image", "")):
                    return version
        return self.profile.cilium_version

    # resolve -----------------------------------------------------------------------------------------
    def resolve(self, ip: str, port: int | str | None = None) -> Endpoint | None:
        """Where traffic to `ip` (and `port`, when given) lands: a running pod, a node, a ClusterIP's
        next backend pod, or for a node address and a Service's nodePort that Service's next backend."""
        pods = [p for p in self.store.view("pods") if p.get("status", {}).get("phase") == "Running"]
        for node in map(self.node_profile, self.nodes):
            if node.internal_ip != ip:
                continue
            svc = self._node_port_service(_port(port))
            if svc is not None:
                return self._via_node_port(node, svc, pods)
            return Endpoint(ip, node, self._datapath(node.name), host_network=True)
        for pod in pods:
            if pod["status"].get("podIP") == ip and not pod["spec"].get("hostNetwork"):
                return self._pod_endpoint(pod)
        for svc in self.store.view("services"):
            if svc["spec"].get("clusterIP") == ip:
                return self._service_backend(svc, pods)
        return None

    def _pod_endpoint(self, pod: dict[str, Any], via_service: bool = False) -> Endpoint:
        node = self.node_profile(pod["spec"]["nodeName"])
        host = bool(pod["spec"].get("hostNetwork"))
        return Endpoint(
            pod["status"]["podIP"],
            node,
            self._datapath(node.name),
            host,
            pod["metadata"]["name"],
            via_service,
        )

    def _node_port_service(self, port: int | None) -> dict[str, Any] | None:
        """The NodePort (or LoadBalancer) Service that owns node port `port`, if any."""
        for svc in self.store.view("services") if port is not None else []:
            if svc["spec"].get("type") in ("NodePort", "LoadBalancer") and any(
                p.get("nodePort") == port for p in svc["spec"].get("ports") or []
            ):
                return svc
        return None

    def _via_node_port(
        self, node: NodeProfile, svc: dict[str, Any], pods: list[dict[str, Any]]
    ) -> Endpoint | None:
        """The Service's next backend, reached through `node` (which translates: XDP, DSR live there)."""
        backend = self._service_backend(svc, pods)
        if backend is None:
            return None  # no backend: the connection is refused
        return replace(
            backend,
            via_service=False,
            via_nodeport=True,
            balancer_node=node,
            balancer_datapath=self._datapath(node.name),
        )

    def _service_backend(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> Endpoint | None:
        selector = svc["spec"].get("selector") or {}
        namespace = svc["metadata"]["namespace"]
        backends = [
            p
            for p in pods
            if selector
            and p["metadata"]["namespace"] == namespace
            and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        ]
        if not backends:
            return None
        key = f"{namespace}/{svc['metadata']['name']}"
        with self.store.lock:
            index = self._rr.get(key, 0)
            self._rr[key] = index + 1
        return self._pod_endpoint(backends[index % len(backends)], via_service=True)

    def _datapath(self, node: str):  # -> Datapath | None
        boot = self.agent_boot(node)
        return boot.datapath if boot and boot.ok else None

    def node_profile(self, name: str) -> NodeProfile:
        """The node as it is now: the profile's hardware with the current host settings."""
        return self.hosts.node(name)
