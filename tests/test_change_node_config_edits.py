"""Someone else's edit of a CiliumNodeConfig that a change created, made while the change runs, is kept: the
rollback of a canary, the restore that puts a demonstration's backup back, and the delete inside either
(conditional on the resourceVersion just read) stop, say which object someone else changed, and leave it as
they wrote it. Issue 13 point 4: every write of cilium-config and of CiliumNodeConfigs is conditional on
what was read. On the embedded cluster; the other editor is a second client doing what `kubectl edit` does
(read, change, PUT with the resourceVersion read)."""

from __future__ import annotations

import threading
import time

import pytest

from cilium_lab.change import journal, lock, outcomes
from cilium_lab.change.backups import restoring
from cilium_lab.change.backups.restore_write import EditedMeanwhile
from cilium_lab.change.config import applying
from cilium_lab.change.config.planning import canary_name, plan
from cilium_lab.cluster import configmaps, nodeconfig, objects, snapshot
from cilium_lab.cluster.connect import connect

NS, CM = "kube-system", "cilium-config"
ITEM = "kube-proxy-replacement"
CNC = canary_name(ITEM)
THEIRS = {"their-key": "kept"}


def _cnc(conn, version: str) -> dict | None:
    found = [c for c in nodeconfig.list_all(conn, NS, version) if objects.name_of(c) == CNC]
    return found[0] if found else None


def _edit(kubeconfig: str, version: str) -> str:
    """Another user's `kubectl edit` of the canary's CiliumNodeConfig: their key added; its new version."""
    other = connect(kubeconfig)
    api = nodeconfig.api_version(version)
    current = other.custom.get_namespaced_custom_object(nodeconfig.GROUP, api, NS, nodeconfig.PLURAL, CNC)
    current["spec"]["defaults"].update(THEIRS)
    done = other.custom.replace_namespaced_custom_object(
        nodeconfig.GROUP, api, NS, nodeconfig.PLURAL, CNC, current
    )
    return done["metadata"]["resourceVersion"]


def _edit_while_the_delete_waits(embedded, version: str) -> threading.Thread:
    """Hold the next CiliumNodeConfig delete at the server for 1.5 s and edit the object meanwhile: the
    delete then carries the resourceVersion read before the edit."""
    embedded.faults.api_delay("delete", "ciliumnodeconfigs", 1.5, times=1)

    def edit_once_the_delete_arrived() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(
                f["times"] == 0 for f in embedded.faults.dump()["api"] if f["resource"] == "ciliumnodeconfigs"
            ):
                _edit(str(embedded.kubeconfig), version)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=edit_once_the_delete_arrived, daemon=True)
    thread.start()
    return thread


def _left_clean(conn) -> None:
    assert lock.status(conn, NS) is None and journal.cluster_journals(conn, NS) == []


def test_a_canary_rollback_keeps_an_edit_made_to_its_node_config_meanwhile(embedded, conn, tmp_path):
    snap = snapshot.take(conn)
    config = configmaps.read(conn, NS, CM).data
    embedded.faults.crash_loop("vm-2")  # the canary's rollout fails: the change is rolled back
    edited: list[str] = []

    def progress(line: str) -> None:
        if line.startswith("created CiliumNodeConfig"):  # between our create and the rollback's delete
            edited.append(_edit(str(embedded.kubeconfig), snap.cilium_version))
        if line.startswith("rolling back"):
            embedded.faults.clear()

    report = applying.apply(
        conn, plan(snap, ITEM, nodes=["vm-2"]), approved=True, timeout=20, results_dir=str(tmp_path),
        progress=progress,
    )  # fmt: skip
    assert edited, "the edit never happened: the test proves nothing"
    assert report.outcome == outcomes.ROLLBACK_FAILED and report.exit_code == 6, report.to_text()
    assert f"someone else changed CiliumNodeConfig {CNC}" in report.message
    assert "nothing was undone, so as not to overwrite that edit" in report.message
    kept = _cnc(conn, snap.cilium_version)
    assert kept is not None and kept["spec"]["defaults"]["their-key"] == "kept"
    assert kept["metadata"]["resourceVersion"] == edited[0]  # nobody wrote it after them
    assert configmaps.read(conn, NS, CM).data == config
    _left_clean(conn)


