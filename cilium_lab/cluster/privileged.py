"""Privileged host pods (lab 15): one per node, to run commands in the host's namespaces through nsenter.

Called by `change.host.tuning`; calls the CoreV1 API through `cluster.objects`, `cluster.exec` and
`cluster.workloads.ensure_namespace`. A host pod is hostPID + hostNetwork + privileged, pinned to
its node with `spec.nodeName` (no scheduler, so it lands even on a cordoned or tainted node),
tolerates every taint and sleeps; commands run as
`nsenter -t 1 -m -u -i -n -p -- sh -c '<script>'`, i.e. as root in PID 1's namespaces: the node's
own tools, files and services. Every pod carries `app.kubernetes.io/managed-by: cilium-lab` and the
role `host-tuning`, so `sweep` finds what an interrupted run left behind. The `cilium-lab-host`
Role in deploy/rbac.yaml grants exactly these calls, in this namespace only.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from cilium_lab.cluster import apierrors, objects, polling, workloads
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

NAMESPACE = "cilium-lab-host"
ROLE = "host-tuning"
SELECTOR = f"{workloads.MANAGED_SELECTOR},{workloads.ROLE_LABEL}={ROLE}"
NSENTER = ("nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "sh", "-c")
CONTAINER = "host"
PSA_PRIVILEGED = {"pod-security.kubernetes.io/enforce": "privileged"}  # else "baseline" refuses these pods


def pod_name(node: str) -> str:
    return f"cilium-lab-host-{node}"[:63].rstrip("-.")


def manifest(node: str, image: str, run_id: str) -> dict[str, Any]:
    """The Pod: privileged, host PID and network namespaces, bound to `node`, sleeping until deleted."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name(node), "labels": workloads.labels_for(run_id, ROLE)},
        "spec": {
            "nodeName": node,
            "hostPID": True,
            "hostNetwork": True,
            "tolerations": [{"operator": "Exists"}],
            "terminationGracePeriodSeconds": 0,
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "command": ["sleep", "infinity"],
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }


def create(conn: Connection, node: str, *, image: str, run_id: str, namespace: str = NAMESPACE) -> str:
    """Create the host pod for `node` and return its name (ClusterError, e.g. Forbidden, if refused)."""
    body = manifest(node, image, run_id)
    name = body["metadata"]["name"]
    objects.request(
        conn,
        conn.core.create_namespaced_pod,
        namespace,
        body,
        verb="create",
        resource="pods",
        namespace=namespace,
        name=name,
    )
    return name


def wait_running(conn: Connection, name: str, *, timeout: float, namespace: str = NAMESPACE) -> None:
    deadline = time.monotonic() + timeout
    delays = polling.intervals()
    while True:
        pod = objects.request(
            conn,
            conn.core.read_namespaced_pod,
            name,
            namespace,
            verb="get",
            resource="pods",
            namespace=namespace,
            name=name,
        )
        status = pod.get("status") or {}
        if status.get("phase") == "Running":
            return
        if status.get("phase") in ("Failed", "Succeeded") or time.monotonic() >= deadline:
            raise ClusterError(
                f"host pod {namespace}/{name} is {status.get('phase', 'Pending')} after {timeout:g}s; "
                f"check `kubectl -n {namespace} describe pod {name}` (image pull, admission policy)"
            )
        polling.pause(delays, deadline)


def run(
    conn: Connection, name: str, script: str, *, timeout: float = 60, namespace: str = NAMESPACE
) -> pod_exec.ExecOutput:
    """Run `script` with sh as root in the host's namespaces of the pod's node."""
    return pod_exec.run(conn, namespace, name, [*NSENTER, script], container=CONTAINER, timeout=timeout)


def delete(conn: Connection, name: str, *, namespace: str = NAMESPACE) -> bool:
    """Delete the pod now; False when it was already gone."""
    try:
        objects.request(
            conn,
            conn.core.delete_namespaced_pod,
            name,
            namespace,
            grace_period_seconds=0,
            verb="delete",
            resource="pods",
            namespace=namespace,
            name=name,
        )
    except apierrors.NotFound:
        return False
    return True


def sweep(conn: Connection, *, namespace: str = NAMESPACE) -> list[str]:
    """Delete every host pod an earlier run left behind; returns their names."""
    try:
        listing = objects.request(
            conn,
            conn.core.list_namespaced_pod,
            namespace,
            label_selector=SELECTOR,
            verb="list",
            resource="pods",
            namespace=namespace,
        )
    except apierrors.NotFound:
        return []
    return [
        objects.name_of(p)
        for p in listing.get("items", [])
        if delete(conn, objects.name_of(p), namespace=namespace)
    ]


def ensure_namespace(conn: Connection, namespace: str = NAMESPACE) -> None:
    """Create the namespace, labelled for Pod Security Admission to admit privileged pods, if it is absent;
    without rights to read namespaces, assume deploy/rbac.yaml created it."""
    try:
        objects.request(
            conn, conn.core.read_namespace, namespace, verb="get", resource="namespaces", name=namespace
        )
    except apierrors.NotFound:
        labels = {workloads.MANAGED_BY[0]: workloads.MANAGED_BY[1], **PSA_PRIVILEGED}
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
        with contextlib.suppress(apierrors.AlreadyExists):
            objects.request(
                conn, conn.core.create_namespace, body, verb="create", resource="namespaces", name=namespace
            )
    except apierrors.Forbidden:
        pass
