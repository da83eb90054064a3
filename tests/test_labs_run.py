"""Every lab through papermill on the embedded cluster, both approval paths, and the whole series.

Outputs are checked as data: the result record each lab writes, and the cluster's own state read
back through its kubeconfig. Notebooks are never compared as snapshots.
"""

from __future__ import annotations

import json

import kubernetes
import pytest

from cilium_lab import labs
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.ui import rendering

pytestmark = pytest.mark.slow

SMALL = {"samples": 2, "duration": 1}
CHANGE_LABS = [lab for lab in labs.all_labs() if 1 <= lab.number <= 13]
VIEW_DECISIONS = {
    "no change (a view of the series)",
    "no change (commands shown; a kernel change is a node reboot)",
}


def _config_state(kubeconfig: str) -> tuple[dict, str, int]:
    client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    cm = kubernetes.client.CoreV1Api(client).read_namespaced_config_map("cilium-config", "kube-system")
    cncs = kubernetes.client.CustomObjectsApi(client).list_namespaced_custom_object(
        "cilium.io", "v2alpha1", "kube-system", "ciliumnodeconfigs"
    )
    return dict(cm.data), cm.metadata.resource_version, len(cncs["items"])


def _run(lab, tmp_path, kubeconfig, approve):
    [run] = labs.run([lab], out_dir=tmp_path, kubeconfig=kubeconfig, approve=approve, parameters=SMALL)
    assert run.ok, f"{lab.name} failed: {run.error} (see {run.executed})"
    return run.record


@pytest.mark.parametrize("lab", labs.all_labs(), ids=lambda lab: lab.name)
def test_headless_without_approval_changes_nothing(lab, tmp_path):
    with EmbeddedCluster(profile="seed-mixed") as cluster:
        before = _config_state(cluster.kubeconfig)
        record = _run(lab, tmp_path, cluster.kubeconfig, approve=False)
        assert _config_state(cluster.kubeconfig) == before
    assert record["lab"] == lab.name
    assert record["target"]["simulated"] is True
    assert record["approve"] is False
    if lab.number in range(1, 14):
        assert record["decision"] in {"not approved", "refused"}, record["decision"]
        assert record["apply"] is None or record["apply"]["outcome"] == "skipped"
    elif lab.number != 15:
        assert record["decision"] in VIEW_DECISIONS


@pytest.mark.parametrize("lab", CHANGE_LABS, ids=lambda lab: lab.name)
def test_with_approval_the_lab_decides_and_says_why(lab, tmp_path):
    with EmbeddedCluster(profile="seed-mixed") as cluster:
        before = _config_state(cluster.kubeconfig)
        record = _run(lab, tmp_path, cluster.kubeconfig, approve=True)
        after = _config_state(cluster.kubeconfig)
    assert record["approve"] is True
    assert record["decision"] in {"applied", "refused", "rolled back", "skipped"}, record["decision"]
    if record["decision"] == "applied":
        assert after != before  # something really changed on the cluster
        assert record["comparison"], "an applied change is measured before and after"
        nodes = record["apply"]["nodes"]
        assert {n["node"] for n in nodes} == {f"vm-{i}" for i in (1, 2, 3)} | {
            f"board-{i}" for i in (1, 2, 3)
        }
    if record["decision"] in {"refused", "rolled back"}:
        assert after[0] == before[0], "a refused or rolled-back change leaves cilium-config as it was"


def test_the_series_in_one_batch_ends_as_the_catalogue_says_in_a_folder_people_can_keep(tmp_path):
    runs = labs.run(labs.all_labs(), out_dir=tmp_path, approve=True, html=True, parameters=SMALL)
    failed = [(r.lab.name, r.error) for r in runs if not r.ok]
    assert not failed, failed
    checklist = json.loads((tmp_path / "results" / "99-summary.json").read_text())["extra"]["checklist"]
    host_routing = checklist["bpf-host-routing"]
    conntrack = checklist["bypass-iptables-conntrack"]
    for vm in ("vm-1", "vm-2", "vm-3"):
        assert host_routing[vm] == "enabled"
    for board in ("board-1", "board-2", "board-3"):
        assert host_routing[board] == "blocked"
        assert conntrack[board] == "enabled"
    decisions = {r.lab.name: r.record.get("decision") for r in runs}
    assert decisions["02-kube-proxy-replacement"] == "applied"
    # the two outcomes the README calls the lesson on this fleet, with the exits `make lab` accepts
    codes = {r.lab.name: r.record.get("exit_code") for r in runs}
    assert (decisions["07-big-tcp"], codes["07-big-tcp"]) == ("refused", 4)
    assert (decisions["12-xdp-acceleration"], codes["12-xdp-acceleration"]) == ("rolled back", 5)
    assert {code for name, code in codes.items() if name not in ("07-big-tcp", "12-xdp-acceleration")} == {0}
    # 17 notebooks, 17 pages, plotly.js once, the records: small enough to commit or mail
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 15_000_000
    assert {r.html for r in runs} == {r.executed.with_suffix(".html") for r in runs}
    assert [path.name for path in files if path.suffix == ".js"] == [rendering.plotlyjs_name()]
