"""Benchmark pods and services in the cluster: create, wait until Running, find and delete by label.

Called by `bench.pods` (which decides what to deploy); calls the CoreV1 API through
`cluster.objects`. Every object carries `app.kubernetes.io/managed-by: cilium-lab`, the run id and
its role, so a run removes exactly its own objects and a later run can sweep what an earlier one
left behind (netbench.md §9.11). Only pods and services are touched, one by one, so the
`cilium-lab-bench` Role in deploy/rbac.yaml suffices (no deletecollection).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from cilium_lab.cluster import apierrors, objects, polling
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

NAMESPACE = "cilium-lab-bench"
MANAGED_BY = ("app.kubernetes.io/managed-by", "cilium-lab")
RUN_LABEL = "cilium-lab.io/run-id"
ROLE_LABEL = "cilium-lab.io/role"
MANAGED_SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]}"
# Pod Security Admission, as deploy/rbac.yaml labels the namespace: the host-to-host scenario's pods use the
# host network, which only `privileged` admits; warn and audit at baseline name each pod beyond baseline
PSA_LABELS = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/warn": "baseline",
    "pod-security.kubernetes.io/audit": "baseline",
}
CONTROL_PLANE_TOLERATION = {
    "key": "node-role.kubernetes.io/control-plane",
    "operator": "Exists",
    "effect": "NoSchedule",
}


@dataclass(frozen=True)
class PodSpec:
    """One benchmark pod: which node, host network or not, what it runs."""

    name: str
    role: str
    node: str
    host_network: bool
    command: tuple[str, ...]
    image: str
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class RunningPod:
    name: str
    role: str
    node: str
    ip: str
    host_network: bool


def labels_for(run_id: str, role: str) -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], RUN_LABEL: run_id, ROLE_LABEL: role}


def pod_manifest(spec: PodSpec, run_id: str) -> dict[str, Any]:
    """The Pod object: pinned to its node by hostname label, as cilium-cli places its perf pods."""
    container: dict[str, Any] = {"name": "netperf", "image": spec.image, "command": list(spec.command)}
    if spec.ports:
        container["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in spec.ports]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": spec.name, "labels": labels_for(run_id, spec.role)},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": spec.node},
            "hostNetwork": spec.host_network,
            "tolerations": [CONTROL_PLANE_TOLERATION],
            "terminationGracePeriodSeconds": 0,
            "restartPolicy": "Always",
            "containers": [container],
        },
    }


def service_manifest(name: str, run_id: str, *, target_role: str, ports: tuple[int, ...]) -> dict[str, Any]:
    """A ClusterIP service in front of the server pod, one TCP port per netperf port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels_for(run_id, "service")},
        "spec": {
            "type": "ClusterIP",
            "selector": {RUN_LABEL: run_id, ROLE_LABEL: target_role},
            "ports": [{"name": f"p{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports],
        },
    }


def ensure_namespace(conn: Connection, namespace: str = NAMESPACE) -> None:
    """Create the namespace, with the Pod Security labels of deploy/rbac.yaml, if it is absent; without rights
    to read it, assume deploy/rbac.yaml created it."""
    try:
        objects.request(
            conn, conn.core.read_namespace, namespace, verb="get", resource="namespaces", name=namespace
        )
    except apierrors.NotFound:
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {**dict([MANAGED_BY]), **PSA_LABELS}},
        }
        with contextlib.suppress(apierrors.AlreadyExists):
            objects.request(
                conn, conn.core.create_namespace, body, verb="create", resource="namespaces", name=namespace
            )
    except apierrors.Forbidden:
        pass


def create_pod(conn: Connection, namespace: str, spec: PodSpec, run_id: str) -> None:
    body = pod_manifest(spec, run_id)
    objects.request(
        conn,
        conn.core.create_namespaced_pod,
        namespace,
        body,
        verb="create",
        resource="pods",
        namespace=namespace,
        name=spec.name,
    )


