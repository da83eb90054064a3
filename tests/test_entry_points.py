"""One rule for every entry point, checked on every lab: `cilium-lab run NN` (one lab, the embedded cluster
that run starts), papermill (the notebook's own cluster, as in JupyterLab) and `cilium-lab run --all` (one
cluster for the series) decide alike, lab by lab. They differ by design in one thing, which is checked
as the rule and not as an equality: a lab alone on this run's own embedded cluster first catches up with
the earlier steps (each with the outcome that step had in the batch; a step that left the cluster as it
found it has nothing to catch up), while in the batch every earlier lab had its own turn. A shared
embedded cluster (`sim serve`, a kubeconfig) is never caught up. Lab 06 demonstrates BPF against legacy
host routing on the VMs (the model's TCP_RR about x2-3) through every entry point and leaves the boards
on legacy with the kernel as the reason and lab 05 as the advice.

Outputs are checked as data: the result record each lab writes. Everything here is SIMULATED. Cost: one
batch (17 labs in one kernel) for the session, shared by the xdist workers, and per lab one CLI process
and one papermill kernel, with two short TCP_RR samples.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from cilium_lab import catalog, labs, targets
from cilium_lab.change.outcomes import Decision
from cilium_lab.session import catchup, demonstration
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow

SMALL = {"samples": 2, "duration": 1, "tests": "TCP_RR"}
VMS, BOARDS = {"vm-1", "vm-2", "vm-3"}, {"board-1", "board-2", "board-3"}
CLI = [sys.executable, "-m", "cilium_lab.cli"]
LABS = labs.all_labs()
# a step that left the cluster as it found it in the batch: a lab after it alone has nothing to catch up
AS_FOUND = {Decision.REFUSED, Decision.DEMONSTRATED}


def _small(lab: labs.Lab) -> dict[str, object]:
    """The short benchmark settings this lab declares (`cilium-lab run` refuses a -p the lab lacks)."""
    declared = papermill.inspect_notebook(str(lab.notebook))
    return {name: value for name, value in SMALL.items() if name in declared}


def _through_papermill(lab: labs.Lab, out: Path, **parameters: object) -> dict:
    """The lab as papermill (or a JupyterLab kernel) runs it: cluster="sim:seed-mixed", no kubeconfig."""
    results = out / "results"
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(lab.notebook), str(out / lab.notebook.name), kernel_name="python3", cwd=str(lab.source.parent),
        parameters={"approve": True, "results_dir": str(results), **_small(lab), **parameters},
        progress_bar=False,
    )  # fmt: skip
    return json.loads((results / f"{lab.name}.json").read_text())


def _cli_command(out: Path, *chosen: str, small: dict[str, object]) -> list[str]:
    return [
        *CLI, "run", *chosen, "--approve", "--out", str(out),
        *(arg for name, value in small.items() for arg in ("-p", name, str(value))),
    ]  # fmt: skip


def _through_cli(lab: labs.Lab, out: Path) -> tuple[dict, int]:
    """`cilium-lab run NN --approve --out D` in a subprocess, as a learner types it: its record and exit status."""
    command = _cli_command(out, f"{lab.number:02d}", small=_small(lab))
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    path = out / "results" / f"{lab.name}.json"
    assert path.is_file(), f"{' '.join(command[2:])} wrote no record (exit {done.returncode}): {done.stderr}"
    return json.loads(path.read_text()), done.returncode


def _through_batch(out: Path) -> dict[str, dict]:
    """`cilium-lab run --all --approve --out D`: one embedded cluster and one kernel for the 17 labs."""
    done = subprocess.run(
        _cli_command(out, "--all", small=SMALL),
        capture_output=True,
        text=True,
        timeout=900,
        env=os.environ.copy(),
    )
    found = {lab.name: out / "results" / f"{lab.name}.json" for lab in LABS}
    missing = [name for name, path in found.items() if not path.is_file()]
    assert not missing, f"--all wrote no record for {missing} (exit {done.returncode}): {done.stderr}"
    return {name: json.loads(path.read_text()) for name, path in found.items()}


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, dict]:
    """The --all run's record per lab, taken once per session: under xdist the first worker to get here
    runs it and the others wait and read it (xdist's documented way to run a session fixture once)."""
    if worker_id == "master":
        return _through_batch(tmp_path_factory.mktemp("batch"))
    shared = tmp_path_factory.getbasetemp().parent / "entry-points-batch"
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / "complete").is_file():
            _through_batch(shared)
            (shared / "complete").touch()
    return {lab.name: json.loads((shared / "results" / f"{lab.name}.json").read_text()) for lab in LABS}


