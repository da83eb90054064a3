"""Shared by the restore tests: the series up to a scoped BPF host routing change on the embedded cluster,
and the cluster's config state read straight from the API (to assert that nothing changed)."""

from __future__ import annotations

from cilium_lab.change import outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import configmaps, discover, nodeconfig, objects, rollout, snapshot

NS, CM, VERSION = "kube-system", "cilium-config", "1.13.4"
VMS, BOARDS = ("vm-1", "vm-2", "vm-3"), ("board-1", "board-2", "board-3")
SCOPED = "cilium-lab-bpf-host-routing"  # the CiliumNodeConfig of BPF host routing narrowed to the VMs
TAKES = "cilium-lab.io/takes-bpf-host-routing"
OURS = ("cilium-lab.io/takes-", "cilium-lab.io/canary-")  # the node labels our changes set


def apply(conn, item, tmp_path, **params) -> change_apply.ApplyReport:
    report = change_apply.apply(
        conn, plan(snapshot.take(conn), item, **params), approved=True, timeout=20, results_dir=str(tmp_path)
    )
    assert report.outcome == outcomes.APPLIED, report.to_text()
    return report


def series(conn, tmp_path) -> tuple[change_apply.ApplyReport, change_apply.ApplyReport]:
    """Labs 01-03 with legacy host routing pinned, then lab 06 on the mixed fleet: BPF host routing goes to
    the VMs only, through a CiliumNodeConfig (the boards' kernel cannot take it). Returns the reports of
    the cluster-wide BPF masquerading change and of the scoped BPF host routing change."""
    apply(conn, "native-routing", tmp_path, pod_cidr="10.42.0.0/16")
    apply(conn, "kube-proxy-replacement", tmp_path)
    # pinned by an operator, so that BPF host routing is a change (Cilium would pick it by itself)
    configmaps.patch(conn, NS, CM, {"enable-host-legacy-routing": "true"})
    rollout.restart(conn, NS, "cilium")
    assert rollout.wait(conn, discover.find(conn), timeout=20).state == rollout.DONE
    masquerade = apply(conn, "bpf-masquerade", tmp_path)
    host_routing = apply(conn, "bpf-host-routing", tmp_path)
    assert [objects.name_of(c) for c in nodeconfig.list_all(conn, NS, VERSION)] == [SCOPED]
    return masquerade, host_routing


def agents(conn) -> dict[str, str]:
    """node -> its agent pod's uid."""
    listing = objects.request(
        conn,
        conn.core.list_namespaced_pod,
        NS,
        label_selector="k8s-app=cilium",
        verb="list",
        resource="pods",
        namespace=NS,
    )
    return {
        p["spec"]["nodeName"]: p["metadata"]["uid"]
        for p in listing["items"]
        if not p["metadata"].get("deletionTimestamp")
    }


def our_labels(conn) -> dict[str, dict[str, str]]:
    return {
        objects.name_of(n): {k: v for k, v in objects.labels(n).items() if k.startswith(OURS)}
        for n in discover.list_nodes(conn)
    }


def state(conn) -> dict:
    """Everything a restore may change: cilium-config (data and resourceVersion), the ConfigMaps in the
    namespace (backups, lock), the node configs, our node labels, the agent pods."""
    cm = configmaps.read(conn, NS, CM)
    names = sorted(
        objects.name_of(c)
        for c in objects.request(
            conn, conn.core.list_namespaced_config_map, NS, verb="list", resource="configmaps", namespace=NS
        )["items"]
    )
    cncs = {objects.name_of(c): c["spec"] for c in nodeconfig.list_all(conn, NS, VERSION)}
    return {
        "cm": (cm.resource_version, cm.data),
        "configmaps": names,
        "cncs": cncs,
        "labels": our_labels(conn),
        "agents": agents(conn),
    }


def routing(conn) -> dict[str, tuple[str, str]]:
    """node -> (host routing, masquerading) as its agent reports them."""
    return {n.name: (n.status.host_routing, n.status.masquerading) for n in snapshot.take(conn).nodes}
