"""A change some nodes cannot take is not forced on them (embedded cluster, seed-mixed: the boards' eth0
takes at most 1500 bytes, their kernel is 4.19): it goes to the capable nodes through a CiliumNodeConfig,
cilium-config stays as it was, and the blocked nodes are refused with the reason. When every node can
take it, cilium-config is patched as before; when none can, nothing changes."""

from __future__ import annotations

import pytest
from test_change_apply import clear_on_rollback

from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import configmaps, discover, nodeconfig, objects, snapshot
from cilium_lab.errors import InputError

NS, CM = "kube-system", "cilium-config"
VMS, BOARDS = ("vm-1", "vm-2", "vm-3"), ("board-1", "board-2", "board-3")
JUMBO_NOTE = (
    "board-1, board-2, board-3 cannot take jumbo-mtu (eth0 takes at most 1500 bytes; Jumbo-frame MTU needs"
    " 9000 (jumbo frames on the node's device)): the change goes to vm-1, vm-2, vm-3 only, through"
    " CiliumNodeConfig cilium-lab-jumbo-mtu; cilium-config is unchanged"
)


def _apply(conn, tmp_path, item, progress=None, **kwargs):
    planned = plan(snapshot.take(conn), item, **kwargs)
    return change_apply.apply(
        conn, planned, approved=True, timeout=20, results_dir=str(tmp_path), progress=progress
    )


def _labels(conn, node):
    return objects.labels(
        objects.request(conn, conn.core.read_node, node, verb="get", resource="nodes", name=node)
    )


def _agents(conn):
    return {n: p.name for n, p in discover.agent_pods(conn, NS, {"k8s-app": "cilium"}).items()}


