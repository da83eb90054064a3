"""The Cilium DaemonSet on the embedded cluster: rollouts, config re-reads, and the rollout faults."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from kubernetes import client, config, watch
from waiting import wait_for

from cilium_lab.sim.cluster import EmbeddedCluster


@pytest.fixture
def cluster():
    with EmbeddedCluster("seed-mixed", seed=3) as c:
        yield c


@pytest.fixture
def api(cluster):
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")
    return client.CoreV1Api(api_client), client.AppsV1Api(api_client)


def rolled_out(apps) -> bool:
    ds = apps.read_namespaced_daemon_set("cilium", "kube-system")
    s = ds.status
    return (
        s.observed_generation >= ds.metadata.generation
        and s.updated_number_scheduled == s.desired_number_scheduled == (s.number_available or 0)
    )


def restart(apps) -> None:
    stamp = datetime.now(UTC).isoformat()
    patch = {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}
    }
    apps.patch_namespaced_daemon_set("cilium", "kube-system", patch)


def agents(core) -> dict[str, object]:
    return {
        p.spec.node_name: p
        for p in core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items
    }


def test_one_running_agent_per_node(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    pods = agents(core)
    assert set(pods) == {n.name for n in cluster.profile.nodes}
    assert all(p.spec.host_network and p.status.pod_ip == p.status.host_ip for p in pods.values())
    assert all(p.spec.containers[0].image == "quay.io/cilium/cilium:v1.13.4" for p in pods.values())


def test_restart_replaces_pods_node_by_node_and_they_reread_the_config(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    before = {n: p.metadata.uid for n, p in agents(core).items()}
    core.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"enable-hubble": "false"}})
    generation = apps.read_namespaced_daemon_set("cilium", "kube-system").metadata.generation
    restart(apps)
    progress = []
    w = watch.Watch()
    for event in w.stream(apps.list_namespaced_daemon_set, "kube-system", timeout_seconds=20):
        s = event["object"].status
        progress.append((s.updated_number_scheduled or 0, s.number_available or 0))
        if s.observed_generation == generation + 1 and (s.updated_number_scheduled, s.number_available) == (
            6,
            6,
        ):
            w.stop()
    updated_counts = sorted({u for u, _ in progress})
    assert updated_counts[-1] == 6 and len(updated_counts) >= 4  # observed in steps, not at once
    assert all(available >= 5 for _, available in progress[1:])  # maxUnavailable 1
    after = agents(core)
    assert all(after[n].metadata.uid != uid for n, uid in before.items())
    assert all(
        cluster.backend.boot_configs[p.metadata.uid]["enable-hubble"] == "false" for p in after.values()
    )


def test_crash_loop_fault_shows_in_pod_status_and_logs(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    cluster.faults.crash_loop("vm-2")
    restart(apps)

    def crashing():
        pod = agents(core).get("vm-2")
        cs = pod and pod.status.container_statuses
        return cs and cs[0].state.waiting and cs[0].restart_count >= 1 and pod

    pod = wait_for(crashing)
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff" and not status.ready
    log = core.read_namespaced_pod_log(pod.metadata.name, "kube-system")
    assert "level=fatal" in log.splitlines()[-1]
    time.sleep(0.3)
    assert not rolled_out(apps)
    cluster.faults.clear()
    wait_for(lambda: rolled_out(apps))


def test_stuck_rollout_leaves_new_pods_pending(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    cluster.faults.stuck_rollout()
    restart(apps)
    wait_for(lambda: any(p.status.phase == "Pending" for p in agents(core).values()))
    time.sleep(0.5)
    ds = apps.read_namespaced_daemon_set("cilium", "kube-system").status
    assert ds.updated_number_scheduled == 1 and ds.number_available == 5
    assert sum(p.status.phase == "Pending" for p in agents(core).values()) == 1
    cluster.faults.stuck_rollout(False)
    wait_for(lambda: rolled_out(apps))


def test_not_ready_node(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    cluster.faults.node_not_ready("board-3")

    def node_status():
        node = core.read_node("board-3")
        return next(c.status for c in node.status.conditions if c.type == "Ready") == "False"

    wait_for(node_status)
    wait_for(lambda: not agents(core)["board-3"].status.container_statuses[0].ready)
    assert apps.read_namespaced_daemon_set("cilium", "kube-system").status.number_available == 5


def test_cilium_node_config_overrides_reach_the_selected_nodes_only(api, cluster):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    custom = client.CustomObjectsApi(core.api_client)
    body = {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumNodeConfig",
        "metadata": {"name": "boards"},
        "spec": {
            "nodeSelector": {"matchLabels": {"kubernetes.io/arch": "arm64"}},
            "defaults": {"enable-hubble": "false"},
        },
    }
    custom.create_namespaced_custom_object("cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs", body)
    restart(apps)
    time.sleep(0.1)
    wait_for(lambda: rolled_out(apps))
    configs = {n: cluster.backend.boot_configs[p.metadata.uid] for n, p in agents(core).items()}
    assert configs["board-1"]["enable-hubble"] == "false"
    assert configs["vm-1"]["enable-hubble"] == "true"


def test_deleting_the_daemonset_takes_its_pods(api):
    core, apps = api
    wait_for(lambda: rolled_out(apps))
    apps.delete_namespaced_daemon_set("cilium", "kube-system")
    wait_for(lambda: not agents(core))