def _ratio(record: dict, test: str, metric: str) -> float:
    [row] = [r for r in record["comparison"] if r["test"] == test and r["metric"] == metric]
    return row["ratio"]


def _node_outcomes(record: dict) -> dict[str, str]:
    return {n["node"]: n["outcome"] for n in (record["apply"] or {}).get("nodes", [])}


def _catch_up_rule(lab: labs.Lab, batch: dict[str, dict]) -> list[list[str]]:
    """What a lab alone catches up with: each earlier step the rule names (`catchup.steps_before`) that
    changed the cluster in the batch, with the outcome it had there, in series order."""
    decided = {r["item"]: r["decision"] for r in batch.values()}
    return [
        [step.id, decided[step.id]]
        for step in catchup.steps_before(catalog.for_lab(lab.name), set())
        if decided[step.id] not in AS_FOUND
    ]


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_every_lab_decides_alike_alone_through_the_cli_through_papermill_and_in_the_batch(
    lab, batch, tmp_path
):
    in_batch = batch[lab.name]
    through_cli, cli_exit = _through_cli(lab, tmp_path / "cli")
    through_papermill = _through_papermill(lab, tmp_path / "papermill")
    records = {"run NN": through_cli, "papermill": through_papermill, "run --all": in_batch}

    decisions = {way: r["decision"] for way, r in records.items()}
    assert len(set(decisions.values())) == 1, decisions
    nodes = {way: _node_outcomes(r) for way, r in records.items()}
    assert nodes["run NN"] == nodes["papermill"] == nodes["run --all"], nodes
    measured = {
        way: sorted({(c["test"], c["metric"]) for c in r["comparison"]}) for way, r in records.items()
    }
    assert measured["run NN"] == measured["papermill"] == measured["run --all"], measured
    codes = {way: r["exit_code"] for way, r in records.items()}
    assert cli_exit == codes["run NN"] == codes["papermill"] == codes["run --all"], (cli_exit, codes)
    # no lab finds its feature in effect and ends with nothing to show: where the agent or an earlier
    # step turned it on already, the lab declares `demonstrate` (lab 06) and shows it switched off and on
    assert Decision.SKIPPED not in decisions.values(), f"{lab.name} ended skipped with nothing measured"

    # the rule where they differ by design: the batch never catches up, a lab alone catches up with the
    # earlier steps as the batch left them
    assert "catch_up" not in in_batch["extra"]
    rule = _catch_up_rule(lab, batch)
    assert through_cli["extra"].get("catch_up", []) == through_papermill["extra"].get("catch_up", []) == rule

    if lab.name in SHOWN_ALIKE:
        SHOWN_ALIKE[lab.name](records, tmp_path)


