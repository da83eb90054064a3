"""The labs with exactly the permissions of deploy/rbac.yaml, on the embedded cluster (which enforces
RBAC for token users): an operator runs the series' first steps end to end; an inspector can read the
scorecard and is refused changes with a clear error."""

from __future__ import annotations

import json

import pytest
from test_cluster_rbac import _kubeconfig

from cilium_lab import labs
from cilium_lab.cli import main
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded():
    with EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        yield cluster


def test_an_operator_runs_labs_with_only_the_manifest_roles(embedded, tmp_path):
    kubeconfig = _kubeconfig(
        tmp_path, str(embedded.kubeconfig), embedded.add_user("op", ("cilium-lab-operators",))
    )
    chosen = [labs.get(n) for n in ("00", "01", "02")]
    runs = labs.run(
        chosen,
        out_dir=tmp_path / "out",
        cluster="kube",
        kubeconfig=kubeconfig,
        approve=True,
        parameters={"samples": 2, "duration": 1},
    )
    assert [(r.lab.name, r.ok, r.error) for r in runs] == [(lab.name, True, "") for lab in chosen]
    records = {r.lab.name: r.record for r in runs}
    assert records["02-kube-proxy-replacement"]["decision"] == "applied"
    assert (
        records["00-overview"]["target"]["simulated"] is True
    )  # known from the cluster, not the target string


def test_an_inspector_reads_the_scorecard_and_cannot_change(embedded, tmp_path, capsys):
    kubeconfig = _kubeconfig(
        tmp_path, str(embedded.kubeconfig), embedded.add_user("ro", ("cilium-lab-inspectors",))
    )
    assert main(["scorecard", "--cluster", "kube", "--kubeconfig", kubeconfig, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    records = records["records"] if isinstance(records, dict) else records
    assert {r["state"] for r in records} <= {"enabled", "can-enable", "blocked", "n/a"}
    [run] = labs.run(
        [labs.get("02")],
        out_dir=tmp_path / "out",
        cluster="kube",
        kubeconfig=kubeconfig,
        approve=True,
        parameters={"samples": 2, "duration": 1},
    )
    assert not run.ok
    assert "Forbidden" in run.error or "forbidden" in run.error
