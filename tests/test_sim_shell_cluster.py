"""The agents' commands end to end: the official client execs into agent pods of an embedded cluster
over 127.0.0.1, and the project's parser reads what comes back."""

from __future__ import annotations

import time

import pytest
from kubernetes import client, config
from kubernetes.stream import stream

from cilium_lab.cilium.parse import parse_status
from cilium_lab.sim.cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def core():
    with EmbeddedCluster("seed-mixed", seed=3) as cluster:
        yield client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context="admin"))


def agent_pod(core, node: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod("kube-system", field_selector=f"spec.nodeName={node}").items
        running = [p.metadata.name for p in pods if p.status.phase == "Running"]
        if running:
            return running[0]
        time.sleep(0.05)
    raise AssertionError(f"no running agent on {node}")


def run(core, node: str, argv: list[str]) -> tuple[str, str, int]:
    ws = stream(
        core.connect_get_namespaced_pod_exec, agent_pod(core, node), "kube-system", command=argv,
        container="cilium-agent", stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False,
    )  # fmt: skip
    ws.run_forever(timeout=10)
    return ws.read_stdout(), ws.read_stderr(), ws.returncode


@pytest.mark.parametrize("node", ["vm-1", "board-1"])
def test_cilium_status_in_the_agent_pod_parses_to_the_default_install(core, node):
    out, err, code = run(core, node, ["cilium", "status"])
    assert (err, code) == ("", 0)
    status = parse_status(out)
    assert (status.version, status.kube_proxy_replacement, status.host_routing) == (
        "1.13.4",
        "Disabled",
        "Legacy",
    )
    assert status.masquerading == "IPTables"


def test_host_facts_through_exec(core):
    assert run(core, "board-1", ["uname", "-r"])[0] == "4.19.0-25-arm64\n"
    out, _, code = run(core, "vm-1", ["sh", "-c", "ethtool -i enp1s0 | head -n 1"])
    assert (out, code) == ("driver: virtio_net\n", 0)
    assert run(core, "vm-1", ["cilium-dbg", "status"])[2] == 127  # renamed only in 1.15
