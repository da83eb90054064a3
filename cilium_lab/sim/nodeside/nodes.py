"""The profile's nodes on a real API server: registered as a kubelet registers its node, kept Ready.

`loopback_profile` gives each node of a profile a kubelet address in 127.0.0.0/8 (127.0.0.2, .3, ...): the
API server reaches kubelets at their InternalIP, so that address is the node's InternalIP everywhere (the
emulator's datapath and `ip addr` answer with it too). `register` creates each Node with the status a
kubelet posts at registration (the emulator's own node object: labels, addresses, capacity, node info with
the profile's kernel; `status.daemonEndpoints.kubeletEndpoint.Port` is the kubelet endpoint's port) and its
Lease in kube-node-lease. `Heartbeat.beat` renews the Leases every `RENEW` seconds, as the kubelet's
node-lease controller does (pkg/kubelet/nodelease, renew interval 10 s of a 40 s lease), which is what the
node lifecycle controller watches, and posts a node's Ready condition again when the emulator's NotReady
fault turns on or off.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cilium_lab.sim.control import bootstrap
from cilium_lab.sim.control.faults import Faults
from cilium_lab.sim.nodeside.rest import Rest, RestError
from cilium_lab.sim.state.profiles import Profile

LEASE_SECONDS = 40  # kubelet's nodeLeaseDurationSeconds default
RENEW = 10.0  # seconds between renewals (a quarter of the lease, as the kubelet)
LEASE_NS = "kube-node-lease"
Obj = dict[str, Any]


def loopback_profile(profile: Profile) -> Profile:
    """The profile with node i's InternalIP 127.0.0.(i+2), where its kubelet endpoint listens."""
    nodes = tuple(replace(n, internal_ip=f"127.0.0.{i + 2}") for i, n in enumerate(profile.nodes))
    return replace(profile, nodes=nodes)


def _now(micro: bool = False) -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if micro else now.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_object(profile: Profile, name: str, kubelet_port: int) -> Obj:
    node = next(n for n in profile.nodes if n.name == name)
    obj = bootstrap.node_object(node, profile)
    now = _now()
    for condition in obj["status"]["conditions"]:
        condition.update(lastHeartbeatTime=now, lastTransitionTime=now)
    obj["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet_port}}
    return obj


def _lease(name: str, node_uid: str) -> Obj:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": LEASE_NS,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node_uid}],
        },
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": _now(micro=True),
        },
    }


def register(api: Rest, profile: Profile, ports: dict[str, int]) -> None:
    """Create every node of `profile` (kubelet port from `ports`, 0 where no endpoint serves) and its Lease."""
    for node in profile.nodes:
        created = api.request(
            "POST", "/api/v1/nodes", node_object(profile, node.name, ports.get(node.name, 0))
        )
        api.request(
            "POST",
            f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NS}/leases",
            _lease(node.name, created["metadata"]["uid"]),
        )


class Heartbeat:
    """Lease renewals and the Ready condition per the emulator's faults; call `beat()` often, it acts when due."""

    def __init__(self, api: Rest, profile: Profile, faults: Faults) -> None:
        self.api = api
        self.names = [n.name for n in profile.nodes]
        self.faults = faults
        self._renewed = time.monotonic()
        self._ready = dict.fromkeys(self.names, True)

    def beat(self) -> None:
        for name in self.names:
            ready = not self.faults.not_ready(name)
            if ready != self._ready[name]:
                self._post_ready(name, ready)
                self._ready[name] = ready
        if time.monotonic() - self._renewed >= RENEW:
            self._renewed = time.monotonic()
            for name in self.names:
                self._renew(name)

    def _renew(self, name: str) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NS}/leases/{name}"
        body = {"spec": {"renewTime": _now(micro=True)}}
        # a failed renewal is retried RENEW seconds later, well within the lease
        with contextlib.suppress(RestError):
            self.api.request("PATCH", path, body, content_type="application/merge-patch+json")

    def _post_ready(self, name: str, ready: bool) -> None:
        now = _now()
        condition = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status"
            if ready
            else "fault injected by the embedded cluster",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        body = {"status": {"conditions": [condition]}}
        self.api.request(
            "PATCH",
            f"/api/v1/nodes/{name}/status",
            body,
            content_type="application/strategic-merge-patch+json",
        )
