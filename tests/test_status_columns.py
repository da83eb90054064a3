"""The snapshot's columns read from where the running version keeps them (issue 16 point 4): the series'
1.13 cluster runs a VXLAN tunnel that only its cilium-config says (`tunnel: vxlan`); "unknown (why)" only
where no source holds the value."""

from __future__ import annotations

import dataclasses

import pytest

from cilium_lab.cluster import discover, rollout, snapshot
from cilium_lab.cluster.connect import connect
from cilium_lab.session import status_columns
from cilium_lab.session.lab import nodes_frame
from cilium_lab.sim.cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def snap():
    with EmbeddedCluster(profile="seed-mixed") as embedded:
        conn = connect(str(embedded.kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=20)
        yield snapshot.take(conn)


def test_the_series_1_13_cluster_says_its_vxlan_tunnel_and_no_column_is_none(snap):
    assert snap.cilium_version == "1.13.4"
    frame = nodes_frame(snap)
    assert set(frame["routing"]) == {"Tunnel [vxlan] (cilium-config tunnel)"}
    assert set(frame["host routing"]) == {"Legacy"}  # the status line `Host Routing: Legacy`
    assert set(frame["congestion"]) == {"none (BandwidthManager: Disabled; the kernel's default for pods)"}
    for column in status_columns.COLUMNS:
        assert frame[column].notna().all(), column
        assert not frame[column].astype(str).str.startswith("unknown").any(), column


def test_from_1_14_the_routing_mode_key_is_read():
    node = dataclasses.replace(_a_node(), status=None, config={"routing-mode": "native"})
    assert status_columns.row(node, "1.14.5")["routing"] == "Native (cilium-config routing-mode)"
    node = dataclasses.replace(node, config={"routing-mode": "tunnel", "tunnel-protocol": "geneve"})
    assert status_columns.row(node, "1.15.1")["routing"] == "Tunnel [geneve] (cilium-config routing-mode)"


def test_without_an_agent_status_a_status_only_value_is_unknown_with_the_reason(snap):
    node = dataclasses.replace(snap.nodes[0], status=None)
    row = status_columns.row(node, snap.cilium_version, "agent pod CrashLoopBackOff")
    assert row["congestion"] == "unknown (agent pod CrashLoopBackOff)"
    assert row["routing"] == "Tunnel [vxlan] (cilium-config tunnel)"  # the config still says it


def _a_node():
    from cilium_lab.facts import NodeFacts

    return NodeFacts(name="n1", kernel="6.2.0", arch="amd64")
