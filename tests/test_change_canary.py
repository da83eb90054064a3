"""A canary on the embedded cluster: only the canary nodes' agents restart, and a crash-looping canary is
rolled back (CiliumNodeConfig and node label gone, config as before)."""

from __future__ import annotations

from test_change_apply import clear_on_rollback

from cilium_lab.change import outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import configmaps, discover, nodeconfig, objects, rollout, snapshot

NS, CM = "kube-system", "cilium-config"
OTHERS = ("vm-2", "vm-3", "board-1", "board-2", "board-3")


def _agents(conn) -> dict[str, tuple[str, str, int]]:
    """node -> (pod name, uid, agent restart count), read straight from the pod list."""
    listing = objects.request(
        conn, conn.core.list_namespaced_pod, NS, label_selector="k8s-app=cilium",
        verb="list", resource="pods", namespace=NS,
    )  # fmt: skip
    out = {}
    for pod in listing["items"]:
        if not pod["metadata"].get("deletionTimestamp"):
            restarts = sum(s.get("restartCount", 0) for s in pod["status"].get("containerStatuses") or [])
            out[pod["spec"]["nodeName"]] = (pod["metadata"]["name"], pod["metadata"]["uid"], restarts)
    return out


def _node_labels(conn, node: str) -> dict[str, str]:
    return objects.labels(
        objects.request(conn, conn.core.read_node, node, verb="get", resource="nodes", name=node)
    )


def _apply(conn, snap, item, tmp_path, progress=None, **kwargs):
    planned = plan(snap, item, **kwargs)
    return change_apply.apply(
        conn, planned, approved=True, timeout=20, results_dir=str(tmp_path), progress=progress
    )


def _legacy_routing_after_prerequisites(conn, tmp_path) -> None:
    """The series up to lab 05, then an operator who pinned legacy host routing: every node on Legacy."""
    for item, params in (("native-routing", {"pod_cidr": "10.42.0.0/16"}), ("kube-proxy-replacement", {}),
                         ("bpf-masquerade", {})):  # fmt: skip
        assert _apply(conn, snapshot.take(conn), item, tmp_path, **params).outcome == outcomes.APPLIED
    configmaps.patch(conn, NS, CM, {"enable-host-legacy-routing": "true"})
    rollout.restart(conn, NS, "cilium")
    assert rollout.wait(conn, discover.find(conn), timeout=20).state == rollout.DONE


def test_canary_restarts_and_changes_only_its_node(conn, tmp_path):
    _legacy_routing_after_prerequisites(conn, tmp_path)
    snap = snapshot.take(conn)
    assert {n.status.host_routing for n in snap.nodes} == {"Legacy"}
    before, config = _agents(conn), configmaps.read(conn, NS, CM).data
    report = _apply(conn, snap, "bpf-host-routing", tmp_path, nodes=["vm-1"])
    assert report.outcome == outcomes.APPLIED
    assert report.nodes["vm-1"].outcome == outcomes.APPLIED
    assert {report.nodes[n].to_record()["reason"] for n in OTHERS} == {"outside the canary"}
    assert {report.nodes[n].outcome for n in OTHERS} == {outcomes.SKIPPED}
    after = _agents(conn)
    assert {n: after[n] for n in OTHERS} == {n: before[n] for n in OTHERS}  # same pods, uids, restarts
    assert after["vm-1"][:2] != before["vm-1"][:2]
    routing = {n.name: n.status.host_routing for n in snapshot.take(conn).nodes}
    assert routing == {"vm-1": "BPF", **dict.fromkeys(OTHERS, "Legacy")}
    assert configmaps.read(conn, NS, CM).data == config  # the change lives in the CiliumNodeConfig only
    assert _node_labels(conn, "vm-1")["cilium-lab.io/canary-bpf-host-routing"] == "true"
    assert not any(k.startswith("cilium-lab.io/canary") for n in OTHERS for k in _node_labels(conn, n))
    assert not any(s.startswith("restarted kube-system/cilium") for s in report.steps)  # no DaemonSet rollout
    assert report.warnings == [
        "Helm manages cilium-config: this canary lives in CiliumNodeConfig cilium-lab-canary-bpf-host-routing"
        " (not Helm's); to roll it out to every node, change the Helm values: helm upgrade cilium cilium/cilium"
        " --namespace kube-system --reuse-values --version 1.13.4 --set bpf.hostLegacyRouting=false"
    ]


def test_crash_looping_canary_is_rolled_back_and_leaves_no_trace(embedded, conn, tmp_path):
    snap = snapshot.take(conn)
    before, config = _agents(conn), configmaps.read(conn, NS, CM).data
    embedded.faults.crash_loop("vm-2")
    report = _apply(
        conn, snap, "kube-proxy-replacement", tmp_path, nodes=["vm-2"], progress=clear_on_rollback(embedded)
    )
    assert report.outcome == outcomes.ROLLED_BACK and "crash-loops on vm-2" in report.message
    assert report.nodes["vm-2"].outcome == outcomes.ROLLED_BACK
    assert nodeconfig.list_all(conn, NS, snap.cilium_version) == []
    assert not any(k.startswith("cilium-lab.io/canary") for k in _node_labels(conn, "vm-2"))
    assert configmaps.read(conn, NS, CM).data == config
    untouched = [n for n in before if n != "vm-2"]
    assert {n: _agents(conn)[n] for n in untouched} == {n: before[n] for n in untouched}
    deleted_pod = [s for s in report.steps if s.startswith("deleted agent pod")]
    assert len(deleted_pod) == 2 and all(s.endswith("on vm-2") for s in deleted_pod)  # change, then rollback


def test_two_canaries_on_one_node_keep_both_labels(conn, tmp_path):
    first = _apply(conn, snapshot.take(conn), "kube-proxy-replacement", tmp_path, nodes=["vm-1"])
    second = _apply(conn, snapshot.take(conn), "bandwidth-manager", tmp_path, nodes=["vm-1"])
    assert (first.outcome, second.outcome) == (outcomes.APPLIED, outcomes.APPLIED)
    labels = _node_labels(conn, "vm-1")
    assert labels["cilium-lab.io/canary-kube-proxy-replacement"] == "true"
    assert labels["cilium-lab.io/canary-bandwidth-manager"] == "true"
    vm1 = snapshot.take(conn).node("vm-1")
    assert (
        vm1.config["kube-proxy-replacement"] == "strict" and vm1.config["enable-bandwidth-manager"] == "true"
    )