def test_the_rollbacks_delete_is_conditional_on_the_version_it_read(embedded, conn, tmp_path):
    snap = snapshot.take(conn)
    embedded.faults.crash_loop("vm-2")
    editor: list[threading.Thread] = []

    def progress(line: str) -> None:
        if line.startswith("rolling back"):  # after the undo's checks have read the object, before its delete
            embedded.faults.clear()
            editor.append(_edit_while_the_delete_waits(embedded, snap.cilium_version))

    report = applying.apply(
        conn, plan(snap, ITEM, nodes=["vm-2"]), approved=True, timeout=20, results_dir=str(tmp_path),
        progress=progress,
    )  # fmt: skip
    editor[0].join(30)
    assert report.outcome == outcomes.ROLLBACK_FAILED and report.exit_code == 6, report.to_text()
    assert f"CiliumNodeConfig {CNC}" in report.message and "their edit is left in place" in report.message
    kept = _cnc(conn, snap.cilium_version)
    assert kept is not None and kept["spec"]["defaults"]["their-key"] == "kept"
    _left_clean(conn)


def _canary(conn, tmp_path) -> applying.ApplyReport:
    report = applying.apply(
        conn, plan(snapshot.take(conn), ITEM, nodes=["vm-1"]), approved=True, timeout=20,
        results_dir=str(tmp_path),
    )  # fmt: skip
    assert report.outcome == outcomes.APPLIED, report.to_text()
    return report


def test_putting_a_demonstrations_backup_back_keeps_an_edit_made_since_and_changes_nothing(
    embedded, conn, tmp_path
):
    """What `session.demonstration.run` does after measuring: restore the backup its switch-off took, naming
    the node configs that switch-off wrote; one changed since by someone else stops it before any write."""
    applied = _canary(conn, tmp_path)
    version = snapshot.take(conn).cilium_version
    assert set(applied.node_configs) == {CNC}
    assert applied.node_configs[CNC] == _cnc(conn, version)["metadata"]["resourceVersion"]
    theirs = _edit(str(embedded.kubeconfig), version)
    config = configmaps.read(conn, NS, CM).data
    saved = restoring.find(conn, NS, from_file=applied.backup_path)
    with pytest.raises(EditedMeanwhile) as refused:
        restoring.restore_backup(
            conn, saved, approved=True, timeout=20, results_dir=str(tmp_path),
            node_configs_written=applied.node_configs,
        )  # fmt: skip
    line = str(refused.value)
    assert line.startswith(f"not restored, nothing changed: someone else changed CiliumNodeConfig {CNC}")
    assert f"resourceVersion {applied.node_configs[CNC]} -> {theirs}" in line and saved.stamp in line
    kept = _cnc(conn, version)
    assert kept["metadata"]["resourceVersion"] == theirs and configmaps.read(conn, NS, CM).data == config
    _left_clean(conn)


def test_a_restores_delete_is_conditional_on_the_version_it_read(embedded, conn, tmp_path):
    applied = _canary(conn, tmp_path)
    version = snapshot.take(conn).cilium_version
    saved = restoring.find(conn, NS, from_file=applied.backup_path)
    editor = _edit_while_the_delete_waits(embedded, version)
    with pytest.raises(EditedMeanwhile) as refused:
        restoring.restore_backup(conn, saved, approved=True, timeout=20, results_dir=str(tmp_path))
    editor.join(30)
    assert str(refused.value).startswith(
        f"not restored, nothing changed: someone else changed CiliumNodeConfig {CNC} since it was read"
    )
    kept = _cnc(conn, version)
    assert kept is not None and kept["spec"]["defaults"]["their-key"] == "kept"
    _left_clean(conn)


def test_an_unchanged_node_config_is_still_put_back(conn, tmp_path):
    """The guard refuses only someone else's edit: the demonstration's own put-back goes through."""
    applied = _canary(conn, tmp_path)
    version = snapshot.take(conn).cilium_version
    saved = restoring.find(conn, NS, from_file=applied.backup_path)
    back = restoring.restore_backup(
        conn,
        saved,
        approved=True,
        timeout=20,
        results_dir=str(tmp_path),
        node_configs_written=applied.node_configs,
    )
    assert back.outcome == restoring.RESTORED, back.message
    assert _cnc(conn, version) is None
    _left_clean(conn)
