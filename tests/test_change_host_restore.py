"""`change.host.host_restore` on the embedded cluster, through its kubeconfig only: lab 15's host tuning applied to
two nodes, then its saved host settings planned (nothing changes), restored (every setting back as saved,
read through the same host pods, the state before the restore saved to a new host backup that undoes it),
restored again (already as saved), restricted to one node, a failing write rolled back on its node, the
lock, the deploy/rbac.yaml roles (refused without the host role, nothing changed), and bad input."""

from __future__ import annotations

import json
import os
import signal
from contextlib import ExitStack
from pathlib import Path

import pytest
from test_change_host import host_facts, host_pods
from test_cluster_rbac import _kubeconfig

from cilium_lab.change import lock, outcomes
from cilium_lab.change.host import host_node, host_restore
from cilium_lab.change.host import tuning as host
from cilium_lab.cluster import apierrors, configmaps, privileged, snapshot
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError

TUNED = ("board-1", "vm-1")  # a board (cpufreq, no irqbalance) and a VM (irqbalance, no cpufreq)


def states(conn, nodes=TUNED) -> dict[str, host_node.HostState]:
    """Every host setting a restore puts back, read through the host pods (the snapshot has only some)."""
    snap, warnings = snapshot.take(conn), host.prepare(conn, privileged.NAMESPACE)
    found = {}
    for node in nodes:
        facts = snap.node(node)
        with ExitStack() as stack:
            shell = stack.enter_context(host.node_shell(
                conn, node, namespace=privileged.NAMESPACE, image=host.DEFAULT_IMAGE, timeout=20,
                run_id="test-read", warnings=warnings,
            ))  # fmt: skip
            found[node] = host_node.read(shell, host_node.irq_pattern(facts.device, facts.nic_driver))
    assert warnings == [] and host_pods(conn) == []
    return found


def tune(conn, results: Path) -> Path:
    """Lab 15's apply on TUNED; returns its host backup."""
    plan = host.plan_host(snapshot.take(conn), nodes=list(TUNED))
    report = host.apply_host(conn, plan, approved=True, results_dir=results, timeout=20)
    assert report.outcome == outcomes.APPLIED, report.to_text()
    return Path(report.backup_path)


def backups(results: Path) -> set[Path]:
    return set((results / "host-backups").glob("*.json"))


def test_plan_changes_nothing_and_the_restore_puts_both_nodes_back(conn, tmp_path):
    facts, saved_states = host_facts(conn), states(conn)
    results = tmp_path / "runs"
    path = tune(conn, results)
    tuned_facts, tuned_states = host_facts(conn), states(conn)
    assert tuned_facts != facts and tuned_states != saved_states

    plan = host_restore.plan_restore(conn, path, timeout=20)
    assert plan.outcome == host_restore.PLANNED and plan.simulated
    assert {n: o.outcome for n, o in plan.nodes.items()} == dict.fromkeys(TUNED, host_restore.PLANNED)
    assert f"echo ondemand > {host_node.GOVERNOR.format(0)}" in plan.nodes["board-1"].commands
    assert plan.nodes["vm-1"].commands == ("systemctl enable irqbalance", "systemctl start irqbalance")
    assert "planned - nothing changed; 2 of 2 node(s) differ" in plan.to_text()
    assert host_facts(conn) == tuned_facts and states(conn) == tuned_states
    assert backups(results) == {path} and host_pods(conn) == []

    report = host_restore.restore_host(conn, path, approved=True, results_dir=results, timeout=20)
    assert report.outcome == host_restore.RESTORED, report.to_text()
    assert {n: o.outcome for n, o in report.nodes.items()} == dict.fromkeys(TUNED, host_restore.RESTORED)
    assert all(o.differs == () and "read back as saved" in o.reason for o in report.nodes.values())
    assert host_facts(conn) == facts and states(conn) == saved_states
    assert host_restore.load(path).nodes == saved_states  # what lab 15 saved is what the nodes run again
    undo = Path(report.backup_path)
    assert backups(results) == {path, undo} and host_restore.load(undo).nodes == tuned_states
    assert host_pods(conn) == [] and f"saved in {undo}" in report.to_text()
    with pytest.raises(apierrors.NotFound):
        configmaps.read(conn, "kube-system", lock.NAME)  # the lock is released

    again = host_restore.restore_host(conn, path, approved=True, results_dir=results, timeout=20)
    assert again.outcome == host_restore.SKIPPED and again.backup_path == ""
    assert {o.reason for o in again.nodes.values()} == {host_restore.ALREADY}
    assert "already as saved, nothing changed - 2 node(s) already as saved" in again.to_text()
    assert backups(results) == {path, undo}

    # the restore's own backup undoes it: the nodes are tuned again
    redo = host_restore.restore_host(conn, undo, approved=True, results_dir=results, timeout=20)
    assert redo.outcome == host_restore.RESTORED and states(conn) == tuned_states


