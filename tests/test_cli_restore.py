"""`cilium-lab backups` and `cilium-lab restore` on the embedded cluster through the CLI entry point: the list
with what each restore would undo, the plan without --approve (nothing changes), the restore of a scoped
change (only its nodes' agents restart), --from-file when the ConfigMap is gone, a backup of another
cluster (refused without --other-cluster) or of no recorded cluster (accepted, said so), the lock, and bad
input (one line on stderr, exit code 2, nothing changed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from restore_helpers import BOARDS, CM, NS, SCOPED, VERSION, VMS, apply, our_labels, routing, series, state

from cilium_lab.change import lock
from cilium_lab.change.backups import backup
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps, snapshot
from cilium_lab.cluster.connect import connect

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")


def _target(embedded) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig)]


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_backups_lists_and_restore_undoes_a_scoped_change(embedded, conn, tmp_path, capsys):
    _, host_routing = series(conn, tmp_path)
    stamp = host_routing.backup_configmap.removeprefix(backup.PREFIX)
    target = _target(embedded)
    capsys.readouterr()

    assert main(["backups", *target, "--json"]) == 0
    listed = _json(capsys)
    assert [r["stamp"] for r in listed] == sorted((r["stamp"] for r in listed), reverse=True)
    assert listed[0]["stamp"] == stamp and listed[0]["node_configs"] == 0 and listed[0]["simulated"] is True
    assert listed[0]["diff"]["node_configs_added"] == [SCOPED] and listed[0]["diff"]["restarts"] == list(VMS)
    assert listed[0]["backup_configmap"] == host_routing.backup_configmap and listed[0]["keys"] > 10
    assert main(["backups", *target]) == 0
    text = capsys.readouterr().out
    assert text.startswith("SIMULATED: backups of kube-system/cilium-config, newest first")
    assert f"{stamp}  " in text and "a restore restarts the agents on vm-1, vm-2, vm-3" in text

    before = state(conn)
    assert main(["restore", stamp, *target]) == 0
    plan = capsys.readouterr().out
    assert ": planned - not restored, nothing changed" in plan
    assert "agent on vm-1 restarts: enable-host-legacy-routing false -> true" in plan
    assert f"to apply it: cilium-lab restore {stamp} --approve --cluster kube --kubeconfig" in plan
    assert state(conn) == before

    assert main(["restore", stamp, *target, "--approve", "--json", "--results-dir", str(tmp_path)]) == 0
    record = _json(capsys)
    assert record["outcome"] == "restored" and record["restarts"] == list(VMS)
    assert {n["node"]: n["outcome"] for n in record["nodes"]} == dict.fromkeys((*BOARDS, *VMS), "restored")
    after = state(conn)
    assert {n: after["agents"][n] for n in BOARDS} == {n: before["agents"][n] for n in BOARDS}
    assert all(after["agents"][n] != before["agents"][n] for n in VMS)
    assert after["cncs"] == {} and our_labels(conn) == {n: {} for n in (*BOARDS, *VMS)}
    assert after["cm"][1] == before["cm"][1]  # the scoped change never touched cilium-config
    assert routing(conn) == dict.fromkeys((*BOARDS, *VMS), ("Legacy", "BPF"))

    assert main(["backups", *target, "--json"]) == 0
    stamps = [r["stamp"] for r in _json(capsys)]
    assert stamps[0] == record["undo"]["stamp"] and stamp in stamps


def test_restore_from_file_when_the_backup_configmap_is_gone(embedded, conn, tmp_path, capsys):
    report = apply(conn, "kube-proxy-replacement", tmp_path)
    configmaps.delete(conn, NS, report.backup_configmap)
    stamp = report.backup_configmap.removeprefix(backup.PREFIX)
    target = _target(embedded)
    assert main(["restore", stamp, *target, "--approve"]) == 2
    assert "no backup" in capsys.readouterr().err
    assert (
        main(
            [
                "restore",
                "--from-file",
                report.backup_path,
                *target,
                "--approve",
                "--results-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"from backup {stamp}" in out and f"{report.backup_path}) [SIMULATED]: restored" in out
    saved = json.loads(Path(report.backup_path).read_text())
    assert configmaps.read(conn, NS, CM).data == saved["data"]
    assert {n.status.kube_proxy_replacement for n in snapshot.take(conn).nodes} == {"Disabled"}


def test_restore_is_refused_while_another_change_holds_the_lock(embedded, conn, tmp_path, capsys):
    saved = backup.save(conn, NS, CM, VERSION, tmp_path)
    configmaps.patch(conn, NS, CM, {"enable-bandwidth-manager": "true"})
    held = lock.acquire(conn, NS, holder="alice@jumphost", purpose="apply bbr")
    try:
        before = state(conn)
        assert main(["restore", saved.stamp, *_target(embedded), "--approve"]) == 3
        err = capsys.readouterr().err
        assert err.startswith("cilium-lab: error: another change holds the lock: alice@jumphost since ")
        assert err.count("\n") == 1 and "(apply bbr)" in err
        assert state(conn) == before
    finally:
        lock.release(conn, held)


@pytest.fixture(scope="module")
def shared():
    with sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        yield cluster, connect(str(cluster.kubeconfig))


def _file(tmp_path, record) -> str:
    path = tmp_path / "20200101-000000-000000-cilium-config.json"
    path.write_text(json.dumps(record) if not isinstance(record, str) else record)
    return str(path)


def _foreign_configmap(conn) -> str:
    """A backup ConfigMap of ours that names another ConfigMap than cilium-config."""
    stamp = "20200101-000000-000001"
    data = {"configmap": "other-config", "data.json": "{}", "node-configs.json": "[]"}
    configmaps.create(conn, NS, backup.PREFIX + stamp, data, {"app.kubernetes.io/managed-by": "cilium-lab"})
    return stamp


def _on(kubeconfig: str) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", kubeconfig]


def _unreachable(tmp_path) -> str:
    path = tmp_path / "unreachable.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    return str(path)


_RECORD = {"namespace": NS, "configmap": CM, "data": {}, "node_configs": []}
_ELSEWHERE = {"uid": "6b0c1f9e-0000-4000-8000-000000000000", "server": "api.elsewhere.example:6443"}
# (what is wrong, a function of (conn, tmp_path, kubeconfig) giving the command line, and what stderr must say)
BAD_INPUTS = {
    "unknown stamp": (
        lambda c, t, k: ["restore", *_on(k), "20200101-000000-000000", "--approve"],
        "no backup 20200101",
    ),
    "stamp not a stamp": (
        lambda c, t, k: ["restore", *_on(k), "yesterday", "--approve"],
        "not a backup stamp: 'yesterday'",
    ),
    "no stamp and no file": (lambda c, t, k: ["restore", *_on(k), "--approve"], "give the backup's STAMP"),
    "file missing": (
        lambda c, t, k: ["restore", *_on(k), "--from-file", str(t / "x.json"), "--approve"],
        "not found",
    ),
    "file not JSON": (
        lambda c, t, k: ["restore", *_on(k), "--from-file", _file(t, "{oops"), "--approve"],
        "not JSON",
    ),
    "file without node configs": (
        lambda c, t, k: [
            "restore",
            *_on(k),
            "--from-file",
            _file(t, {**_RECORD, "node_configs": None}),
            "--approve",
        ],
        "node configs are not a list",
    ),
    "file of another namespace": (
        lambda c, t, k: [
            "restore",
            *_on(k),
            "--from-file",
            _file(t, {**_RECORD, "namespace": "cilium"}),
            "--approve",
        ],
        "is of cilium/cilium-config, but this cluster's Cilium config is kube-system/cilium-config",
    ),
    "configmap of another configmap": (
        lambda c, t, k: ["restore", *_on(k), _foreign_configmap(c), "--approve"],
        "is of kube-system/other-config, but this cluster's Cilium config is kube-system/cilium-config",
    ),
    "file of another cluster": (
        lambda c, t, k: ["restore", *_on(k), "--from-file", _file(t, {**_RECORD, "cluster": _ELSEWHERE})],
        "belongs to another cluster, 6b0c1f9e-0000-4000-8000-000000000000 (API server api.elsewhere.example:6443);"
        " this cluster is ",
    ),
    "file of another cluster, approved": (
        lambda c, t, k: [
            "restore",
            *_on(k),
            "--from-file",
            _file(t, {**_RECORD, "cluster": _ELSEWHERE}),
            "--approve",
        ],
        "or pass --other-cluster (other_cluster=True) to restore it here deliberately",
    ),
    "file with a malformed cluster": (
        lambda c, t, k: ["restore", *_on(k), "--from-file", _file(t, {**_RECORD, "cluster": ["x"]})],
        "cluster is not an object",
    ),
    "restore on an unreachable target": (
        lambda c, t, k: ["restore", "20200101-000000-000000", "--approve", *_on(_unreachable(t))],
        "cannot reach the API server at http://127.0.0.1:9",
    ),
    "backups of an unreachable target": (
        lambda c, t, k: ["backups", *_on(_unreachable(t))],
        "cannot reach the API server at http://127.0.0.1:9",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_on_stderr_exit_2_and_changes_nothing(shared, tmp_path, capsys, case):
    embedded, conn = shared
    make, expected = BAD_INPUTS[case]
    argv = make(conn, tmp_path, str(embedded.kubeconfig))
    before = state(conn)
    # README's exit codes: an unreachable cluster stopped us (3); everything else is bad input (2)
    assert main(argv) == (3 if "unreachable" in case else 2)
    out, err = capsys.readouterr()
    assert err.startswith("cilium-lab: error: ") and err.count("\n") == 1 and expected in err, err
    assert out == ""
    assert state(conn) == before


def test_other_cluster_is_explicit_and_an_old_backup_is_accepted_with_a_note(shared, tmp_path, capsys):
    embedded, conn = shared
    target = _on(str(embedded.kubeconfig))
    saved = json.loads(Path(backup.save(conn, NS, CM, VERSION, tmp_path).path).read_text())
    configmaps.patch(conn, NS, CM, {"cilium-lab-test": "1"})  # so each plan has something to do
    try:
        before = state(conn)
        foreign = _file(tmp_path, {**saved, "cluster": _ELSEWHERE})
        assert main(["restore", "--from-file", foreign, *target, "--other-cluster"]) == 0
        out = capsys.readouterr().out
        assert ": planned - not restored, nothing changed" in out
        assert "warning: backup 20200101-000000-000000 belongs to another cluster, 6b0c1f9e-" in out
        assert (
            f"to apply it: cilium-lab restore --from-file {foreign} --approve --other-cluster --cluster kube"
            in out
        )
        old = _file(tmp_path, {k: v for k, v in saved.items() if k != "cluster"})
        assert main(["restore", "--from-file", old, *target, "--json"]) == 0
        record = json.loads(capsys.readouterr().out)
        assert record["outcome"] == "planned" and record["backup_cluster"] is None
        assert any("records no cluster identity" in w for w in record["warnings"])
        assert state(conn) == before
    finally:
        configmaps.patch(conn, NS, CM, {"cilium-lab-test": None})


def test_backups_says_which_backups_are_of_another_cluster_or_of_none(shared, tmp_path, capsys):
    embedded, conn = shared
    target = _on(str(embedded.kubeconfig))
    own = backup.save(conn, NS, CM, VERSION, tmp_path)
    base = {"configmap": CM, "data.json": json.dumps(own.data), "node-configs.json": "[]"}
    copied, old = "20200101-000000-000003", "20200101-000000-000004"
    labels = {"app.kubernetes.io/managed-by": "cilium-lab"}
    configmaps.create(
        conn,
        NS,
        backup.PREFIX + copied,
        {**base, "cluster-uid": _ELSEWHERE["uid"], "cluster-server": _ELSEWHERE["server"]},
        labels,
    )
    configmaps.create(conn, NS, backup.PREFIX + old, base, labels)
    try:
        assert main(["backups", *target, "--json"]) == 0
        rows = {r["stamp"]: r for r in json.loads(capsys.readouterr().out)}
        assert rows[own.stamp]["this_cluster"] is True and rows[own.stamp]["cluster_uid"] == own.cluster_uid
        assert (
            rows[copied]["this_cluster"] is False and rows[copied]["cluster_server"] == _ELSEWHERE["server"]
        )
        assert rows[old]["this_cluster"] is None and rows[old]["cluster_uid"] == ""
        assert main(["backups", *target]) == 0
        text = capsys.readouterr().out
        assert (
            f"    taken on another cluster, {_ELSEWHERE['uid']} (API server {_ELSEWHERE['server']}):"
            " a restore here needs --other-cluster"
        ) in text
        assert "    records no cluster identity (written before cilium-lab recorded one)" in text
    finally:
        for stamp in (copied, old):
            configmaps.delete(conn, NS, backup.PREFIX + stamp)
