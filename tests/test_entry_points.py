"""One rule for every entry point: a lab alone on this run's own embedded cluster starts where the series
would have left it, whether started by `cilium-lab run LAB` (one cluster for the batch) or by papermill
(the notebook's own cluster, as in JupyterLab); a shared embedded cluster (`sim serve`, a kubeconfig) is
never caught up. Lab 06 alone demonstrates BPF against legacy host routing on the VMs (the model's TCP_RR
about x2-3) and leaves the boards on legacy with the kernel as the reason and lab 05 as the advice.

Outputs are checked as data: the result record each lab writes. Everything here is SIMULATED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from cilium_lab import catalog, labs, targets
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow

SMALL = {"samples": 2, "duration": 1, "tests": "TCP_RR"}
VMS, BOARDS = {"vm-1", "vm-2", "vm-3"}, {"board-1", "board-2", "board-3"}
CLI = [sys.executable, "-m", "cilium_lab.cli"]


def _through_papermill(lab: labs.Lab, out: Path, **parameters: object) -> dict:
    """The lab as papermill (or a JupyterLab kernel) runs it: cluster="sim:seed-mixed", no kubeconfig."""
    results = out / "results"
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(lab.notebook), str(out / lab.notebook.name), kernel_name="python3", cwd=str(lab.source.parent),
        parameters={"approve": True, "results_dir": str(results), **SMALL, **parameters}, progress_bar=False,
    )  # fmt: skip
    return json.loads((results / f"{lab.name}.json").read_text())


def _through_cli(lab: labs.Lab, out: Path) -> dict:
    """`cilium-lab run NN --approve --out D` in a subprocess, as a learner types it."""
    small = [arg for name, value in SMALL.items() for arg in ("-p", name, str(value))]
    command = [*CLI, "run", f"{lab.number:02d}", "--approve", "--out", str(out), *small]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results" / f"{lab.name}.json").read_text())


def _ratio(record: dict, test: str, metric: str) -> float:
    [row] = [r for r in record["comparison"] if r["test"] == test and r["metric"] == metric]
    return row["ratio"]


def test_lab_06_alone_demonstrates_bpf_against_legacy_host_routing_the_same_through_cli_and_papermill(
    tmp_path,
):
    lab = labs.get("06")
    through_cli = _through_cli(lab, tmp_path / "cli")
    through_papermill = _through_papermill(lab, tmp_path / "papermill")
    for record in (through_cli, through_papermill):
        assert record["decision"] == "demonstrated (switched off and back on; the cluster as found)"
        assert [i for i, _ in record["extra"]["catch_up"]] == [
            "native-routing",
            "kube-proxy-replacement",
            "bpf-masquerade",
            "nodeport-dsr",
            "bypass-iptables-conntrack",
        ]
        assert set(record["extra"]["demonstration"]["switched_off"]) == VMS
        assert _ratio(record, "TCP_RR", "transaction_rate") >= 2.0  # legacy -> BPF host routing, VMs
        nodes = {n["node"]: n for n in record["apply"]["nodes"]}
        assert {nodes[b]["outcome"] for b in BOARDS} == {"refused"}
        assert all("older than 5.10" in nodes[b]["reason"] for b in BOARDS)
        fallback = record["extra"]["fallback"]
        assert set(fallback) == BOARDS
        assert all("older than 5.10" in fallback[b]["reason"] for b in BOARDS)
        assert {fallback[b]["advice_lab"] for b in BOARDS} == {"05-bypass-iptables-conntrack"}
        assert {fallback[b]["advice_state"] for b in BOARDS} == {"enabled"}  # the catch-up applied lab 05
        behind = record["extra"]["commands_behind"]  # every step shows the commands behind it (point 3)
        assert behind["verify"] == [
            'kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium status --verbose | grep "Host Routing"'
        ]
        assert {"snapshot", "readiness", "measure before", "plan", "measure after"} <= set(behind)
    assert through_cli["decision"] == through_papermill["decision"]
    notebook = (tmp_path / "papermill" / lab.notebook.name).read_text()
    assert "<details class='cilium-lab-commands'><summary>Commands behind this step</summary>" in notebook


def test_demonstrate_false_leaves_lab_06_with_nothing_to_change_on_the_vms(tmp_path):
    record = _through_papermill(labs.get("06"), tmp_path, demonstrate=False)
    assert record["decision"] == "skipped"
    assert "demonstration" not in record["extra"]
    assert record["comparison"] == []


def test_a_shared_embedded_cluster_is_never_caught_up(tmp_path):
    """A kubeconfig to an embedded cluster this run did not start (as `sim serve` gives): a kube target."""
    with EmbeddedCluster(profile="seed-mixed") as shared:
        target = targets.connect_target("kube", str(shared.kubeconfig))
        try:
            assert targets.series_done(target) is None
        finally:
            target.close()
        [run] = labs.run(
            [labs.get("06")], out_dir=tmp_path, cluster="kube", kubeconfig=str(shared.kubeconfig),
            approve=True, parameters=SMALL,
        )  # fmt: skip
    assert run.ok, run.error
    assert "catch_up" not in run.record["extra"]
    assert run.record["decision"] == "refused"  # needs KPR and BPF masquerading first, as on a real cluster


def test_a_batch_catches_up_only_the_steps_it_does_not_run(tmp_path):
    with targets.embedded_kubeconfig("seed-mixed") as kubeconfig:
        target = targets.connect_target("sim:seed-mixed", kubeconfig)
        try:
            assert targets.series_done(target) == set()
            targets.mark_done(target, {1, 2, 3})
            from cilium_lab.session import catchup

            assert [i.number for i in catchup.to_catch_up(target, catalog.get("bpf-host-routing"))] == [4, 5]
        finally:
            target.close()


def _entry_point_targets():
    """The two ways a lab alone gets its cluster: the notebook's own (papermill, JupyterLab) and the one
    `cilium-lab run LAB` starts for its batch and hands over as a kubeconfig."""
    own = targets.connect_target("sim:seed-mixed")
    with targets.embedded_kubeconfig("seed-mixed") as kubeconfig:
        batch = targets.connect_target("sim:seed-mixed", kubeconfig)
        try:
            yield own, batch
        finally:
            batch.close()
            own.close()


@pytest.mark.parametrize("lab", labs.all_labs(), ids=lambda lab: lab.name)
def test_the_rule_catches_every_lab_up_alike_on_both_entry_points(lab):
    from cilium_lab.session import catchup

    item = catalog.for_lab(lab.name)
    for own, batch in _entry_point_targets():
        on_own, on_batch = catchup.to_catch_up(own, item), catchup.to_catch_up(batch, item)
        assert on_own is not None and on_own == on_batch
        assert [i.number for i in on_own] == [
            i.number
            for i in catalog.TUNINGS
            if i.number < item.number and i.targets and i.id != "hubble-overhead"
        ]


@pytest.mark.parametrize("name", ["02", "08"])
def test_a_lab_alone_decides_the_same_through_cli_and_papermill(name, tmp_path):
    lab = labs.get(name)
    through_cli = _through_cli(lab, tmp_path / "cli")
    through_papermill = _through_papermill(lab, tmp_path / "papermill")
    assert through_cli["decision"] == through_papermill["decision"] == "applied"
    assert through_cli["extra"].get("catch_up") == through_papermill["extra"].get("catch_up")


def test_a_demonstration_leaves_the_cluster_as_it_found_it(tmp_path):
    from cilium_lab import session
    from cilium_lab.cluster import discover, objects, snapshot

    lab = session.start("06-bpf-host-routing", approve=True, results_dir=str(tmp_path), **SMALL)
    try:
        for step in ("snapshot", "readiness"):
            getattr(lab, step)()
        lab.measure("before")
        lab.plan()
        found = lab.snapshot_before
        assert lab.demo_plan is not None and set(lab.demo_plan.scoped) == VMS
        lab.confirm()
        now = snapshot.take(lab.target.connection)
        assert now.config == found.config
        assert [objects.name_of(c) for c in now.node_configs] == [
            objects.name_of(c) for c in found.node_configs
        ]
        assert {n.name: n.status.host_routing for n in now.nodes} == {
            n.name: n.status.host_routing for n in found.nodes
        }
        labels = [objects.labels(n) for n in discover.list_nodes(lab.target.connection)]
        assert not [k for found_labels in labels for k in found_labels if k.startswith("cilium-lab.io/demo")]
    finally:
        lab.target.close()