def test_nodes_restricts_the_restore(conn, tmp_path):
    path = tune(conn, tmp_path)
    tuned = states(conn)
    report = host_restore.restore_host(conn, path, approved=True, nodes=["vm-1"], results_dir=tmp_path, timeout=20)  # fmt: skip
    assert list(report.nodes) == ["vm-1"] and report.outcome == host_restore.RESTORED
    now, saved = states(conn), host_restore.load(path).nodes
    assert now["vm-1"] == saved["vm-1"] and now["board-1"] == tuned["board-1"]
    assert list(host_restore.load(report.backup_path).nodes) == ["vm-1"]


def test_a_failing_write_puts_that_node_back_as_before_the_restore(embedded, conn, tmp_path):
    path = tune(conn, tmp_path)
    tuned = states(conn)
    embedded.faults.host_write_error("board-1", "governor", times=1)  # after its IRQs were written back
    report = host_restore.restore_host(conn, path, approved=True, results_dir=tmp_path, timeout=20)
    board = report.nodes["board-1"]
    assert board.outcome == host_restore.ROLLED_BACK, report.to_text()
    assert "it is back as it was before this restore" in board.reason and "governor" in board.reason
    assert any("CPU governor performance" in d for d in board.differs)  # what still differs from the file
    assert report.nodes["vm-1"].outcome == host_restore.RESTORED and report.outcome == host_restore.FAILED
    now = states(conn)
    assert now["board-1"] == tuned["board-1"] and now["vm-1"] == host_restore.load(path).nodes["vm-1"]
    text = report.to_text()
    assert "failed - 1 node(s) restored, 1 node(s) rolled back" in text and "not as saved: " in text
    assert host_pods(conn) == []


def test_another_change_holding_the_lock_stops_it_before_anything_changes(conn, tmp_path):
    path = tune(conn, tmp_path)
    tuned, files = states(conn), backups(tmp_path)
    with (
        lock.held(conn, "kube-system", purpose="another change"),
        pytest.raises(lock.LockHeld, match="another change holds the lock"),
    ):
        host_restore.restore_host(conn, path, approved=True, results_dir=tmp_path, timeout=20)
    assert states(conn) == tuned and backups(tmp_path) == files


