"""Which cluster a verb works on: a --kubeconfig or --context names a real one, never a new embedded one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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


def test_a_kube_target_without_its_kubeconfig_is_refused_before_any_lab_starts(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(["run", "06", "--cluster", "kube", "--kubeconfig", str(tmp_path / "nope"), "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"cilium-lab: error: kubeconfig not found: {tmp_path / 'nope'}; pass --kubeconfig PATH "
        "(kubeconfig=...) or set KUBECONFIG"
    ]
    assert not out.exists()


def test_an_unknown_context_is_refused_before_any_lab_starts(tmp_path, capsys):
    with EmbeddedCluster(profile="seed-mixed") as cluster:
        code = main(
            [
                "run",
                "06",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--context",
                "prod",
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert code == 2 and "unknown context 'prod'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_one_lab_runs_in_the_unix_socket_kernel_without_ipykernels_tcp_warning(tmp_path, capfd):
    assert main(["run", "00", "--out", str(tmp_path)]) == 0
    err = capfd.readouterr().err
    assert "00-overview" in err and "without encryption" not in err


def test_relative_paths_are_the_callers_not_the_labs_folders(tmp_path, monkeypatch, capsys):
    with EmbeddedCluster(profile="seed-mixed") as cluster:
        (tmp_path / "kc.yaml").write_text(Path(cluster.kubeconfig).read_text())
        monkeypatch.chdir(tmp_path)
        assert (
            main(["run", "00", "--cluster", "sim:seed-mixed", "--kubeconfig", "kc.yaml", "--out", "out"]) == 0
        )
    record = json.loads((tmp_path / "out" / "results" / "00-overview.json").read_text())
    assert record["lab"] == "00-overview" and (tmp_path / "out" / "00-overview.ipynb").exists()


def test_a_reader_that_goes_away_gets_no_traceback():
    """`cilium-lab labs | head -1`: the pipe closes before the CLI writes; it stops quietly, exit 1."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "cilium_lab.cli", "labs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before the first line
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
