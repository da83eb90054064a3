"""plan -> apply on the embedded cluster through its kubeconfig: refusals, rollback, lock, RBAC 403, bad input.

Every bad input must give a one-line LabError and leave cilium-config exactly as it was. Tests that
need the emulated agents' status skip until the emulator's agent shell answers `cilium status`.
"""

from __future__ import annotations

import math

import pytest

from cilium_lab.change import lock, outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import apierrors, configmaps, snapshot
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import ClusterError, LabError

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
NS, CM = "kube-system", "cilium-config"
VMS, BOARDS = ("vm-1", "vm-2", "vm-3"), ("board-1", "board-2", "board-3")


def _state(conn):
    cm = configmaps.read(conn, NS, CM)
    return cm.resource_version, cm.data


def _needs_agents(snap):
    if any(n.status is None for n in snap.nodes):
        pytest.skip("the emulated agents do not answer `cilium status` yet")


def clear_on_rollback(embedded):
    """A progress callback that clears the faults when the rollback begins: the fault stood for the
    change's own config, so the backup's config runs again (a fault that stays fails the rollback too)."""

    def progress(line: str) -> None:
        if line.startswith("rolling back"):
            embedded.faults.clear()

    return progress


def _apply(conn, item, tmp_path, timeout=20.0, **kwargs):
    snap = snapshot.take(conn)
    return change_apply.apply(
        conn, plan(snap, item, **kwargs), approved=True, timeout=timeout, results_dir=str(tmp_path)
    )


def test_not_approved_changes_nothing(conn, tmp_path):
    before = _state(conn)
    report = change_apply.apply(
        conn, plan(snapshot.take(conn), "kube-proxy-replacement"), approved=False, results_dir=str(tmp_path)
    )
    assert report.outcome == outcomes.SKIPPED and report.message.startswith(
        "not applied: run with approve=True"
    )
    assert _state(conn) == before


def test_forbidden_patch_is_clear_and_changes_nothing(embedded, conn, tmp_path):
    before = _state(conn)
    embedded.faults.forbid("patch", "configmaps")
    with pytest.raises(
        apierrors.Forbidden, match=r"^forbidden: cannot patch configmaps in kube-system; the operator role"
    ):
        _apply(conn, "kube-proxy-replacement", tmp_path)
    assert _state(conn) == before
    with pytest.raises(apierrors.NotFound):
        configmaps.read(conn, NS, lock.NAME)  # the lock was released


def test_second_concurrent_apply_is_refused_by_the_lock(conn, tmp_path):
    before = _state(conn)
    held = lock.acquire(conn, NS, holder="first@lab", purpose="apply bpf-masquerade")
    try:
        with pytest.raises(lock.LockHeld, match="first@lab since"):
            _apply(conn, "kube-proxy-replacement", tmp_path)
    finally:
        lock.release(conn, held)
    assert _state(conn) == before


def test_crash_loop_is_rolled_back_and_config_restored_exactly(embedded, conn, tmp_path):
    snap = snapshot.take(conn)
    _needs_agents(snap)
    _, data = _state(conn)
    embedded.faults.crash_loop("vm-2")
    report = change_apply.apply(conn, plan(snap, "native-routing", pod_cidr="10.42.0.0/16"), approved=True,
                                timeout=20, results_dir=str(tmp_path), progress=clear_on_rollback(embedded))  # fmt: skip
    assert report.outcome == outcomes.ROLLED_BACK and "crash-loops on vm-2" in report.message
    assert _state(conn)[1] == data  # added keys removed, changed keys restored


def test_rollout_timeout_is_rolled_back(embedded, conn, tmp_path):
    snap = snapshot.take(conn)
    _needs_agents(snap)
    _, data = _state(conn)
    embedded.faults.stuck_rollout()
    report = change_apply.apply(
        conn, plan(snap, "kube-proxy-replacement"), approved=True, timeout=2, results_dir=str(tmp_path),
        progress=clear_on_rollback(embedded),
    )  # fmt: skip
    assert report.outcome == outcomes.ROLLED_BACK and "did not finish within 2s" in report.message
    assert _state(conn)[1] == data


def test_series_ends_with_bpf_host_routing_on_vms_and_legacy_on_boards(conn, tmp_path):
    _needs_agents(snapshot.take(conn))
    assert _apply(conn, "native-routing", tmp_path, pod_cidr="10.42.0.0/16").outcome == outcomes.APPLIED
    assert _apply(conn, "kube-proxy-replacement", tmp_path).outcome == outcomes.APPLIED
    assert _apply(conn, "bpf-masquerade", tmp_path).outcome == outcomes.APPLIED
    # Cilium turns BPF host routing on by itself once KPR and BPF masquerading are in (PR #13330), so
    # the last step may find nothing to change on the VMs; the boards must be refused for their kernel.
    host_routing = plan(snapshot.take(conn), "bpf-host-routing")
    assert all(host_routing.expected[n].outcome == outcomes.REFUSED for n in BOARDS)
    assert all("kernel" in host_routing.expected[n].reason for n in BOARDS)
    report = change_apply.apply(conn, host_routing, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome in {outcomes.APPLIED, outcomes.REFUSED, outcomes.SKIPPED}
    assert all(report.nodes[n].outcome in {outcomes.APPLIED, outcomes.SKIPPED} for n in VMS)
    after = snapshot.take(conn)
    assert {n.name: n.status.host_routing for n in after.nodes} == {
        **dict.fromkeys(VMS, "BPF"),
        **dict.fromkeys(BOARDS, "Legacy"),
    }


# (what is wrong, a function of (conn, snapshot, tmp_path) that must raise a one-line LabError)
BAD_INPUTS = {
    "item id not a string": lambda c, s, t: plan(s, 3.5),
    "item id a bool": lambda c, s, t: plan(s, True),
    "unknown item": lambda c, s, t: plan(s, "turbo-mode"),
    "overview is not a change": lambda c, s, t: plan(s, "overview"),
    "summary is not a change": lambda c, s, t: plan(s, "summary"),
    "snapshot not a Snapshot": lambda c, s, t: plan({"nodes": []}, "kube-proxy-replacement"),
    "empty canary": lambda c, s, t: plan(s, "kube-proxy-replacement", nodes=[]),
    "canary as a string": lambda c, s, t: plan(s, "kube-proxy-replacement", nodes="vm-1"),
    "unknown canary node": lambda c, s, t: plan(s, "kube-proxy-replacement", nodes=["vm-9"]),
    "canary node not a string": lambda c, s, t: plan(s, "kube-proxy-replacement", nodes=[1]),
    "target not a dict": lambda c, s, t: plan(s, "kube-proxy-replacement", target=["kube_proxy_replacement"]),
    "empty target": lambda c, s, t: plan(s, "kube-proxy-replacement", target={}),
    "unknown setting": lambda c, s, t: plan(s, "kube-proxy-replacement", target={"warp_drive": True}),
    "MTU 100000": lambda c, s, t: plan(s, "jumbo-mtu", target={"mtu": 100000}),
    "MTU negative": lambda c, s, t: plan(s, "jumbo-mtu", target={"mtu": -1}),
    "MTU a string": lambda c, s, t: plan(s, "jumbo-mtu", target={"mtu": "big"}),
    "routing mode unknown": lambda c, s, t: plan(s, "native-routing", target={"routing": "wormhole"}),
    "unknown parameter": lambda c, s, t: plan(s, "kube-proxy-replacement", colour="red"),
    "missing pod_cidr": lambda c, s, t: plan(s, "native-routing"),
    "prerequisite missing": lambda c, s, t: plan(s, "bpf-host-routing"),
    "approve not a bool": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved="yes"
    ),
    "approve missing value None": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=None
    ),
    "negative timeout": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, timeout=-1
    ),
    "zero timeout": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, timeout=0
    ),
    "infinite timeout": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, timeout=math.inf
    ),
    "timeout a string": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, timeout="5"
    ),
    "progress not callable": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, progress=3
    ),
    "plan not a Plan": lambda c, s, t: change_apply.apply(c, {"item": "x"}, approved=True),
    "conn not a Connection": lambda c, s, t: change_apply.apply(
        "kube", plan(s, "kube-proxy-replacement"), approved=True
    ),
    "empty results_dir": lambda c, s, t: change_apply.apply(
        c, plan(s, "kube-proxy-replacement"), approved=True, results_dir=""
    ),
    "missing kubeconfig": lambda c, s, t: connect(str(t / "missing.yaml")),
    "kubeconfig not a string": lambda c, s, t: connect(42),
    "unknown context": lambda c, s, t: connect(c.kubeconfig, "production"),
    "unreachable server": lambda c, s, t: connect(_unreachable_kubeconfig(t)),
    "stale plan": lambda c, s, t: change_apply.apply(c, _stale_plan(c, s), approved=True, results_dir=str(t)),
}


def _unreachable_kubeconfig(tmp_path):
    path = tmp_path / "unreachable.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    return str(path)


def _stale_plan(conn, snap):
    planned = plan(snap, "kube-proxy-replacement")
    return type(planned)(**{**planned.__dict__, "config_resource_version": "0"})


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        conn = connect(str(cluster.kubeconfig))
        yield conn, snapshot.take(conn)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_changes_nothing(shared, tmp_path, case):
    conn, snap = shared
    before = _state(conn)
    with pytest.raises(LabError) as caught:
        BAD_INPUTS[case](conn, snap, tmp_path)
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 600
    assert _state(conn) == before
    if isinstance(caught.value, ClusterError) and case != "stale plan":
        assert "kubeconfig" in message or "context" in message or "reach" in message