def test_the_host_role_is_needed_and_with_read_access_enough(embedded, conn, tmp_path):
    path = tune(conn, tmp_path / "runs")
    tuned, facts = states(conn), host_facts(conn)
    results = tmp_path / "restore"
    operator = connect(_kubeconfig(tmp_path, str(embedded.kubeconfig), embedded.add_user("op", ("cilium-lab-operators",))))  # fmt: skip
    with pytest.raises(apierrors.Forbidden):
        host_restore.plan_restore(operator, path, timeout=20)
    with pytest.raises(apierrors.Forbidden):
        host_restore.restore_host(operator, path, approved=True, results_dir=results, timeout=20)
    assert states(conn) == tuned and host_facts(conn) == facts and not results.exists()
    with pytest.raises(apierrors.NotFound):
        configmaps.read(conn, "kube-system", lock.NAME)

    (tmp_path / "host").mkdir()
    groups = (
        "cilium-lab-inspectors",
        "cilium-lab-status-readers",
        "cilium-lab-host-operators",
    )  # lock: host role
    root = connect(
        _kubeconfig(tmp_path / "host", str(embedded.kubeconfig), embedded.add_user("root", groups))
    )
    report = host_restore.restore_host(root, path, approved=True, results_dir=results, timeout=20)
    assert report.outcome == host_restore.RESTORED, report.to_text()
    assert states(conn) == host_restore.load(path).nodes


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "bad" / f"host-{len(list(tmp_path.glob('bad/*')))}.json"  # not among the run's backups
    path.parent.mkdir(exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_bad_input_is_one_clear_line_and_changes_nothing(conn, tmp_path):
    path = tune(conn, tmp_path)
    tuned, files = states(conn), backups(tmp_path)
    saved = json.loads(path.read_text())
    cases = [
        (tmp_path / "nope.json", "no host backup file"),
        (_write(tmp_path, "not json"), "is not a host backup \\(not JSON"),
        (_write(tmp_path, {"data": {"k": "v"}, "stamp": "x"}), "is not a host backup"),  # a Cilium backup
        (_write(tmp_path, {}), "is not a host backup"),
        (_write(tmp_path, {"vm-1": {**saved["vm-1"], "tuned": "x; reboot"}}), "tuned must be a profile name"),
        (
            _write(tmp_path, {"vm-1": {**saved["vm-1"], "irqs": {"40": "0 > /etc/x"}}}),
            "IRQ 40: .0 > /etc/x. is not a CPU list",
        ),
        (_write(tmp_path, {**saved, "ghost-1": saved["vm-1"]}), "node ghost-1 in .* is not in this cluster"),
    ]
    for bad, message in cases:
        for approved in (False, True):
            with pytest.raises(InputError, match=message) as err:
                host_restore.restore_host(conn, bad, approved=approved, results_dir=tmp_path, timeout=20)
            assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="has no saved host settings for vm-2: it has board-1, vm-1"):
        host_restore.restore_host(conn, path, approved=True, nodes=["vm-2"], results_dir=tmp_path, timeout=20)
    with pytest.raises(InputError, match="approved must be True or False"):
        host_restore.restore_host(conn, path, approved="yes", results_dir=tmp_path)
    with pytest.raises(InputError, match="nodes must be a list"):
        host_restore.restore_host(conn, path, approved=True, nodes="vm-1", results_dir=tmp_path)
    assert states(conn) == tuned and backups(tmp_path) == files


def test_a_sigint_during_the_first_node_puts_it_back_as_before_the_restore(conn, tmp_path, monkeypatch):
    """The node in flight when Ctrl-C comes finishes its restore, the change stops at the next step, and the
    undo puts that node back as it was before the restore (its outcome was lost before: the undo skipped
    it and the report said "not changed"); the node after it is never touched."""
    results = tmp_path / "runs"
    path = tune(conn, results)
    tuned = states(conn)
    commands, calls = host_node.restore_commands, []

    def interrupt_the_first(saved, now):
        calls.append(now)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the handler of the change only notes it
        return commands(saved, now)

    monkeypatch.setattr(host_node, "restore_commands", interrupt_the_first)
    report = host_restore.restore_host(conn, path, approved=True, results_dir=results, timeout=20)
    assert report.exit_code == 130, report.to_text()
    assert report.nodes["board-1"].outcome == host_restore.ROLLED_BACK, report.to_text()
    assert report.nodes["vm-1"].outcome == host_restore.SKIPPED
    assert states(conn) == tuned and host_pods(conn) == []
