"""Restoring a backup through the library on the embedded cluster: plan without approval changes nothing;
with approval cilium-config, the CiliumNodeConfigs and our node labels equal the backup's, only the
agents whose effective config changed restart, the agents report the old datapath, and the state before
the restore is saved so the restore can be undone. Also: a changed node config, a failed restore rolled
back, nothing to do, NotReady nodes, the lock, and bad input."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from restore_helpers import (
    BOARDS,
    CM,
    NS,
    SCOPED,
    TAKES,
    VERSION,
    VMS,
    agents,
    apply,
    our_labels,
    routing,
    series,
    state,
)  # fmt: skip

from cilium_lab.change import lock
from cilium_lab.change.backups import backup
from cilium_lab.change.backups import restoring as restore
from cilium_lab.cluster import configmaps, nodeconfig, objects, rollout
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError, LabError

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")


def test_restore_undoes_a_cluster_wide_and_a_scoped_change_and_can_itself_be_undone(conn, tmp_path):
    masquerade, _ = series(conn, tmp_path)
    assert routing(conn) == {**dict.fromkeys(VMS, ("BPF", "BPF")), **dict.fromkeys(BOARDS, ("Legacy", "BPF"))}
    saved = restore.find(conn, NS, masquerade.backup_configmap)  # the ConfigMap's full name is accepted too
    assert saved.data["enable-bpf-masquerade"] == "false" and saved.node_configs == []
    changed = state(conn)

    planned = restore.restore_backup(conn, saved, approved=False, results_dir=str(tmp_path / "plan"))
    assert planned.outcome == restore.PLANNED and planned.message.startswith("not restored, nothing changed")
    assert planned.diff.changed == {"enable-bpf-masquerade": ("true", "false")}
    assert (
        planned.diff.node_configs_added == (SCOPED,) and not planned.diff.added and not planned.diff.removed
    )
    assert planned.restarts == (*BOARDS, *VMS)
    assert "CiliumNodeConfig cilium-lab-bpf-host-routing: delete   [created since]" in planned.to_text()
    assert state(conn) == changed and not (tmp_path / "plan").exists()  # no write, no backup, no lock

    report = restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome == restore.RESTORED, report.to_text()
    assert {n: o.outcome for n, o in report.nodes.items()} == dict.fromkeys((*BOARDS, *VMS), restore.RESTORED)
    assert configmaps.read(conn, NS, CM).data == saved.data  # exactly: no key more or less
    assert nodeconfig.list_all(conn, NS, VERSION) == []
    # the takes- label went with its node config
    assert our_labels(conn) == {n: {} for n in (*BOARDS, *VMS)}
    now = agents(conn)
    assert all(now[n] != changed["agents"][n] for n in (*BOARDS, *VMS))  # every agent restarted
    assert routing(conn) == dict.fromkeys((*BOARDS, *VMS), ("Legacy", "IPTables"))
    with pytest.raises(Exception, match="not found"):
        configmaps.read(conn, NS, lock.NAME)  # released

    undo = report.undo
    assert undo is not None and undo.data == changed["cm"][1] and undo.node_labels[VMS[0]] == {TAKES: "true"}
    assert json.loads(Path(undo.path).read_text())["node_configs"][0]["metadata"]["name"] == SCOPED
    stamps = [b.stamp for b in backup.list_backups(conn, NS)]
    assert stamps[0] == undo.stamp and saved.stamp in stamps and stamps == sorted(stamps, reverse=True)

    again = restore.restore_backup(
        conn, restore.find(conn, NS, undo.stamp), approved=True, timeout=20, results_dir=str(tmp_path)
    )
    assert again.outcome == restore.RESTORED, again.to_text()
    assert again.diff.node_configs_removed == (SCOPED,)
    assert {objects.name_of(c): c["spec"] for c in nodeconfig.list_all(conn, NS, VERSION)} == changed["cncs"]
    assert our_labels(conn) == changed["labels"]
    assert configmaps.read(conn, NS, CM).data == changed["cm"][1]
    assert routing(conn) == {**dict.fromkeys(VMS, ("BPF", "BPF")), **dict.fromkeys(BOARDS, ("Legacy", "BPF"))}


def _replace_node_config(conn, name: str, defaults: dict[str, str]) -> None:
    (cnc,) = [c for c in nodeconfig.list_all(conn, NS, VERSION) if objects.name_of(c) == name]
    nodeconfig.delete(conn, NS, name, VERSION, resource_version=objects.resource_version(cnc))
    body = {k: cnc[k] for k in ("apiVersion", "kind", "spec")}
    body["metadata"] = {"name": name, "namespace": NS, "labels": cnc["metadata"].get("labels", {})}
    body["spec"] = {**cnc["spec"], "defaults": defaults}
    nodeconfig.create(conn, body)


def test_a_changed_node_config_is_put_back_and_only_its_node_restarts(conn, tmp_path):
    apply(conn, "kube-proxy-replacement", tmp_path, nodes=["vm-1"])
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    name = "cilium-lab-canary-kube-proxy-replacement"
    _replace_node_config(conn, name, {"kube-proxy-replacement": "partial"})
    before = agents(conn)
    report = restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.outcome == restore.RESTORED, report.to_text()
    assert report.diff.node_configs_changed == (name,) and report.restarts == ("vm-1",)
    (cnc,) = nodeconfig.list_all(conn, NS, VERSION)
    assert cnc["spec"]["defaults"] == {"kube-proxy-replacement": "strict"}
    after = agents(conn)
    assert after["vm-1"] != before["vm-1"] and all(after[n] == before[n] for n in before if n != "vm-1")
    assert report.nodes["vm-2"].reason == "effective config already was the backup's; agent not restarted"


def test_a_restore_whose_agent_crash_loops_puts_the_state_before_it_back(embedded, conn, tmp_path):
    masquerade, _ = series(conn, tmp_path)
    saved = restore.find(conn, NS, masquerade.backup_configmap)
    changed = state(conn)
    embedded.faults.crash_loop("vm-2")

    def clear_fault_on_rollback(line: str) -> None:  # the restored config's crash: the old one boots again
        if line.startswith("rolling back"):
            embedded.faults.clear()

    report = restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path),
                                    progress=clear_fault_on_rollback)  # fmt: skip
    assert report.outcome == restore.FAILED and "crash-loops on vm-2" in report.message
    assert "the config before the restore is back" in report.message
    # each node runs the config before the restore again, verified: "rolled back", and the exit code says so
    assert {o.outcome for o in report.nodes.values()} == {"rolled back"} and report.exit_code == 5
    assert "crash-loops on vm-2" in report.nodes["board-1"].reason
    after = state(conn)
    assert after["cm"][1] == changed["cm"][1] and after["cncs"] == changed["cncs"]
    assert after["labels"] == changed["labels"]
    assert routing(conn) == {**dict.fromkeys(VMS, ("BPF", "BPF")), **dict.fromkeys(BOARDS, ("Legacy", "BPF"))}


def test_restoring_the_live_state_has_nothing_to_do(conn, tmp_path):
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    before = state(conn)
    report = restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path / "r"))
    assert report.outcome == restore.NOTHING_TO_DO and report.undo is None
    assert state(conn) == before and not (tmp_path / "r").exists()


def test_a_not_ready_node_is_refused_up_front_and_nothing_changes(embedded, conn, tmp_path):
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    configmaps.patch(conn, NS, CM, {"enable-bandwidth-manager": "true"})
    embedded.faults.node_not_ready("vm-2")
    deadline = time.monotonic() + 5
    while not rollout.not_ready_nodes(conn, ["vm-2"]):
        assert time.monotonic() < deadline, "vm-2 never turned NotReady"
        time.sleep(0.05)
    before = state(conn)
    with pytest.raises(
        LabError, match=r"^not restored, nothing changed: node\(s\) NotReady: vm-2 \(Ready=False"
    ):
        restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path))
    assert state(conn) == before
    report = restore.restore_backup(
        conn, saved, approved=True, timeout=20, results_dir=str(tmp_path), allow_not_ready=True
    )
    assert report.outcome == restore.RESTORED, report.to_text()
    assert report.nodes["vm-2"].outcome == "skipped" and "NotReady" in report.nodes["vm-2"].reason
    assert state(conn)["agents"]["vm-2"] == before["agents"]["vm-2"]
    assert configmaps.read(conn, NS, CM).data == saved.data


def test_restore_is_refused_while_another_change_holds_the_lock(conn, tmp_path):
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    configmaps.patch(conn, NS, CM, {"enable-bandwidth-manager": "true"})
    held = lock.acquire(conn, NS, holder="alice@jumphost", purpose="apply bbr")
    try:
        before = state(conn)
        with pytest.raises(
            lock.LockHeld, match=r"^another change holds the lock: alice@jumphost since .*apply bbr"
        ):
            restore.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path / "r"))
        assert state(conn) == before and not (tmp_path / "r").exists()
    finally:
        lock.release(conn, held)


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        yield connect(str(cluster.kubeconfig))


def _saved(conn, tmp_path):
    return backup.save(conn, NS, CM, VERSION, tmp_path)


_RECORD = {"namespace": NS, "configmap": CM, "data": {"mtu": "1500"}, "node_configs": []}
# (what is wrong, a function of (conn, tmp_path) that must raise a one-line LabError and change nothing)
BAD_INPUTS = {
    "unknown stamp": lambda c, t: restore.find(c, NS, "20200101-000000-000000"),
    "stamp not a stamp": lambda c, t: restore.find(c, NS, "../../etc/passwd"),
    "empty stamp": lambda c, t: restore.find(c, NS, ""),
    "stamp a number": lambda c, t: restore.find(c, NS, 20200101),
    "missing file": lambda c, t: restore.find(
        c, NS, from_file=t / "20200101-000000-000000-cilium-config.json"
    ),
    "file not JSON": lambda c, t: restore.find(c, NS, from_file=_write(t, "not json {")),
    "file a JSON list": lambda c, t: restore.find(c, NS, from_file=_write(t, "[1, 2]")),
    "file without data": lambda c, t: restore.find(
        c, NS, from_file=_write(t, json.dumps({k: v for k, v in _RECORD.items() if k != "data"}))
    ),
    "file with numbers in data": lambda c, t: restore.find(
        c, NS, from_file=_write(t, json.dumps({**_RECORD, "data": {"mtu": 9000}}))
    ),
    "file named otherwise": lambda c, t: restore.find(c, NS, from_file=_write(t, "{}", "backup.json")),
    "file of another namespace": lambda c, t: restore.restore_backup(
        c,
        restore.find(c, NS, from_file=_foreign(c, t, namespace="cilium")),
        approved=True,
        results_dir=str(t),
    ),
    "file of another configmap": lambda c, t: restore.restore_backup(
        c,
        restore.find(c, NS, from_file=_foreign(c, t, configmap="other-config")),
        approved=True,
        results_dir=str(t),
    ),
    "stamp and file disagree": lambda c, t: restore.find(
        c, NS, "20200101-000000-000000", from_file=_saved(c, t).path
    ),
    "approved not a bool": lambda c, t: restore.restore_backup(c, _saved(c, t), approved="yes"),
    "timeout zero": lambda c, t: restore.restore_backup(c, _saved(c, t), approved=True, timeout=0),
    "timeout infinite": lambda c, t: restore.restore_backup(c, _saved(c, t), approved=True, timeout=math.inf),
    "backup not a Backup": lambda c, t: restore.restore_backup(c, {"stamp": "x"}, approved=True),
    "conn not a Connection": lambda c, t: restore.restore_backup("kube", _saved(c, t), approved=True),
    "empty results_dir": lambda c, t: restore.restore_backup(c, _saved(c, t), approved=True, results_dir=""),
}


def _write(tmp_path, text: str, name: str = "20200101-000000-000000-cilium-config.json") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _foreign(conn, tmp_path, **changes) -> str:
    """A real backup file, edited to claim another namespace or ConfigMap."""
    saved = _saved(conn, tmp_path / "saved")
    record = json.loads(Path(saved.path).read_text())
    return _write(tmp_path, json.dumps({**record, **changes}))


def _cluster_state(conn):
    cm = configmaps.read(conn, NS, CM)
    return cm.resource_version, cm.data, nodeconfig.list_all(conn, NS, VERSION)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_changes_nothing(shared, tmp_path, case):
    before = _cluster_state(shared)
    with pytest.raises(LabError) as caught:
        BAD_INPUTS[case](shared, tmp_path)
    message = str(caught.value)
    assert message and "\n" not in message and len(message) < 600, message
    assert isinstance(caught.value, InputError), type(caught.value)
    assert _cluster_state(shared) == before
