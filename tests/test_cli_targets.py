"""Which cluster a verb works on: a --kubeconfig or --context names a real one, never a new embedded one."""

from __future__ import annotations

import argparse
import json

import pytest

from cilium_lab.cli import common, main
from cilium_lab.sim.cluster import EmbeddedCluster


def args(cluster=None, kubeconfig="", context="") -> argparse.Namespace:
    return argparse.Namespace(cluster=cluster, kubeconfig=kubeconfig, context=context)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (args(), "sim:seed-mixed"),  # nothing said: the embedded cluster
        (args(kubeconfig="/etc/prod.yaml"), "kube"),  # a kubeconfig alone: its current context
        (args(context="staging"), "kube:staging"),
        (args(cluster="sim:modern", context="staging"), "kube:staging"),
        (args(cluster="sim:modern", kubeconfig="/tmp/sim.kubeconfig", context="admin"), "sim:modern"),
        (args(cluster="kube:prod", kubeconfig="/etc/prod.yaml"), "kube:prod"),
        (args(cluster="local"), "local"),
    ],
)
def test_target_of(given, expected):
    assert common.target_of(given) == expected


def test_scorecard_with_the_embedded_clusters_kubeconfig_says_simulated_from_its_nodes(capsys):
    with EmbeddedCluster(profile="seed-mixed") as cluster:
        assert main(["scorecard", "--kubeconfig", str(cluster.kubeconfig), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["simulated"] is True
