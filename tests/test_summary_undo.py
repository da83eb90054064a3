"""Lab 99's "how to undo the series" step: from the result records of a results folder, the earliest backup
that belongs to this cluster, and the exact `cilium-lab restore` command that puts the cluster back as it
was before the series (run here, it does); the file when the ConfigMap was pruned; records of other clusters
are not offered; lab 15's host backups each get their `cilium-lab restore-host` command (run here, it puts
the nodes' host settings back). On the embedded cluster, through the library and through the notebook itself."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from restore_helpers import CM, NS, apply

from cilium_lab import labs
from cilium_lab.change.backups import backup
from cilium_lab.change.host import tuning as host
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps, discover, rollout, snapshot
from cilium_lab.cluster.connect import connect
from cilium_lab.session import summary, undo


def _report(
    stamp: str = "", *, outcome: str = "applied", item: str = "kube-proxy-replacement", path: str = ""
):
    return {
        "item": item,
        "outcome": outcome,
        "backup_configmap": backup.PREFIX + stamp if stamp else "",
        "backup_path": path or (f"runs/backups/{stamp}-cilium-config.json" if stamp else ""),
    }


def test_candidates_are_every_cilium_backup_the_records_name_oldest_first():
    records = [
        {"lab": "02-kube-proxy-replacement", "apply": _report("20250101-000002-000000")},
        {"lab": "01-native-routing", "apply": _report("20250101-000001-000000", outcome="rolled back")},
        {"lab": "03-bpf-masquerade", "apply": {**_report("20250101-000003-000000"), "backup_configmap": ""}},
        {
            "lab": "08-hubble-overhead",
            "apply": _report("20250101-000008-000000"),
            "extra": {"restore": _report("20250101-000009-000000")},
        },
        {"lab": "15-host-tuning", "apply": _report(item="host", path="runs/host-backups/host-2025.json")},
        {"lab": "06-bpf-host-routing", "apply": _report(outcome="skipped")},  # not approved: no backup
        {"lab": "99-summary", "apply": None, "extra": {}},
    ]
    found = undo.candidates(records)
    assert [(c.stamp, c.lab) for c in found] == [
        (
            "20250101-000001-000000",
            "01-native-routing",
        ),  # a rolled-back change's backup is the state before too
        ("20250101-000002-000000", "02-kube-proxy-replacement"),
        ("20250101-000003-000000", "03-bpf-masquerade"),  # the file's name holds the stamp
        ("20250101-000008-000000", "08-hubble-overhead"),
        ("20250101-000009-000000", "08-hubble-overhead"),
    ]


@pytest.fixture
def conn(embedded):
    conn = connect(str(embedded.kubeconfig))
    rollout.wait(conn, discover.find(conn), timeout=20)
    return conn


def _records(conn, results: Path) -> list[dict]:
    """Labs 02 and 03 applied, each writing its record as a lab does (`ApplyReport.to_record()` as `apply`)."""
    for lab, item in (
        ("02-kube-proxy-replacement", "kube-proxy-replacement"),
        ("03-bpf-masquerade", "bpf-masquerade"),
    ):
        report = apply(conn, item, results)
        (results / f"{lab}.json").write_text(json.dumps({"lab": lab, "apply": report.to_record()}))
    return summary.lab_records(results)


def test_the_command_puts_the_cluster_back_as_it_was_before_the_series(embedded, conn, tmp_path, capsys):
    original = configmaps.read(conn, NS, CM).data
    results = tmp_path / "runs"
    records = _records(conn, results)
    first = records[0]["apply"]["backup_configmap"].removeprefix(backup.PREFIX)
    target = undo.target_args("sim:seed-mixed", str(embedded.kubeconfig))
    found = undo.find(conn, records, results)
    assert found.applied == ("02-kube-proxy-replacement", "03-bpf-masquerade")
    assert found.chosen.stamp == first and found.chosen.lab == "02-kube-proxy-replacement"
    command = found.command(target)
    assert (
        command == f"cilium-lab restore {first} --cluster sim:seed-mixed --kubeconfig {embedded.kubeconfig}"
    )
    text = undo.markdown(found, target, simulated=True)
    assert f"**{first}** (taken just before 02-kube-proxy-replacement's change)" in text
    assert "as it was before the series" in text and f"```sh\n{command}\n```" in text
    assert "cilium-config (exactly), the CiliumNodeConfigs and cilium-lab's node labels" in text
    assert "host tuning" not in text
    assert found.to_record(target)["command"] == command

    argv = shlex.split(command)
    assert argv[:2] == ["cilium-lab", "restore"]
    assert main([*argv[1:], "--approve", "--results-dir", str(tmp_path / "undo")]) == 0
    assert ": restored - " in capsys.readouterr().out
    assert configmaps.read(conn, NS, CM).data == original
    assert {(n.status.kube_proxy_replacement, n.status.masquerading) for n in snapshot.take(conn).nodes} == {
        ("Disabled", "IPTables")
    }


def test_a_pruned_backup_is_restored_from_its_file(conn, tmp_path):
    results = tmp_path / "runs"
    records = _records(conn, results)
    first = records[0]["apply"]
    configmaps.delete(conn, NS, first["backup_configmap"])
    found = undo.find(conn, records, results)
    assert found.chosen.lab == "02-kube-proxy-replacement"
    assert found.from_file == str(Path(first["backup_path"]).resolve())
    assert (
        found.command(" --cluster kube") == f"cilium-lab restore --from-file {found.from_file} --cluster kube"
    )
    assert "no longer in the cluster (pruned?)" in undo.markdown(found, "", simulated=False)


def test_backups_of_another_cluster_are_not_offered(conn, tmp_path):
    results = tmp_path / "runs"
    records = _records(conn, results)
    for record in records:  # as if the labs had run on another cluster: no ConfigMaps here, files name it
        configmaps.delete(conn, NS, record["apply"]["backup_configmap"])
        path = Path(record["apply"]["backup_path"])
        path.write_text(
            json.dumps({**json.loads(path.read_text()), "cluster": {"uid": "else", "server": "x:1"}})
        )
    found = undo.find(conn, records, results)
    assert found.chosen is None and found.elsewhere == 2 and found.command(" --cluster kube") == ""
    text = undo.markdown(found, " --cluster kube", simulated=False)
    assert (
        "none of the backups they took can be restored on this cluster (2 belong to other clusters)" in text
    )


def test_an_older_backup_file_is_offered_with_a_note(conn, tmp_path):
    results = tmp_path / "runs"
    records = _records(conn, results)
    first = records[0]["apply"]
    configmaps.delete(conn, NS, first["backup_configmap"])
    path = Path(first["backup_path"])
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "cluster"}))
    found = undo.find(conn, records, results)
    assert found.chosen.lab == "02-kube-proxy-replacement" and found.unchecked
    assert "records no cluster identity" in undo.markdown(found, "", simulated=False)


def test_nothing_applied_and_host_tuning_are_said(conn, tmp_path):
    host_file = tmp_path / "host-backups" / "host-20250101T000000-abcdef.json"
    host_file.parent.mkdir()
    state = {
        "cpus": 2,
        "tuned": "balanced",
        "governors": ["ondemand"],
        "irqbalance": "active",
        "irqbalance_enabled": "enabled",
        "irqs": {"24": "0-1"},
    }
    host_file.write_text(json.dumps({"vm-1": state, "vm-2": state}))
    records = [
        {"lab": "02-kube-proxy-replacement", "apply": _report(outcome="skipped")},
        {"lab": "15-host-tuning", "apply": _report(item="host", path=str(host_file))},
    ]
    found = undo.find(conn, records, tmp_path)
    assert found.applied == () and found.host_applied == ("15-host-tuning",)
    text = undo.markdown(found, "", simulated=False)
    assert text.startswith(
        "_Nothing of Cilium's config to undo: no lab in this results folder applied a change._"
    )
    assert (
        "The host tuning of 15-host-tuning is not Cilium config: `cilium-lab restore` does not touch it."
        in text
    )
    assert (
        f"`{host_file}` (vm-1, vm-2: tuned balanced, governor ondemand, irqbalance active (enabled))" in text
    )
    assert f"```sh\ncilium-lab restore-host {host_file}\n```" in text and "add `--approve` to restore" in text
    assert found.to_record("")["host_commands"] == [f"cilium-lab restore-host {host_file}"]


def test_each_host_backup_gets_the_command_that_puts_the_nodes_back(
    embedded, conn, tmp_path, monkeypatch, capsys
):
    from test_change_host_restore import TUNED, states, tune

    saved = states(conn)
    results = tmp_path / "runs"
    monkeypatch.chdir(tmp_path)
    first = tune(conn, Path("runs"))  # recorded relative to where the lab ran, as a lab records it
    # lab 15 again, installing tuned: its backup holds the first's result
    plan = host.plan_host(snapshot.take(conn), nodes=list(TUNED), install_tuned=True)
    second = Path(host.apply_host(conn, plan, approved=True, results_dir="runs", timeout=20).backup_path)
    records = [
        {"lab": "15-host-tuning", "apply": _report(item="host", path=str(first))},
        {"lab": "15-host-tuning", "apply": {**_report(item="host", path=str(second)), "outcome": "skipped"}},
    ]
    found = undo.find(conn, records, results)
    assert found.host_backups == (str(first.resolve()), str(second.resolve()))
    target = undo.target_args("sim:seed-mixed", str(embedded.kubeconfig))
    commands = found.host_commands(target)
    assert commands[0] == (
        f"cilium-lab restore-host {first.resolve()} --cluster sim:seed-mixed --kubeconfig {embedded.kubeconfig}"
    )
    text = undo.markdown(found, target, simulated=True)
    assert "```sh\n" + "\n".join(commands) + "\n```" in text and "(missing or unreadable)" not in text
    assert found.to_record(target)["host_commands"] == commands

    # the first backup is the state before lab 15: its command, approved, puts it back
    argv = [*shlex.split(commands[0])[1:], "--approve", "--results-dir", str(tmp_path / "undo")]
    assert main(argv) == 0
    assert "restored - 2 node(s) restored" in capsys.readouterr().out
    assert states(conn, TUNED) == saved


@pytest.mark.slow
def test_lab_99_prints_the_command_and_it_undoes_the_series(embedded, conn, tmp_path, capsys):
    original = configmaps.read(conn, NS, CM).data
    runs = labs.run(
        [labs.get("02"), labs.get("99")],
        out_dir=tmp_path,
        kubeconfig=str(embedded.kubeconfig),
        approve=True,
        parameters={"samples": 2, "duration": 1},
    )
    assert [(r.lab.name, r.ok, r.error) for r in runs] == [(r.lab.name, True, "") for r in runs]
    applied = runs[0].record["apply"]
    said = runs[1].record["extra"]["undo"]
    assert said["applied"] == ["02-kube-proxy-replacement"]
    assert said["stamp"] == applied["backup_configmap"].removeprefix(backup.PREFIX)
    assert said["command"] == (
        f"cilium-lab restore {said['stamp']} --cluster sim:seed-mixed --kubeconfig {embedded.kubeconfig}"
    )
    notebook = json.loads((tmp_path / "99-summary.ipynb").read_text())
    shown = json.dumps([c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code"])
    assert said["command"] in shown
    assert (
        main([*shlex.split(said["command"])[1:], "--approve", "--results-dir", str(tmp_path / "undo")]) == 0
    )
    assert configmaps.read(conn, NS, CM).data == original
