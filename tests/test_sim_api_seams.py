"""The seams between the embedded cluster's API side and its behaviour models, through the official client:
the status's cluster facts, per-profile perf overrides, and NodePort Services reached as <node IP>:<nodePort>.

Every number here is SIMULATED; the tests check directions and wiring, not values.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream
from sim_perf_fakes import EBPF, FakeCluster, bench_node
from waiting import wait_for

from cilium_lab.sim.agent.runtime import Endpoint
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.perf import network_model, path_resolution
from cilium_lab.sim.state import profiles

BENCH_IMAGE = "quay.io/cilium/network-perf:3.21-1782913202-88c270c"
NS = "seams"
RR = "-l 10 -t TCP_RR -- -o TRANSACTION_RATE"


def core_of(cluster: EmbeddedCluster) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context="admin"))


def exec_(core, namespace: str, pod: str, argv: list[str]) -> tuple[str, int]:
    ws = stream(
        core.connect_get_namespaced_pod_exec, pod, namespace, command=argv,
        stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False,
    )  # fmt: skip
    ws.run_forever(timeout=10)
    return ws.read_stdout() + ws.read_stderr(), ws.returncode


def bench_pod(core, name: str, node: str, labels: dict[str, str] | None = None) -> str:
    """A benchmark pod pinned to `node`; returns its IP once it runs."""
    body = {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"nodeName": node, "containers": [{"name": "perf", "image": BENCH_IMAGE}]},
    }
    core.create_namespaced_pod(NS, body)
    pod = wait_for(lambda: (p := core.read_namespaced_pod(name, NS)).status.pod_ip and p)
    return pod.status.pod_ip


def agent_on(core, node: str) -> str:
    pods = wait_for(
        lambda: [
            p.metadata.name
            for p in core.list_namespaced_pod("kube-system", field_selector=f"spec.nodeName={node}").items
            if p.status.phase == "Running"
        ]
    )
    return pods[0]


def rate(out: str) -> float:
    return float(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=3) as c:
        core = core_of(c)
        core.create_namespace({"metadata": {"name": NS}})
        yield c


@pytest.fixture(scope="module")
def core(cluster):
    return core_of(cluster)


@pytest.fixture(scope="module")
def nodeport(core):
    """A server pod on vm-2 behind a NodePort Service, and a client pod on vm-1."""
    bench_pod(core, "server", "vm-2", {"app": "server"})
    bench_pod(core, "client", "vm-1")
    svc = {
        "metadata": {"name": "server"},
        "spec": {"type": "NodePort", "selector": {"app": "server"}, "ports": [{"port": 12865}]},
    }
    return core.create_namespaced_service(NS, svc)


def test_status_prints_the_profiles_kubernetes_version_and_node_count(core):
    out, code = exec_(core, "kube-system", agent_on(core, "vm-1"), ["cilium", "status"])
    assert code == 0
    assert "Kubernetes:              Ok   1.26 (v1.26.6+k3s1)" in out
    assert "Cluster health:          6/6 reachable" in out


def test_a_nodeport_service_gets_a_port_in_the_node_port_range(nodeport):
    assert 30000 <= nodeport.spec.ports[0].node_port <= 32767


def test_a_taken_node_port_is_refused_as_the_api_server_does(core, nodeport):
    taken = nodeport.spec.ports[0].node_port
    svc = {
        "metadata": {"name": "twin"},
        "spec": {"type": "NodePort", "ports": [{"port": 1, "nodePort": taken}]},
    }
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service(NS, svc)
    assert err.value.status == 422
    assert f"Invalid value: {taken}: provided port is already allocated" in err.value.body


def test_netperf_to_a_node_ip_and_node_port_reaches_the_service_backend(core, nodeport):
    port = nodeport.spec.ports[0].node_port
    via_nodeport, code = exec_(core, NS, "client", ["sh", "-c", f"netperf -H 192.168.7.13 -p {port} {RR}"])
    assert code == 0, via_nodeport
    cluster_ip = nodeport.spec.cluster_ip
    via_cluster_ip, code = exec_(core, NS, "client", ["sh", "-c", f"netperf -H {cluster_ip} {RR}"])
    assert code == 0, via_cluster_ip
    # the same backend; NodePort through kube-proxy on vm-3 adds a hop and a NAT: slower than ClusterIP
    assert rate(via_nodeport) < rate(via_cluster_ip)


def test_the_balancer_nodes_xdp_and_dsr_enter_the_model():
    lb_node, server_node = bench_node("lb", "10.0.0.3"), bench_node("srv", "10.0.0.2")
    fast_lb = replace(EBPF, xdp="native", lb_mode="dsr")
    cluster = FakeCluster()
    ctx = cluster.context(bench_node("cl", "10.0.0.1"), EBPF)
    paths = []
    for lb in (EBPF, fast_lb):
        balancer = {"via_nodeport": True, "balancer_node": lb_node, "balancer_datapath": lb}
        backend = Endpoint("10.0.1.10", server_node, EBPF, False, "srv", **balancer)
        ctx = replace(ctx, resolve=lambda ip, port=None, b=backend: b)
        paths.append(path_resolution.path_to(ctx, "10.0.0.3", 30001))
    assert [p.service for p in paths] == ["nodeport", "nodeport"] and paths[1].lb.node is lb_node
    names = [{n for n, _ in network_model.expected(p, "TCP_RR").factors} for p in paths]
    assert {"nodeport_xdp", "nodeport_dsr"} <= names[1] and not {"nodeport_xdp", "nodeport_dsr"} & names[0]
    rr = [network_model.expected(p, "TCP_RR").rate for p in paths]
    assert rr[1] > rr[0]


def test_a_node_port_without_a_service_falls_back_to_the_host(core, nodeport):
    out, code = exec_(core, NS, "client", ["sh", "-c", f"netperf -H 192.168.7.13 -p 31999 {RR}"])
    assert code == 0 and rate(out) > 0


def test_profile_perf_overrides_reach_the_emulated_netperf(tmp_path: Path):
    raw = yaml.safe_load(profiles.PROFILE_DIR.joinpath("seed-mixed.yaml").read_text())
    raw["perf"] = {"loss_rate": 0.02}
    lossy = tmp_path / "lossy.yaml"
    lossy.write_text(yaml.safe_dump(raw))
    stream_rates = []
    for profile in ("seed-mixed", str(lossy)):
        with EmbeddedCluster(profile, seed=3) as c:
            core = core_of(c)
            core.create_namespace({"metadata": {"name": NS}})
            bench_pod(core, "client", "vm-1")
            out, code = exec_(
                core,
                NS,
                "client",
                ["netperf", "-H", "192.168.7.12", "-t", "TCP_STREAM", "--", "-o", "THROUGHPUT"],
            )
            assert code == 0, out
            stream_rates.append(rate(out))
    assert stream_rates[1] < stream_rates[0] * 0.8  # 2 % loss caps CUBIC well below the clean path
