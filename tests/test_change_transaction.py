"""Trying to break a change on the embedded cluster: a fault at each step (before and after each write, in
the rollout, in verification, in the rollback itself), a real SIGINT at each step, a second one during the
rollback, a concurrent edit before and during the change, the API server going away mid-rollout, a
recovery of what is left. After each: the cluster is exactly as before (cilium-config equal to the backup,
no CiliumNodeConfig, none of our node labels) or verified in the new state; the lock is free; no journal
is left open unless the exit code says "unfinished" (6), and then `recover` finishes it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from cilium_lab.change import journal, lock, outcomes, recovery
from cilium_lab.change.config import applying
from cilium_lab.change.config.planning import plan
from cilium_lab.change.node_labels import PREFIXES
from cilium_lab.cluster import apierrors, configmaps, discover, nodeconfig, objects, snapshot

NS, CM, VERSION = "kube-system", "cilium-config", "1.13.4"


def our_labels(conn) -> dict[str, dict[str, str]]:
    return {
        objects.name_of(n): {k: v for k, v in objects.labels(n).items() if k.startswith(PREFIXES)}
        for n in discover.list_nodes(conn)
    }


def lock_free(conn) -> bool:
    return lock.status(conn, NS) is None  # the change lease was released


def check_invariants(conn, report, before: dict[str, str], results_dir: Path) -> None:
    """The cluster is as before or verified new; the lock is free; journals closed unless exit 6."""
    data = configmaps.read(conn, NS, CM).data
    if report.outcome == outcomes.APPLIED:
        assert report.exit_code == 0 and report.after is not None, report.to_text()
        assert data != before
    elif report.exit_code == 6:
        assert report.outcome == outcomes.ROLLBACK_FAILED, report.to_text()
    else:
        assert report.exit_code in (0, 5, 130, 143), report.to_text()
        assert data == before, report.to_text()
        assert nodeconfig.list_all(conn, NS, VERSION) == []
        assert not any(our_labels(conn).values())
        if report.outcome == outcomes.ROLLED_BACK:
            assert {o.outcome for o in report.nodes.values()} <= {outcomes.ROLLED_BACK, outcomes.SKIPPED}
    assert lock_free(conn)
    open_journals = journal.cluster_journals(conn, NS)
    if report.exit_code == 6:
        assert journal.disk_journals(results_dir), "an unfinished change keeps its journal"
    else:
        assert open_journals == [] and journal.disk_journals(results_dir) == []


def apply_kpr(conn, tmp_path, progress=None, timeout=20.0, **kwargs):
    planned = plan(snapshot.take(conn), "kube-proxy-replacement", **kwargs)
    return applying.apply(
        conn, planned, approved=True, timeout=timeout, results_dir=str(tmp_path), progress=progress
    )


# verb, resource, calls that go through first, times: each is one step of the transaction
FAULTS = {
    "backup configmap create": ("create", "configmaps", 0, 1),
    "journal create": ("create", "configmaps", 1, 1),
    "patch (the first write)": ("patch", "configmaps", 0, 1),
    "daemonset restart right after the patch": ("patch", "daemonsets", 0, 1),
    "rollout wait": ("get", "daemonsets", 0, 4),
    "verification snapshot": ("list", "pods", 2, 4),
    "rollback's write": ("update", "configmaps", 3, 30),
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_a_fault_at_each_step_leaves_the_cluster_as_before_or_says_what_is_left(
    embedded, conn, tmp_path, case
):
    verb, resource, after, times = FAULTS[case]
    before = configmaps.read(conn, NS, CM).data
    embedded.faults.api_error(verb, resource, 500, after=after, times=times)
    try:
        report = apply_kpr(conn, tmp_path)
    except apierrors.ServerError as err:  # before the first write: nothing changed, exit 3
        assert "500" in str(err) and configmaps.read(conn, NS, CM).data == before
        assert lock_free(conn) and journal.cluster_journals(conn, NS) == []
        return
    embedded.faults.clear()
    check_invariants(conn, report, before, tmp_path)
    if report.exit_code == 6:  # the rollback's own write failed: recover finishes it
        finish_by_recover(conn, tmp_path, before)


def finish_by_recover(conn, results_dir: Path, before: dict[str, str]) -> None:
    found = recovery.find(conn, NS, [results_dir])
    assert len(found) == 1 and "steps done:" in found[0].describe()
    done = recovery.finish(conn, NS, found[0], say=lambda _: None, timeout=20, results_dir=results_dir)
    assert done.outcome == outcomes.ROLLED_BACK, done.message
    assert configmaps.read(conn, NS, CM).data == before
    assert recovery.find(conn, NS, [results_dir]) == [] and lock_free(conn)


def test_a_500_on_the_restart_right_after_the_patch_is_rolled_back_exit_5(embedded, conn, tmp_path):
    """Issue 13: the patch stayed in place, the notebook said "Not applied", exit 0."""
    before = configmaps.read(conn, NS, CM).data
    embedded.faults.api_error("patch", "daemonsets", 500, times=1)
    report = apply_kpr(conn, tmp_path)
    assert report.outcome == outcomes.ROLLED_BACK and report.exit_code == 5, report.to_text()
    assert "500" in report.message and configmaps.read(conn, NS, CM).data == before
    check_invariants(conn, report, before, tmp_path)


def test_a_rollback_whose_rollout_fails_is_rollback_failed_not_rolled_back(embedded, conn, tmp_path):
    """Issue 13: a rollback whose own rollout failed was reported per node as "rolled back"."""
    before = configmaps.read(conn, NS, CM).data
    embedded.faults.crash_loop("vm-2")  # whatever the config: the rollback's rollout crash-loops too
    report = apply_kpr(conn, tmp_path)
    assert report.outcome == outcomes.ROLLBACK_FAILED and report.exit_code == 6, report.to_text()
    assert all(o.outcome == outcomes.ROLLBACK_FAILED for o in report.nodes.values() if o.outcome != "skipped")
    assert "cilium-lab recover --approve" in report.message
    embedded.faults.clear()
    check_invariants(conn, report, before, tmp_path)
    with pytest.raises(journal.UnfinishedChange, match="cilium-lab recover --approve"):
        apply_kpr(conn, tmp_path)  # the next change is refused until the undo is finished
    finish_by_recover(conn, tmp_path, before)
    assert apply_kpr(conn, tmp_path).outcome == outcomes.APPLIED


def signal_on(prefix: str, *signals: int):
    """A progress callback that sends this process real signals when a line starts with `prefix`
    (and the next signals on the following lines that start with "rolling back")."""
    left = list(signals)

    def progress(line: str) -> None:
        if left and (
            line.startswith(prefix) if len(left) == len(signals) else line.startswith("rolling back")
        ):
            os.kill(os.getpid(), left.pop(0))

    return progress


# a line the change prints -> the step it marks
INTERRUPT_AT = {
    "after the lock, before the backup": "lock ",
    "after the backup, before the journal": "saved ",
    "after the journal, before the patch": "journal ",
    "right after the patch": "patched ",
    "during the restart": "restarted ",
    "in the rollout wait": "rollout of ",
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", sorted(INTERRUPT_AT))
def test_a_signal_at_each_step_rolls_back_and_exits_130_or_143(conn, tmp_path, where, sig):
    before = configmaps.read(conn, NS, CM).data
    report = apply_kpr(conn, tmp_path, progress=signal_on(INTERRUPT_AT[where], sig))
    expected = 130 if sig == signal.SIGINT else 143
    assert report.exit_code == expected and report.interrupted == sig.name, report.to_text()
    assert report.outcome in (outcomes.SKIPPED, outcomes.ROLLED_BACK)
    check_invariants(conn, report, before, tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # ours is gone after the change


def test_a_second_ctrl_c_stops_the_rollback_and_recover_finishes_it(conn, tmp_path):
    before = configmaps.read(conn, NS, CM).data
    report = apply_kpr(conn, tmp_path, progress=signal_on("rollout of ", signal.SIGINT, signal.SIGINT))
    assert report.exit_code == 6 and report.outcome == outcomes.ROLLBACK_FAILED, report.to_text()
    check_invariants(conn, report, before, tmp_path)
    (_, record), *_ = journal.disk_journals(tmp_path)
    assert "cilium-lab recover --approve" in record["left"] and record["state"] == journal.UNFINISHED
    finish_by_recover(conn, tmp_path, before)


def test_a_concurrent_edit_before_the_first_write_is_refused_and_kept(embedded, conn, tmp_path):
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")

    def edit_after_backup(line: str) -> None:  # another client's `kubectl patch` between read and write
        if line.startswith("journal "):
            configmaps.patch(conn, NS, CM, {"their-key": "theirs"})

    with pytest.raises(applying.ConcurrentEdit, match="someone else changed kube-system/cilium-config"):
        applying.apply(
            conn, planned, approved=True, timeout=20, results_dir=str(tmp_path), progress=edit_after_backup
        )
    assert configmaps.read(conn, NS, CM).data["their-key"] == "theirs"
    assert "kube-proxy-replacement" not in configmaps.read(conn, NS, CM).data or planned.changes.get(
        "kube-proxy-replacement"
    ) != configmaps.read(conn, NS, CM).data.get("kube-proxy-replacement")
    assert (
        lock_free(conn) and journal.cluster_journals(conn, NS) == [] and journal.disk_journals(tmp_path) == []
    )


def test_a_concurrent_edit_during_the_change_is_not_overwritten_by_the_rollback(embedded, conn, tmp_path):
    """Issue 13: the rollback wrote the backup without a resourceVersion, over someone else's edit."""
    embedded.faults.stuck_rollout()

    def edit_mid_rollout(line: str) -> None:
        if line.startswith("restarted ") and "their-key" not in configmaps.read(conn, NS, CM).data:
            configmaps.patch(conn, NS, CM, {"their-key": "theirs"})

    report = apply_kpr(conn, tmp_path, progress=edit_mid_rollout, timeout=2)
    embedded.faults.clear()
    assert report.outcome == outcomes.ROLLBACK_FAILED and report.exit_code == 6, report.to_text()
    assert "rollback refused: someone else changed kube-system/cilium-config" in report.message
    assert "compare the cluster with backup" in report.message.lower()
    assert configmaps.read(conn, NS, CM).data["their-key"] == "theirs"  # their edit stays
    assert (
        lock_free(conn) and journal.cluster_journals(conn, NS) == []
    )  # nothing to recover: refused on purpose


