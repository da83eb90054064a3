"""The real control plane's kube-scheduler (`tests/controlplane.py`): a Pod without a node, and a
DaemonSet's pods, get bound to a Ready Node that the test registers, as on a real cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from waiting import wait_for

from cilium_lab.cluster.connect import Connection, connect
from controlplane import ControlPlane, node_object

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]


@pytest.fixture
def admin(controlplane: ControlPlane) -> Connection:
    return connect(controlplane.kubeconfig, context="admin")


@pytest.fixture
def node(admin: Connection) -> Iterator[str]:
    """A Ready, schedulable Node (no kubelet behind it: the scheduler only reads the object)."""
    name = f"sched-{uuid.uuid4().hex[:6]}"
    body = node_object(name)
    status = body.pop("status")
    admin.core.create_node(body)
    admin.core.patch_node_status(name, {"status": status})
    try:
        yield name
    finally:
        admin.core.delete_node(name)


def _pod(name: str) -> dict:
    return {
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
    }


def test_pod_bound_by_scheduler(admin: Connection, node: str):
    name = f"unbound-{uuid.uuid4().hex[:6]}"
    created = admin.core.create_namespaced_pod("default", _pod(name))
    try:
        assert not created.spec.node_name  # nobody named a node: binding it is the scheduler's job
        bound = wait_for(lambda: admin.core.read_namespaced_pod(name, "default").spec.node_name, timeout=60)
        assert bound == node
        events = admin.core.list_namespaced_event(
            "default", field_selector=f"involvedObject.name={name},reason=Scheduled"
        ).items
        assert [e.reporting_component or e.source.component for e in events] == ["default-scheduler"]
    finally:
        admin.core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_daemonset_pods_bound(admin: Connection, node: str):
    name = f"ds-{uuid.uuid4().hex[:6]}"
    template = _pod(name)
    del template["metadata"]["name"]
    admin.apps.create_namespaced_daemon_set(
        "default",
        {
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
        },
    )
    try:

        def pod_on_node() -> k8s.V1Pod | None:
            pods = admin.core.list_namespaced_pod("default", label_selector=f"app={name}").items
            return next((p for p in pods if p.spec.node_name == node), None)

        pod = wait_for(pod_on_node, timeout=60)
        # the DaemonSet controller pins the pod to the node by affinity; the scheduler binds it
        terms = pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
        assert [f.values for t in terms for f in t.match_fields] == [[node]]

        # and counts it as scheduled in the DaemonSet's status, as rollout status reads it
        def counted() -> bool:
            return (
                admin.apps.read_namespaced_daemon_set(name, "default").status.current_number_scheduled or 0
            ) >= 1

        wait_for(counted, timeout=30)
    finally:
        admin.apps.delete_namespaced_daemon_set(name, "default", propagation_policy="Foreground")
