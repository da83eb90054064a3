"""`cilium-lab restore-host` on the embedded cluster through the CLI entry point: lab 15's host tuning applied
to two nodes, the plan without --approve (host facts unchanged, the exact command to apply it), the restore
(governor, tuned, irqbalance and IRQ pins back as saved, a new host backup), again (already as saved),
--node, a user without the host role (refused, nothing changed), and bad input (one line, exit code 2)."""

from __future__ import annotations

import json

from test_change_host import host_facts
from test_change_host_restore import TUNED, states, tune
from test_cluster_rbac import _kubeconfig

from cilium_lab.change.host import host_restore
from cilium_lab.cli import main


def _target(embedded) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig)]


def test_plan_then_restore_then_already_as_saved(embedded, conn, tmp_path, capsys):
    facts, saved = host_facts(conn), states(conn)
    path = tune(conn, tmp_path / "runs")
    tuned_facts, tuned = host_facts(conn), states(conn)
    target, results = _target(embedded), tmp_path / "undo"
    capsys.readouterr()

    assert main(["restore-host", str(path), *target]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"SIMULATED: host settings of {path}: planned - nothing changed; 2 of 2 node(s) differ"
    )
    assert "  board-1: would run 8 command(s):" in out and "      systemctl start irqbalance" in out
    assert (
        f"to apply it: cilium-lab restore-host {path} --approve --cluster kube --kubeconfig {embedded.kubeconfig}\n"
        in out
    )
    assert host_facts(conn) == tuned_facts and states(conn) == tuned and not results.exists()

    argv = ["restore-host", str(path), *target, "--approve", "--results-dir", str(results)]
    assert main([*argv, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["outcome"] == "restored" and record["simulated"] is True
    assert {n["node"]: n["outcome"] for n in record["nodes"]} == dict.fromkeys(TUNED, "restored")
    assert host_facts(conn) == facts and states(conn) == saved
    [undo] = (results / "host-backups").glob("*.json")
    assert record["backup_path"] == str(undo) and host_restore.load(undo).nodes == tuned

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "board-1: skipped: already as saved" in out and "vm-1: skipped: already as saved" in out
    assert list((results / "host-backups").glob("*.json")) == [undo]
    assert main(["restore-host", str(path), *target]) == 0
    assert "nothing to restore: every node is as the file says" in capsys.readouterr().out


def test_node_restricts_it_and_is_in_the_next_command(embedded, conn, tmp_path, capsys):
    path = tune(conn, tmp_path)
    tuned = states(conn)
    capsys.readouterr()
    assert main(["restore-host", str(path), "--node", "vm-1", *_target(embedded)]) == 0
    out = capsys.readouterr().out
    assert "vm-1: would run" in out and "board-1" not in out
    assert f"cilium-lab restore-host {path} --node vm-1 --approve --cluster kube" in out
    argv = ["restore-host", str(path), "--node", "vm-1", "--approve", "--results-dir", str(tmp_path)]
    assert main([*argv, *_target(embedded)]) == 0
    now = states(conn)
    assert now["vm-1"] == host_restore.load(path).nodes["vm-1"] and now["board-1"] == tuned["board-1"]


def test_a_user_without_the_host_role_is_refused_and_nothing_changes(embedded, conn, tmp_path, capsys):
    path = tune(conn, tmp_path / "runs")
    tuned, facts = states(conn), host_facts(conn)
    token = embedded.add_user("op", ("cilium-lab-operators",))
    kubeconfig = _kubeconfig(tmp_path, str(embedded.kubeconfig), token)
    capsys.readouterr()
    for approve in ([], ["--approve"]):
        argv = ["restore-host", str(path), "--kubeconfig", kubeconfig, "--results-dir", str(tmp_path / "x")]
        assert main([*argv, *approve]) == 3  # forbidden: the cluster stopped us before any change
        *progress, err = capsys.readouterr().err.splitlines()  # progress lines are indented
        assert all(line.startswith("  ") for line in progress)
        assert err.startswith("cilium-lab: error: forbidden: ") and "cilium-lab-host" in err
    assert states(conn) == tuned and host_facts(conn) == facts and not (tmp_path / "x").exists()


def test_bad_input_is_one_line_and_exit_2(embedded, conn, tmp_path, capsys):
    path = tune(conn, tmp_path)
    tuned = states(conn)
    saved = json.loads(path.read_text())
    ghost = tmp_path / "ghost.json"
    ghost.write_text(json.dumps({**saved, "ghost-1": saved["vm-1"]}))
    cilium = tmp_path / "20250101-000000-000000-cilium-config.json"
    cilium.write_text(json.dumps({"stamp": "20250101-000000-000000", "data": {"tunnel": "vxlan"}}))
    cases = [
        (["restore-host", str(tmp_path / "nope.json")], "no host backup file"),
        (["restore-host", str(cilium)], "is not a host backup"),
        (["restore-host", str(ghost), *_target(embedded)], "node ghost-1 in"),
        (
            ["restore-host", str(path), "--node", "vm-2", *_target(embedded)],
            "has no saved host settings for vm-2",
        ),
    ]
    capsys.readouterr()
    for argv, message in cases:
        for approve in ([], ["--approve"]):
            assert main([*argv, *approve, "--results-dir", str(tmp_path / "x")]) == 2, argv
            err = capsys.readouterr().err
            assert err.startswith("cilium-lab: error: ") and err.count("\n") == 1 and message in err, err
    assert states(conn) == tuned and not (tmp_path / "x").exists()