def test_jumbo_mtu_goes_to_the_vms_only_and_cilium_config_is_unchanged(conn, tmp_path):
    config, boards_before = configmaps.read(conn, NS, CM).data, {n: _agents(conn)[n] for n in BOARDS}
    planned = plan(snapshot.take(conn), "jumbo-mtu")
    assert planned.scoped == VMS and planned.refused == BOARDS and planned.scope_note == JUMBO_NOTE
    assert planned.node_config["spec"] == {
        "nodeSelector": {"matchLabels": {"cilium-lab.io/takes-jumbo-mtu": "true"}},
        "defaults": {"mtu": "9000"},
    }
    assert JUMBO_NOTE in planned.to_text() and "the CiliumNodeConfig is outside Helm" in planned.to_text()
    assert JUMBO_NOTE.replace("'", "&#x27;") in planned.to_html()
    report = change_apply.apply(conn, planned, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome == outcomes.APPLIED
    assert {n: report.nodes[n].outcome for n in VMS + BOARDS} == {
        **dict.fromkeys(VMS, outcomes.APPLIED), **dict.fromkeys(BOARDS, outcomes.REFUSED)
    }  # fmt: skip
    assert "eth0 takes at most 1500 bytes" in report.nodes["board-1"].reason
    assert configmaps.read(conn, NS, CM).data == config
    assert {n: _agents(conn)[n] for n in BOARDS} == boards_before  # the boards' agents never restarted
    after = snapshot.take(conn)
    assert {n.name: n.pod_mtu for n in after.nodes} == {
        **dict.fromkeys(VMS, 9000),
        **dict.fromkeys(BOARDS, 1500),
    }
    assert [n for n in VMS + BOARDS if "cilium-lab.io/takes-jumbo-mtu" in _labels(conn, n)] == list(VMS)
    assert "CiliumNodeConfig cilium-lab-jumbo-mtu, outside Helm" in report.warnings[0]


def test_every_node_able_patches_cilium_config_as_before(conn):
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    assert (planned.node_config, planned.scoped, planned.scope_note) == (None, (), "")
    assert planned.changes == {"kube-proxy-replacement": "strict"}


def test_no_node_able_changes_nothing_and_refuses_every_node(conn, tmp_path):
    config = configmaps.read(conn, NS, CM)
    planned = plan(snapshot.take(conn), "big-tcp")
    assert planned.nothing_to_do and "no node in scope can take it, so nothing changes" in planned.scope_note
    report = change_apply.apply(conn, planned, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome == outcomes.REFUSED
    assert {o.outcome for o in report.nodes.values()} == {outcomes.REFUSED}
    assert "NIC driver virtio_net on enp1s0" in report.nodes["vm-1"].reason
    assert configmaps.read(conn, NS, CM).resource_version == config.resource_version
    assert nodeconfig.list_all(conn, NS, "1.13.4") == []


def test_a_canary_with_a_board_in_it_goes_to_its_vm_only(conn):
    planned = plan(snapshot.take(conn), "jumbo-mtu", nodes=["vm-1", "board-1"])
    assert planned.canary == ("vm-1", "board-1") and planned.selected == ("vm-1",)
    assert planned.node_config["metadata"]["name"] == "cilium-lab-canary-jumbo-mtu"
    assert planned.node_label == "cilium-lab.io/canary-jumbo-mtu"
    assert planned.expected["board-1"].outcome == outcomes.REFUSED
    assert planned.expected["vm-2"].reason == "outside the canary"


def test_a_crash_on_a_capable_node_rolls_back_the_node_config_and_leaves_the_boards_refused(
    embedded, conn, tmp_path
):
    config = configmaps.read(conn, NS, CM).data
    embedded.faults.crash_loop("vm-2")
    report = _apply(conn, tmp_path, "jumbo-mtu", progress=clear_on_rollback(embedded))
    assert report.outcome == outcomes.ROLLED_BACK and "crash-loops on vm-2" in report.message
    assert report.nodes["vm-2"].reason.endswith("this node's device: enp1s0 (virtio_net)")
    assert {report.nodes[n].outcome for n in BOARDS} == {outcomes.REFUSED}
    assert nodeconfig.list_all(conn, NS, "1.13.4") == []
    assert not any("cilium-lab.io/takes-jumbo-mtu" in _labels(conn, n) for n in VMS)
    assert configmaps.read(conn, NS, CM).data == config


def test_a_prerequisite_an_earlier_node_config_set_counts_on_its_nodes(conn, tmp_path):
    for item in ("kube-proxy-replacement", "bpf-masquerade"):
        assert _apply(conn, tmp_path, item).outcome == outcomes.APPLIED
    assert _apply(conn, tmp_path, "bandwidth-manager").outcome == outcomes.APPLIED  # VMs only
    snap = snapshot.take(conn)
    assert snap.config.get("enable-bandwidth-manager") != "true"
    assert snap.node("vm-1").config["enable-bandwidth-manager"] == "true"  # effective: cilium-config + CNC
    bbr = plan(snap, "bbr")  # needs the Bandwidth Manager, which only the VMs' CNC turns on: no refusal
    assert bbr.scoped == VMS and bbr.node_config["metadata"]["name"] == "cilium-lab-bbr"
    report = change_apply.apply(conn, bbr, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome == outcomes.APPLIED
    after = snapshot.take(conn)
    for node in after.nodes:
        state = catalog.evaluate("bbr", node, cilium_version=after.cilium_version).state
        assert state == ("enabled" if node.name in VMS else "blocked"), node.name


def test_an_existing_node_config_of_the_same_name_is_a_clear_error(conn, tmp_path):
    snap = snapshot.take(conn)
    body = nodeconfig.manifest("cilium-lab-jumbo-mtu", NS, "1.13.4", {"x": "y"}, {"mtu": "9000"})
    taken = type(snap)(**{**snap.__dict__, "node_configs": (body,)})
    with pytest.raises(
        InputError, match=r"^CiliumNodeConfig kube-system/cilium-lab-jumbo-mtu already exists"
    ):
        plan(taken, "jumbo-mtu")