def test_the_emulator_refuses_a_stale_resource_version_for_patch_and_update(conn):
    state = configmaps.read(conn, NS, CM)
    configmaps.patch(conn, NS, CM, {"x": "1"}, resource_version=state.resource_version)
    with pytest.raises(apierrors.Conflict):
        configmaps.patch(conn, NS, CM, {"x": "2"}, resource_version=state.resource_version)
    with pytest.raises(apierrors.Conflict):
        configmaps.replace_data(conn, NS, CM, state.data, state.resource_version)
    assert configmaps.read(conn, NS, CM).data["x"] == "1"


def test_the_api_server_going_away_mid_rollout_shows_the_real_error(embedded, conn, tmp_path):
    """Issue 13: the error shown was the lock release's, hiding the real one."""
    embedded.faults.stuck_rollout()

    def stop_server(line: str) -> None:
        if line.startswith("rollout of "):
            embedded.stop()

    report = apply_kpr(conn, tmp_path, progress=stop_server)
    assert report.exit_code == 6 and report.outcome == outcomes.ROLLBACK_FAILED, report.to_text()
    first = report.message.split(";")[0]
    assert "cannot reach the API server" in first and "lock" not in first, report.message
    assert any("lock" in w and "could not be released" in w for w in report.warnings)
    (_, record), *_ = journal.disk_journals(tmp_path)  # the disk journal says what is left
    assert record["state"] == journal.UNFINISHED and "roll out" in [s["step"] for s in record["steps"]]


def test_the_backup_file_is_written_atomically(conn, tmp_path):
    report = apply_kpr(conn, tmp_path)
    folder = Path(report.backup_path).parent
    assert report.outcome == outcomes.APPLIED and not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert lock_free(conn) and journal.disk_journals(tmp_path) == []
    closed = [p for p in (tmp_path / "journals").iterdir()]
    assert len(closed) == 1 and '"applied"' in closed[0].read_text()