def _lab_06_demonstrates_bpf_against_legacy_host_routing(records: dict[str, dict], tmp_path: Path) -> None:
    for way, record in records.items():
        assert record["decision"] == Decision.DEMONSTRATED, way
        shown = record["extra"]["demonstration"]
        assert set(shown["switched_off"]) == VMS, way
        # what the VMs' agents showed: "Cilium (Legacy Host Routing)" against "Cilium", as the article has it
        assert {n: "host_routing = Legacy" in seen for n, seen in shown["off"].items()} == dict.fromkeys(
            VMS, True
        )
        assert {n: "host_routing = BPF" in seen for n, seen in shown["on"].items()} == dict.fromkeys(
            VMS, True
        )
        assert _ratio(record, "TCP_RR", "transaction_rate") >= 2.0, way  # legacy -> BPF host routing, VMs
        nodes = {n["node"]: n for n in record["apply"]["nodes"]}
        assert {nodes[b]["outcome"] for b in BOARDS} == {"refused"}, way
        assert all("older than 5.10" in nodes[b]["reason"] for b in BOARDS), way
        fallback = record["extra"]["fallback"]
        assert set(fallback) == BOARDS, way
        assert all("older than 5.10" in fallback[b]["reason"] for b in BOARDS), way
        assert {fallback[b]["advice_lab"] for b in BOARDS} == {"05-bypass-iptables-conntrack"}, way
        assert {fallback[b]["advice_state"] for b in BOARDS} == {"enabled"}, (
            way
        )  # lab 05 ran or was caught up
        behind = record["extra"]["commands_behind"]  # every step shows the commands behind it (point 3)
        assert behind["verify"] == [
            'kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium status --verbose | grep "Host Routing"'
        ], way
        assert {"snapshot", "readiness", "measure before", "plan", "measure after"} <= set(behind), way
    notebook = (tmp_path / "papermill" / "06-bpf-host-routing.ipynb").read_text()
    assert "<details class='cilium-lab-commands'><summary>Commands behind this step</summary>" in notebook


def _lab_99_sees_the_series_end_alike(records: dict[str, dict], tmp_path: Path) -> None:
    """Alone, lab 99 reads a caught-up cluster: every node's state per step as the batch left it; the
    lab's decision column says "not run" there, since no earlier lab wrote a record in its folder."""
    batch_list = records["run --all"]["extra"]["checklist"]
    for way in ("run NN", "papermill"):
        alone = records[way]["extra"]["checklist"]
        assert set(alone) == set(batch_list), way
        for step, row in batch_list.items():
            assert {**alone[step], "lab decision": row["lab decision"]} == row, (way, step)
            assert alone[step]["lab decision"] == "not run", (way, step)


def _lab_00_scores_the_fresh_cluster_alike(records: dict[str, dict], tmp_path: Path) -> None:
    cards = [r["extra"]["scorecard"] for r in records.values()]
    assert cards[0] == cards[1] == cards[2]


SHOWN_ALIKE = {
    "00-overview": _lab_00_scores_the_fresh_cluster_alike,
    "06-bpf-host-routing": _lab_06_demonstrates_bpf_against_legacy_host_routing,
    "99-summary": _lab_99_sees_the_series_end_alike,
}


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
    item = catalog.for_lab(lab.name)
    for own, batch in _entry_point_targets():
        on_own, on_batch = catchup.to_catch_up(own, item), catchup.to_catch_up(batch, item)
        assert on_own is not None and on_own == on_batch
        assert [i.number for i in on_own] == [
            i.number
            for i in catalog.TUNINGS
            if i.number < item.number and i.targets and i.id != "hubble-overhead"
        ]


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
        # what each VM's agent showed switched off and on again, in the record, the report and the heading
        states = lab.record_extra["demonstration"]
        assert set(states["off"].values()) == {"BPF host routing: host_routing = Legacy (agent status)"}
        assert set(states["on"].values()) == {"BPF host routing: host_routing = BPF (agent status)"}
        assert set(states["off"]) == set(states["on"]) == VMS
        assert {lab.report.nodes[vm].reason for vm in VMS} == {
            f"switched off ({states['off']['vm-1']}), measured, switched back on ({states['on']['vm-1']})"
        }
        heading = demonstration.caption(lab.item, states)
        assert heading.startswith("**Demonstration on vm-1, vm-2, vm-3: BPF host routing switched off (")
        assert "host_routing = Legacy" in heading.split("against on again")[0]
        assert "host_routing = BPF" in heading.split("against on again")[1]
    finally:
        lab.target.close()
