"""Lab 06's `demonstrate` is None by default: on for the embedded cluster, off on a real one (README). A
real cluster is made here from an embedded one whose nodes no longer say they are the embedded cluster's
(the label `discover.is_simulated` reads), reached through its kubeconfig as any real cluster is. With
BPF host routing in effect on the VMs (labs 01-03 applied), lab 06 there demonstrates nothing: no switch
off, no CiliumNodeConfig, and its record and numbers are not labelled SIMULATED."""

from __future__ import annotations

import pytest
from restore_helpers import apply

from cilium_lab import labs
from cilium_lab.cluster import discover, nodeconfig, objects
from cilium_lab.cluster.connect import connect
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow

SMALL = {"samples": 2, "duration": 1, "tests": "TCP_RR"}


def test_lab_06_on_a_real_cluster_does_not_demonstrate_unless_asked(tmp_path):
    with EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        conn = connect(str(embedded.kubeconfig))
        apply(conn, "native-routing", tmp_path / "series", pod_cidr="10.42.0.0/16")
        apply(conn, "kube-proxy-replacement", tmp_path / "series")
        apply(conn, "bpf-masquerade", tmp_path / "series")  # the agent switches the VMs to BPF host routing
        for node in discover.list_nodes(conn):
            conn.core.patch_node(
                objects.name_of(node), {"metadata": {"labels": {discover.SIMULATED_LABEL: None}}}
            )
        assert not discover.is_simulated(conn)
        [run] = labs.run(
            [labs.get("06")], out_dir=tmp_path / "out", cluster="kube", kubeconfig=str(embedded.kubeconfig),
            approve=True, parameters=SMALL,
        )  # fmt: skip
        assert run.ok, run.error
        assert nodeconfig.list_all(conn, "kube-system", "1.13.4") == []  # nothing was switched off
    record = run.record
    assert "demonstration" not in record["extra"] and "catch_up" not in record["extra"]
    assert record["decision"] != "demonstrated (switched off and back on; the cluster as found)"
    assert record["target"]["simulated"] is False
    out = (tmp_path / "out").rglob("*")
    assert not any(
        "SIMULATED" in p.read_text(errors="replace") for p in out if p.suffix in (".json", ".jsonl")
    )
