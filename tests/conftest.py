"""Fixtures many test modules share: a fresh embedded cluster per test, a connection to it through the
same `cluster.connect` a real cluster uses, the real kubectl binary pointed at a module's `cluster`, and
a real control plane (kube-apiserver and kube-controller-manager, `tests/controlplane.py`) per session.
A module that needs another profile, seed or scope defines its own fixture of the same name, which
takes precedence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from cilium_lab.cluster import discover, rollout
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.sim.cluster import EmbeddedCluster
from controlplane import ControlPlane, start


@pytest.fixture
def embedded() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        yield cluster


@pytest.fixture
def conn(embedded: EmbeddedCluster) -> Connection:
    conn = connect(str(embedded.kubeconfig))
    rollout.wait(conn, discover.find(conn), timeout=20)  # a fresh cluster's agents may still be starting
    return conn


@pytest.fixture(scope="module")
def kubectl(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`kubectl(*args, context="admin", check=True)` against the module's `cluster` fixture, once its
    agents have rolled out; a failing command raises with kubectl's stderr unless check=False."""
    cache = tmp_path_factory.mktemp("kubectl-cache")

    def run(*args: str, context: str = "admin", check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [
            "kubectl",
            f"--kubeconfig={cluster.kubeconfig}",
            f"--cache-dir={cache}",
            f"--context={context}",
            *args,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    run("-n", "kube-system", "rollout", "status", "ds/cilium", "--timeout=30s")
    return run


@pytest.fixture(scope="session")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A real kube-apiserver + kube-controller-manager + kube-scheduler on 127.0.0.1 (skips where it is not built); tests
    that use it are marked `controlplane` and share an xdist group, so one worker starts it once."""
    with start(tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane
