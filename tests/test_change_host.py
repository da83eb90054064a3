"""Lab 15's privileged host path on the embedded cluster, through its kubeconfig only: plan, approval, apply,
read-back, roll back per node, cleanup of the host pods, and the effect on an emulated TCP_RR benchmark.

Every benchmark number here is SIMULATED; the test checks the direction the model defines, not a value.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s

from cilium_lab.change import lock, outcomes
from cilium_lab.change.host import host_node
from cilium_lab.change.host import tuning as host
from cilium_lab.cluster import apierrors, privileged, snapshot
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.errors import InputError

BOARDS, VMS = ("board-1", "board-2", "board-3"), ("vm-1", "vm-2", "vm-3")
BENCH_IMAGE = "quay.io/cilium/network-perf:3.21-1782913202-88c270c"


def host_facts(conn) -> dict[str, dict[str, str]]:
    return {n.name: dict(n.host) for n in snapshot.take(conn).nodes}


def host_pods(conn) -> list[str]:
    return [p.metadata.name for p in conn.core.list_namespaced_pod(privileged.NAMESPACE).items]


def apply(conn, tmp_path, *, approved=True, **plan_kw):
    plan = host.plan_host(snapshot.take(conn), **plan_kw)
    return host.apply_host(conn, plan, approved=approved, results_dir=tmp_path, timeout=20)


def test_plan_lists_per_node_what_is_still_needed(conn):
    plan = host.plan_host(snapshot.take(conn))
    board, vm = plan.nodes["board-1"], plan.nodes["vm-1"]
    assert board.commands[:3] == ["apt-get install -y tuned  # tuned is not installed",
                                  "tuned-adm profile network-latency", host.GOVERNOR]  # fmt: skip
    assert host.IRQBALANCE not in board.commands and host.IRQBALANCE in vm.commands
    assert host.NO_CPUFREQ in vm.commands and any("no cpufreq" in c for c in vm.cannot)
    assert all("tuned is not installed" in c for p in plan.nodes.values() for c in p.cannot[:1])


def test_not_approved_changes_nothing(conn, tmp_path):
    before = host_facts(conn)
    report = apply(conn, tmp_path, approved=False)
    assert {o.outcome for o in report.nodes.values()} == {outcomes.SKIPPED}
    assert host_facts(conn) == before
    assert not (tmp_path / "host-backups").exists()


def test_approved_apply_tunes_what_each_node_can_and_says_why_not_the_rest(conn, tmp_path):
    report = apply(conn, tmp_path)
    assert report.outcome == outcomes.APPLIED and report.simulated
    after = host_facts(conn)
    for board in BOARDS:
        assert after[board]["cpu_governor"] == "performance"
        assert report.nodes[board].outcome == outcomes.APPLIED
    for vm in VMS:
        # snapshot keeps only zero-exit output, and `systemctl is-active` exits 3 for inactive: the fact is gone
        assert after[vm].get("irqbalance") != "active" and "cpu_governor" not in after[vm]
        assert "no cpufreq" in report.nodes[vm].reason
    assert all("tuned is not installed" in o.reason for o in report.nodes.values())
    saved = json.loads(Path(report.backup_path).read_text())
    assert saved["board-1"]["governors"] == ["ondemand"] * 4 and saved["vm-1"]["irqbalance"] == "active"
    assert host_pods(conn) == []
    again = host.plan_host(snapshot.take(conn)).nodes["board-1"]
    assert host.GOVERNOR not in again.commands  # the plan now knows the governor is done


def test_install_tuned_sets_the_profile_everywhere(conn, tmp_path):
    report = apply(conn, tmp_path, install_tuned=True, profile="latency-performance")
    assert report.outcome == outcomes.APPLIED, report.to_text()
    facts = host_facts(conn)
    assert {host_node.tuned_profile_of(f["tuned_profile"]) for f in facts.values()} == {"latency-performance"}


def test_a_refused_host_pod_fails_that_node_only_and_leaves_no_pod(embedded, conn, tmp_path):
    embedded.faults.forbid("create", "pods", times=1)  # the first node in name order: board-1
    report = apply(conn, tmp_path)
    assert report.nodes["board-1"].outcome == outcomes.FAILED
    assert (
        "nothing changed" in report.nodes["board-1"].reason
        and "forbidden" in report.nodes["board-1"].reason.lower()
    )
    assert report.nodes["board-2"].outcome == outcomes.APPLIED and report.outcome == outcomes.FAILED
    facts = host_facts(conn)
    assert (facts["board-1"]["cpu_governor"], facts["board-2"]["cpu_governor"]) == ("ondemand", "performance")
    assert host_pods(conn) == []


def test_a_failing_command_rolls_that_node_back(embedded, conn, tmp_path):
    embedded.faults.host_write_error("board-2", "irq.", times=1)  # the IRQ pinning fails once on board-2
    report = apply(conn, tmp_path)
    assert report.nodes["board-2"].outcome == outcomes.ROLLED_BACK, report.to_text()
    assert "restored" in report.nodes["board-2"].reason
    assert report.nodes["board-3"].outcome == outcomes.APPLIED
    facts = host_facts(conn)
    assert (facts["board-2"]["cpu_governor"], facts["board-3"]["cpu_governor"]) == ("ondemand", "performance")
    assert host_pods(conn) == []


def test_an_interrupt_restores_the_node_and_removes_its_pod(conn, tmp_path, monkeypatch):
    before = host_facts(conn)

    def interrupted(state):
        raise KeyboardInterrupt

    monkeypatch.setattr(host_node, "pin_commands", interrupted)
    report = apply(conn, tmp_path)  # the interrupt is the first one: rolled back, reported, exit 130
    assert report.exit_code == 130 and report.outcome == "rolled back", report.to_text()
    assert host_pods(conn) == [] and host_facts(conn) == before


def test_leftover_host_pods_are_swept(conn, tmp_path):
    privileged.ensure_namespace(conn)
    privileged.create(conn, "vm-2", image=host.DEFAULT_IMAGE, run_id="old-run")
    report = apply(conn, tmp_path, nodes=["vm-1"])
    assert any(privileged.pod_name("vm-2") in w for w in report.warnings) and host_pods(conn) == []


def test_bad_input_is_one_clear_line(conn):
    snap = snapshot.take(conn)
    with pytest.raises(InputError, match="unknown nodes nope"):
        host.plan_host(snap, nodes=["nope"])
    with pytest.raises(InputError, match="tuned profile name"):
        host.plan_host(snap, profile="rm -rf /")
    with pytest.raises(InputError, match="approved must be True or False"):
        host.apply_host(conn, host.plan_host(snap), approved="yes")


def _bench_pod(conn, name: str, node: str) -> str:
    body = {
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "perf", "image": BENCH_IMAGE}]},
    }
    conn.core.create_namespaced_pod("default", body)
    deadline = time.monotonic() + 10
    while not (pod := conn.core.read_namespaced_pod(name, "default")).status.pod_ip:
        assert time.monotonic() < deadline, f"{name} did not start"
        time.sleep(0.05)
    return pod.status.pod_ip


def _tcp_rr(conn, target: str) -> float:
    argv = ["netperf", "-H", target, "-l", "10", "-t", "TCP_RR", "--", "-o", "TRANSACTION_RATE"]
    rates = []
    for _ in range(5):
        out = pod_exec.run(conn, "default", "rr-client", argv)
        assert out.ok, out.stdout + out.stderr
        rates.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(rates)


def test_host_tuning_raises_the_simulated_tcp_rr_rate_between_boards(conn, tmp_path):
    _bench_pod(conn, "rr-client", "board-1")
    server = _bench_pod(conn, "rr-server", "board-2")
    before = _tcp_rr(conn, server)
    assert apply(conn, tmp_path, nodes=["board-1", "board-2"]).outcome == outcomes.APPLIED
    after = _tcp_rr(conn, server)
    assert after > before  # ondemand -> performance on both ends (data/perfmodel.yaml host.governor)


def test_a_user_without_the_host_role_is_refused_before_anything_changes(embedded, conn, tmp_path):
    token = embedded.add_user("viewer", ("cilium-lab-inspectors",))
    cfg = k8s.Configuration()
    cfg.host, cfg.ssl_ca_cert = conn.configuration.host, conn.configuration.ssl_ca_cert  # the cluster's CA
    cfg.api_key = {"authorization": f"Bearer {token}"}
    api = k8s.ApiClient(cfg)
    viewer = type(conn)(
        api, k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CustomObjectsApi(api), "viewer", conn.server
    )
    plan = host.plan_host(snapshot.take(conn), nodes=["vm-1"])
    with pytest.raises(apierrors.Forbidden):
        host.apply_host(viewer, plan, approved=True, results_dir=tmp_path, timeout=10)
    assert host_facts(conn)["vm-1"]["irqbalance"] == "active" and not (tmp_path / "host-backups").exists()


def test_host_tuning_is_refused_while_another_change_holds_the_lock(conn, tmp_path):
    facts = host_facts(conn)
    with lock.held(conn, "kube-system", purpose="another change"), pytest.raises(lock.LockHeld):
        apply(conn, tmp_path, nodes=["vm-1"])
    assert host_facts(conn) == facts and not (tmp_path / "host-backups").exists()
    assert apply(conn, tmp_path, nodes=["vm-1"]).outcome == outcomes.APPLIED  # the lock was released


def _as_seen(embedded, dump: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The emulated nodes' host settings as a node shows them: an IRQ pinned to every CPU reads the same as
    one never pinned while irqbalance is off (sim/shell/node_files.py `_affinity`), so the put-back of a
    pinned IRQ to the "0-3" it read before is the state before."""
    seen = {}
    for node, state in dump.items():
        every = f"0-{embedded.backend.hosts.node(node).cpus - 1}"
        spread = state.get("irqbalance") == "active" or state.get("irq_affinity") == "pinned"
        seen[node] = {k: v for k, v in state.items() if spread or not (k.startswith("irq.") and v == every)}
    return seen