def create_service(conn: Connection, namespace: str, manifest: dict[str, Any]) -> str:
    """Create the service and return its ClusterIP."""
    name = manifest["metadata"]["name"]
    created = objects.request(
        conn,
        conn.core.create_namespaced_service,
        namespace,
        manifest,
        verb="create",
        resource="services",
        namespace=namespace,
        name=name,
    )
    ip = (created.get("spec") or {}).get("clusterIP")
    if not ip or ip == "None":
        raise ClusterError(
            f"service {namespace}/{name} got no ClusterIP; check the API server's service CIDR"
        )
    return str(ip)


def wait_running(
    conn: Connection, namespace: str, run_id: str, names: set[str], *, timeout: float = 180.0
) -> dict[str, RunningPod]:
    """Poll until every named pod is Running with an IP; ClusterError naming the stragglers if not."""
    deadline = time.monotonic() + timeout
    delays = polling.intervals()
    waiting: dict[str, str] = {}
    while True:
        pods = {objects.name_of(p): p for p in list_pods(conn, namespace, run_id=run_id)}
        running = {n: _running(pods[n]) for n in names if n in pods and _is_running(pods[n])}
        waiting = {n: _why_waiting(pods.get(n)) for n in names if n not in running}
        if not waiting:
            return running
        if time.monotonic() >= deadline:
            detail = "; ".join(f"{n}: {why}" for n, why in sorted(waiting.items()))
            raise ClusterError(
                f"benchmark pods not running after {timeout:g}s ({detail}); check `kubectl -n {namespace} describe pods`"
            )
        polling.pause(delays, deadline)


def list_pods(conn: Connection, namespace: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
    return _list(conn, conn.core.list_namespaced_pod, "pods", namespace, run_id)


def list_services(conn: Connection, namespace: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
    return _list(conn, conn.core.list_namespaced_service, "services", namespace, run_id)


def _list(
    conn: Connection, method: Any, resource: str, namespace: str, run_id: str | None
) -> list[dict[str, Any]]:
    """Our labelled objects of one resource, optionally of one run only."""
    selector = MANAGED_SELECTOR + (f",{RUN_LABEL}={run_id}" if run_id else "")
    listing = objects.request(
        conn, method, namespace, label_selector=selector, verb="list", resource=resource, namespace=namespace
    )
    return listing.get("items", [])


def delete_run(conn: Connection, namespace: str, run_id: str) -> list[str]:
    """Delete this run's pods and services; returns what was deleted."""
    return _delete(
        conn,
        namespace,
        list_pods(conn, namespace, run_id=run_id),
        list_services(conn, namespace, run_id=run_id),
    )


def sweep(conn: Connection, namespace: str, *, keep_run_id: str) -> list[str]:
    """Delete benchmark objects that earlier runs left behind (any run id but `keep_run_id`)."""
    pods = [p for p in list_pods(conn, namespace) if objects.labels(p).get(RUN_LABEL) != keep_run_id]
    services = [s for s in list_services(conn, namespace) if objects.labels(s).get(RUN_LABEL) != keep_run_id]
    return _delete(conn, namespace, pods, services)


def _delete(conn: Connection, namespace: str, pods: list[dict], services: list[dict]) -> list[str]:
    deleted = []
    for kind, items, fn in (
        ("services", services, conn.core.delete_namespaced_service),
        ("pods", pods, conn.core.delete_namespaced_pod),
    ):
        for obj in items:
            name = objects.name_of(obj)
            try:
                objects.request(
                    conn,
                    fn,
                    name,
                    namespace,
                    grace_period_seconds=0,
                    verb="delete",
                    resource=kind,
                    namespace=namespace,
                    name=name,
                )
            except apierrors.NotFound:
                continue
            deleted.append(f"{kind}/{name}")
    return deleted


def _is_running(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return (
        status.get("phase") == "Running"
        and bool(status.get("podIP"))
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
    )


def _running(pod: dict[str, Any]) -> RunningPod:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    return RunningPod(
        name=meta["name"],
        role=objects.labels(pod).get(ROLE_LABEL, ""),
        node=str(spec.get("nodeName", "")),
        ip=str(status["podIP"]),
        host_network=bool(spec.get("hostNetwork")),
    )


def _why_waiting(pod: dict[str, Any] | None) -> str:
    if pod is None:
        return "missing"
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"{waiting.get('reason', 'waiting')} {waiting.get('message', '')}".strip()
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            return str(condition["message"])
    return str(status.get("phase", "Pending"))
