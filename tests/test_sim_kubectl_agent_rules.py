"""The issue's 1.13.4 examples through the real kubectl: patch cilium-config, restart, read the agents.

BPF masquerading without BPF NodePort: the 1.13 agent warns, masquerades with iptables and keeps
running. IPv6 BIG TCP in tunnel mode: the 1.13 agent stops with log.Fatal and the pod crash-loops.
"""

from __future__ import annotations

import shutil
import time

import pytest

from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary"),
]
NS = ("-n", "kube-system")


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=15) as c:
        yield c


def _patch_and_restart(kubectl, data: str) -> None:
    kubectl(*NS, "patch", "cm", "cilium-config", "--type", "merge", "-p", f'{{"data":{data}}}')
    # kubectl stamps restartedAt to the second and refuses a second restart within the same second
    time.sleep(1.1)
    kubectl(*NS, "rollout", "restart", "ds/cilium")


def _pods(kubectl) -> list[list[str]]:
    return [line.split() for line in kubectl(*NS, "get", "pods").stdout.splitlines()[1:]]


def test_bpf_masquerade_without_nodeport_keeps_the_113_agent_running(kubectl):
    _patch_and_restart(kubectl, '{"enable-bpf-masquerade":"true"}')
    done = kubectl(*NS, "rollout", "status", "ds/cilium", "--timeout=30s")
    assert 'daemon set "cilium" successfully rolled out' in done.stdout
    assert all(row[1:3] == ["1/1", "Running"] for row in _pods(kubectl))
    pod = kubectl(
        *NS, "get", "pods", "-l", "k8s-app=cilium", "-o", "jsonpath={.items[0].metadata.name}"
    ).stdout
    log = kubectl(*NS, "logs", pod).stdout.splitlines()
    assert (
        'level=warning msg="Falling back to iptables-based masquerading." '
        'error="BPF masquerade requires NodePort (--enable-node-port=\\"true\\")" subsys=daemon'
    ) in log
    assert log[-1] == 'level=info msg="Daemon initialization completed" subsys=daemon'
    status = kubectl(*NS, "exec", pod, "-c", "cilium-agent", "--", "cilium", "status").stdout
    assert "Masquerading:            IPTables" in status and "Host Routing:            Legacy" in status


def test_ipv6_big_tcp_in_tunnel_mode_stops_the_113_agent(kubectl):
    _patch_and_restart(kubectl, '{"enable-bpf-masquerade":"false","enable-ipv6-big-tcp":"true"}')
    deadline = time.monotonic() + 30
    crashing: list[str] = []
    while not crashing and time.monotonic() < deadline:
        crashing = [row[0] for row in _pods(kubectl) if row[2] == "CrashLoopBackOff"]
        time.sleep(0.5)
    assert crashing, _pods(kubectl)
    log = kubectl(*NS, "logs", crashing[0]).stdout.splitlines()
    assert log[-1] == 'level=fatal msg="IPv6 BIG TCP is not supported in tunneling mode" subsys=big-tcp'