@pytest.mark.parametrize("how", ["SIGINT", "KeyboardInterrupt"])
def test_an_interrupt_after_some_nodes_puts_back_all_of_them_and_the_one_in_flight(
    embedded, conn, tmp_path, monkeypatch, how
):
    """Two of six nodes tuned, the third in flight when the interrupt comes: those three are put back and
    read back, the three after them are never touched. A real SIGINT to this process lets the node in flight
    finish (the change stops at the next step); a KeyboardInterrupt (someone else's handler) stops it
    half way, and it puts itself back first."""
    order = sorted(host.plan_host(snapshot.take(conn)).nodes)
    tuned, in_flight, untouched = order[:2], order[2], order[3:]
    before = embedded.backend.hosts.dump()
    written: list[str] = []
    update = embedded.backend.hosts.update

    def spy(name, changes):
        written.append(name)
        return update(name, changes)

    monkeypatch.setattr(embedded.backend.hosts, "update", spy)
    pins, calls = host_node.pin_commands, []

    def interrupt_on_the_third_node(state):
        calls.append(state)
        if len(calls) == 3:  # board-3's settings are changed, its IRQs not yet pinned
            assert set(written) == {*tuned, in_flight}  # the test reached the point it means
            if how == "SIGINT":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt
        return pins(state)

    monkeypatch.setattr(host_node, "pin_commands", interrupt_on_the_third_node)
    report = apply(conn, tmp_path)
    assert report.exit_code == 130 and report.outcome == outcomes.ROLLED_BACK, report.to_text()
    assert report.interrupted == "SIGINT"
    after = _as_seen(embedded, embedded.backend.hosts.dump())
    assert after == _as_seen(embedded, before), report.to_text()  # every node as it was, its IRQs' CPUs too
    for node in [*tuned, in_flight]:
        assert report.nodes[node].outcome == outcomes.ROLLED_BACK, report.to_text()
    for node in untouched:
        assert report.nodes[node].outcome == outcomes.SKIPPED and "not changed" in report.nodes[node].reason
        assert not any(step.startswith(node) for step in report.steps)
    assert not set(untouched) & set(written)
    assert sorted(json.loads(Path(report.backup_path).read_text())) == [*tuned, in_flight]
    assert host_pods(conn) == []
