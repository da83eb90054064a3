"""The tuning series' change steps in order on the embedded cluster (seed-mixed), through plan -> apply.

The end state per node, as the series reports it: BPF host routing on the VMs, Legacy plus the
conntrack bypass on the boards; jumbo MTU, Bandwidth Manager and BBR in effect on the VMs only and
refused on the boards with reasons; XDP refused on the boards (st_gmac) and rolled back on the VMs
(the emulated virtio_net has no native XDP: the agent's attach fails); every agent running at the end;
and cilium-config never holding a value a board cannot take. Everything here is SIMULATED.
"""

from __future__ import annotations

import pytest

from cilium_lab import catalog
from cilium_lab.change import outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import configmaps, discover, rollout, snapshot
from cilium_lab.cluster.connect import connect
from cilium_lab.sim.control import perf_steps as perfmodel_steps

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
pytestmark = pytest.mark.slow  # about 45 s: fourteen changes, each a rollout and two snapshots
NS, CM = "kube-system", "cilium-config"
VMS, BOARDS = ("vm-1", "vm-2", "vm-3"), ("board-1", "board-2", "board-3")
POD_CIDR = object()  # filled from cilium-config's cluster-pool-ipv4-cidr, as the series' lab 01 does
STEPS = (
    ("native-routing", {"pod_cidr": POD_CIDR}),
    ("kube-proxy-replacement", {}),
    ("bpf-masquerade", {}),
    ("nodeport-dsr", {}),
    ("bypass-iptables-conntrack", {}),
    ("bpf-host-routing", {}),
    ("big-tcp", {}),
    ("hubble-overhead", {}),
    ("hubble-overhead", {"target": {"hubble": True}}),  # lab 08 switches Hubble back on
    ("jumbo-mtu", {}),
    ("bandwidth-manager", {}),
    ("bbr", {}),
    ("xdp-acceleration", {}),
    ("map-sizing", {"target": {"map_dynamic_size_ratio": 0.08}}),
)
# cilium-config values a board cannot take (device max MTU 1500, kernel 4.19, st_gmac without XDP)
BOARD_CANNOT_TAKE = {
    "mtu": lambda v: v.isdigit() and int(v) > 1500,
    "enable-bandwidth-manager": lambda v: v == "true",
    "enable-bbr": lambda v: v == "true",
    "bpf-lb-acceleration": lambda v: v == "native",
}


def _forced_on_boards(data: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in data.items() if k in BOARD_CANNOT_TAKE and BOARD_CANNOT_TAKE[k](v)}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """Run every step; yield (reports by step index, config seen after each step, final snapshot, conn)."""
    results = tmp_path_factory.mktemp("series")
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        conn = connect(str(cluster.kubeconfig))
        assert rollout.wait(conn, discover.find(conn), timeout=20).state == rollout.DONE
        reports, configs = [], []
        for item, kwargs in STEPS:
            snap = snapshot.take(conn)
            kwargs = {
                k: snap.config["cluster-pool-ipv4-cidr"] if v is POD_CIDR else v for k, v in kwargs.items()
            }
            planned = plan(snap, item, **kwargs)
            reports.append(
                change_apply.apply(conn, planned, approved=True, timeout=30, results_dir=str(results))
            )
            configs.append(configmaps.read(conn, NS, CM).data)
        yield reports, configs, snapshot.take(conn), conn


def _report(series, item):
    return [r for r in series[0] if r.item == item][-1]


def _states(snap, item):
    return {n.name: catalog.evaluate(item, n, cilium_version=snap.cilium_version).state for n in snap.nodes}


def test_host_routing_is_bpf_on_the_vms_and_legacy_with_the_conntrack_bypass_on_the_boards(series):
    final = series[2]
    assert {n.name: n.status.host_routing for n in final.nodes} == {
        **dict.fromkeys(VMS, "BPF"),
        **dict.fromkeys(BOARDS, "Legacy"),
    }
    assert {
        n: s for n, s in _states(final, "bypass-iptables-conntrack").items() if n in BOARDS
    } == dict.fromkeys(BOARDS, "enabled")
    host_routing = _report(series, "bpf-host-routing")
    assert all("older than 5.10" in host_routing.nodes[n].reason for n in BOARDS)
    assert {host_routing.nodes[n].outcome for n in BOARDS} == {outcomes.REFUSED}


@pytest.mark.parametrize(
    ("item", "board_reason"),
    [
        ("jumbo-mtu", "eth0 takes at most 1500 bytes"),
        ("bandwidth-manager", "older than 5.1,"),
        ("bbr", "older than 5.18"),
    ],
)
def test_vm_only_items_are_in_effect_on_the_vms_and_refused_on_the_boards(series, item, board_reason):
    report, final = _report(series, item), series[2]
    assert report.outcome == outcomes.APPLIED
    assert {n: report.nodes[n].outcome for n in VMS + BOARDS} == {
        **dict.fromkeys(VMS, outcomes.APPLIED),
        **dict.fromkeys(BOARDS, outcomes.REFUSED),
    }
    assert all(board_reason in report.nodes[n].reason for n in BOARDS)
    assert _states(final, item) == {**dict.fromkeys(VMS, "enabled"), **dict.fromkeys(BOARDS, "blocked")}


def test_the_vms_run_jumbo_frames_and_bbr_and_the_boards_do_not(series):
    final = series[2]
    assert {n.name: n.pod_mtu for n in final.nodes} == {
        **dict.fromkeys(VMS, 9000),
        **dict.fromkeys(BOARDS, 1500),
    }
    assert {n.name: (n.status.bandwidth_manager, n.status.congestion_control) for n in final.nodes} == {
        **dict.fromkeys(VMS, (True, "BBR")),
        **dict.fromkeys(BOARDS, (False, None)),
    }


def test_xdp_is_refused_on_the_boards_and_rolled_back_on_the_vms_with_the_driver_named(series):
    report = _report(series, "xdp-acceleration")
    assert report.outcome == outcomes.ROLLED_BACK
    assert {report.nodes[n].outcome for n in BOARDS} == {outcomes.REFUSED}
    assert all("NIC driver st_gmac on eth0" in report.nodes[n].reason for n in BOARDS)
    assert {report.nodes[n].outcome for n in VMS} == {outcomes.ROLLED_BACK}
    assert all("virtio_net" in report.nodes[n].reason for n in VMS)
    assert {n.name: n.status.xdp_acceleration for n in series[2].nodes} == dict.fromkeys(
        VMS + BOARDS, "Disabled"
    )


def test_every_agent_runs_at_the_end(series):
    final, conn = series[2], series[3]
    assert final.problems == {}
    assert all(n.status is not None and n.status.cilium_state == "Ok" for n in final.nodes)
    assert rollout.not_ready_nodes(conn, final.node_names) == {}


def test_cilium_config_never_held_a_value_a_board_cannot_take(series):
    reports, configs = series[0], series[1]
    assert [_forced_on_boards(c) for c in configs] == [{}] * len(STEPS)
    patched = [s for r in reports for s in r.steps if s.startswith(f"patched {NS}/{CM}")]
    assert not any(key in s for s in patched for key in BOARD_CANNOT_TAKE)


def test_hubble_is_on_again_and_map_sizing_reached_every_node(series):
    final = series[2]
    assert {n.status.hubble for n in final.nodes} == {"Ok"}
    assert _report(series, "map-sizing").outcome == outcomes.APPLIED
    assert {n.status.map_dynamic_size_ratio for n in final.nodes} == {0.08}


def test_the_perf_models_steps_table_names_the_classes_that_take_each_step(series):
    # data/perfmodel.yaml steps.*.fleet: a class takes a step unless one of its nodes refused it or rolled it back
    classes = {"virtio-vm": VMS, "arm64-board": BOARDS}
    for item in dict.fromkeys(item for item, _ in STEPS):
        report = next(r for r in series[0] if r.item == item)
        kept_out = {outcomes.REFUSED, outcomes.ROLLED_BACK}
        taken = [c for c, nodes in classes.items() if not {report.nodes[n].outcome for n in nodes} & kept_out]
        assert taken == perfmodel_steps.steps()[item]["fleet"], item
