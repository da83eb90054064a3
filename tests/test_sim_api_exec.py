"""Pods, exec and logs on the embedded cluster through the official client (kubernetes.stream over websockets)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream
from waiting import wait_for

from cilium_lab.sim.agent.runtime import ExecResult
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.control import behaviour


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=7) as c:
        yield c


@pytest.fixture(scope="module")
def core(cluster):
    return client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context="admin"))


def agent_on(core, node: str):
    return wait_for(
        lambda: next(
            (p for p in core.list_namespaced_pod("kube-system", field_selector=f"spec.nodeName={node}").items
             if p.status.phase == "Running"),
            None,
        )
    )  # fmt: skip


def run(core, pod: str, argv: list[str], namespace: str = "kube-system", container: str | None = None):
    ws = stream(
        core.connect_get_namespaced_pod_exec, pod, namespace, command=argv, container=container,
        stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False,
    )  # fmt: skip
    ws.run_forever(timeout=10)
    return ws.read_stdout(), ws.read_stderr(), ws.returncode


def test_unknown_command_fails_like_a_shell(core):
    pod = agent_on(core, "vm-1")
    _, err, code = run(core, pod.metadata.name, ["no-such-tool", "--flag"])
    assert code == 127
    assert "no-such-tool" in err and "not found" in err


def test_exec_context_describes_the_pod_and_its_node(core, monkeypatch, cluster):
    seen = []

    def fake_run(ctx, argv):
        seen.append((ctx, argv))
        return ExecResult(stdout=f"{ctx.node.kernel}\n", stderr="warn\n", code=3)

    monkeypatch.setattr(behaviour, "run", fake_run)
    pod = agent_on(core, "board-2")
    out, err, code = run(core, pod.metadata.name, ["uname", "-r"], container="cilium-agent")
    assert (out, err, code) == ("4.19.0-25-arm64\n", "warn\n", 3)
    ctx, argv = seen[0]
    assert argv == ["uname", "-r"]
    assert ctx.container == "cilium-agent" and ctx.node.name == "board-2"
    assert ctx.cilium_version == "1.13.4"
    assert ctx.pod["metadata"]["name"] == pod.metadata.name
    assert ctx.pod_ip == "192.168.7.22"  # hostNetwork agent: the node's address
    assert ctx.config["tunnel"] == "vxlan"
    assert ctx.boot is not None and ctx.boot.ok
    ctx.advance(10.0)
    assert ctx.clock() == pytest.approx(10.0)
    node = ctx.resolve("192.168.7.11")
    assert node.node.name == "vm-1" and node.host_network


def test_exec_success_sends_a_success_status(core, monkeypatch):
    monkeypatch.setattr(behaviour, "run", lambda ctx, argv: ExecResult(stdout="ok\n"))
    pod = agent_on(core, "vm-2")
    assert run(core, pod.metadata.name, ["true"]) == ("ok\n", "", 0)


def test_exec_into_a_missing_container_is_a_bad_request(core):
    pod = agent_on(core, "vm-3")
    with pytest.raises(ApiException) as err:
        stream(
            core.connect_get_namespaced_pod_exec, pod.metadata.name, "kube-system", command=["true"],
            container="nope", stdout=True, stderr=True, stdin=False, tty=False,
        )  # fmt: skip
    # the Python client reports a refused websocket handshake as ApiException(status=0) with the reason text
    assert "400" in str(err.value) or err.value.status == 400


def test_a_plain_pod_is_scheduled_started_and_addressed(core, cluster):
    body = {
        "metadata": {"name": "netperf-server", "labels": {"app": "netperf"}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": "vm-2"},
            "containers": [{"name": "netperf", "image": "netperf:1"}],
        },
    }
    core.create_namespaced_pod("default", body)
    pod = wait_for(
        lambda: (p := core.read_namespaced_pod("netperf-server", "default")).status.phase == "Running" and p
    )
    assert pod.spec.node_name == "vm-2"
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network("10.42.1.0/24")
    assert pod.status.container_statuses[0].ready
    svc = core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "netperf"},
            "spec": {"selector": {"app": "netperf"}, "ports": [{"port": 12865}]},
        },
    )
    endpoint = cluster.backend.resolve(svc.spec.cluster_ip)
    assert endpoint.pod_name == "netperf-server" and endpoint.via_service and not endpoint.host_network
    assert cluster.backend.resolve(pod.status.pod_ip).node.name == "vm-2"
    assert cluster.backend.resolve("203.0.113.9") is None


def test_pod_without_containers_is_invalid(core):
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", {"metadata": {"name": "empty"}, "spec": {"containers": []}})
    assert err.value.status == 422
    assert json.loads(err.value.body)["details"]["causes"][0]["field"] == "spec.containers"


def test_agent_logs_are_the_boot_log(core, cluster):
    pod = agent_on(core, "vm-1")
    text = core.read_namespaced_pod_log(pod.metadata.name, "kube-system", container="cilium-agent")
    boot = cluster.backend.boots[pod.metadata.uid]
    assert text.splitlines() == list(boot.log)
    assert text.strip()


def test_watch_streams_pod_events(core):
    w = watch.Watch()
    rv = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod(
        "default", {"metadata": {"name": "watched"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    )
    seen = []
    for event in w.stream(core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=5):
        if event["object"].metadata.name == "watched":
            seen.append((event["type"], event["object"].status.phase))
            if event["object"].status.phase == "Running":
                w.stop()
    assert seen[0] == ("ADDED", "Pending")
    assert seen[-1] == ("MODIFIED", "Running")


def test_same_seed_same_randomness_in_exec(monkeypatch):
    monkeypatch.setattr(behaviour, "run", lambda ctx, argv: ExecResult(stdout=f"{ctx.rng.random():.12f}"))
    draws = []
    for _ in range(2):
        with EmbeddedCluster("seed-mixed", seed=99) as c:
            core = client.CoreV1Api(config.new_client_from_config(config_file=c.kubeconfig, context="admin"))
            pod = agent_on(core, "vm-1").metadata.name
            draws.append([run(core, pod, ["draw"])[0] for _ in range(3)])
    assert draws[0] == draws[1]
    assert len(set(draws[0])) == 3


def test_preloaded_exec_returns_the_output(core, monkeypatch):
    monkeypatch.setattr(behaviour, "run", lambda ctx, argv: ExecResult(stdout=" ".join(argv) + "\n"))
    pod = agent_on(core, "vm-1").metadata.name
    out = stream(
        core.connect_get_namespaced_pod_exec, pod, "kube-system", command=["echo", "hi"],
        stdout=True, stderr=True, stdin=False, tty=False,
    )  # fmt: skip
    assert out == "echo hi\n"


def test_watch_from_a_forgotten_version_is_gone(monkeypatch):
    from cilium_lab.sim.state import object_store

    monkeypatch.setattr(
        object_store, "EVENT_LOG_SIZE", 10
    )  # a short event log, so a few writes push version 2 out
    with EmbeddedCluster("seed-mixed") as small:
        core = client.CoreV1Api(config.new_client_from_config(config_file=small.kubeconfig, context="admin"))
        for i in range(15):
            core.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"churn": str(i)}})
        with pytest.raises(ApiException) as err:
            for _ in watch.Watch().stream(
                core.list_namespaced_config_map, "kube-system", resource_version="2", timeout_seconds=2
            ):
                pass
    assert err.value.status == 410


def test_a_container_that_does_not_run_is_refused_as_the_kubelet_refuses_it():
    """Exec and logs of a bound pod whose container never started (its node is NotReady), and `-p` of one that
    never restarted: the answers of a real API server and kubelet 1.32 (tests/test_controlplane_kubelet.py
    and test_controlplane_nodeside.py get the same through the real control plane)."""
    with EmbeddedCluster("seed-mixed", seed=7) as cluster:
        core = client.CoreV1Api(
            config.new_client_from_config(config_file=cluster.kubeconfig, context="admin")
        )
        cluster.faults.node_not_ready("vm-3")
        body = {"metadata": {"name": "stuck"}, "spec": {"nodeName": "vm-3", "containers": [{"name": "main", "image": "pause:3"}]}}  # fmt: skip
        core.create_namespaced_pod("default", body)
        with pytest.raises(ApiException) as err:
            core.read_namespaced_pod_log("stuck", "default")
        never = 'container "main" in pod "stuck" is waiting to start: ContainerCreating'
        assert (err.value.status, json.loads(err.value.body)["message"]) == (400, never)
        # v5 offered: the API server translates it to SPDY, the kubelet's refusal comes back as a Status
        ws = stream(
            core.connect_get_namespaced_pod_exec, "stuck", "default", command=["true"],
            stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False,
        )  # fmt: skip
        ws.run_forever(timeout=10)
        status = json.loads(ws.read_channel(3))
        refused = 'unable to upgrade connection: container not found ("main")'
        assert (status["code"], status["reason"]) == (500, "InternalError")
        assert status["message"] == f"Internal error occurred: {refused}"
        # v4 only: proxied to the kubelet, whose 500 is the handshake's answer
        with pytest.raises(ApiException) as err:
            stream(
                core.connect_get_namespaced_pod_exec, "stuck", "default", command=["true"], stdout=True,
                stderr=True, stdin=False, tty=False, _headers={"sec-websocket-protocol": "v4.channel.k8s.io"},
            )  # fmt: skip
        assert err.value.reason.startswith("Handshake status 500")
        assert err.value.reason.endswith('-+-+- container not found ("main")')
        # a running container that never restarted has no previous log
        agent = agent_on(core, "vm-1").metadata.name
        with pytest.raises(ApiException) as err:
            core.read_namespaced_pod_log(agent, "kube-system", container="cilium-agent", previous=True)
        previous = f'previous terminated container "cilium-agent" in pod "{agent}" not found'
        assert (err.value.status, json.loads(err.value.body)["message"]) == (400, previous)


def test_the_library_reports_an_exec_into_a_container_that_does_not_run_as_not_run_not_as_exit_127():
    """`cluster.exec.run` promises a ClusterError when a command cannot run: the API server's "unable to
    upgrade connection" on the error channel is that, not a command that was not found (exit 127)."""
    from cilium_lab.cluster import exec as pod_exec
    from cilium_lab.cluster.connect import connect
    from cilium_lab.errors import ClusterError

    with EmbeddedCluster("seed-mixed", seed=7) as cluster:
        conn = connect(str(cluster.kubeconfig))
        cluster.faults.node_not_ready("vm-3")
        body = {"metadata": {"name": "stuck"}, "spec": {"nodeName": "vm-3", "containers": [{"name": "main", "image": "pause:3"}]}}  # fmt: skip
        conn.core.create_namespaced_pod("default", body)
        with pytest.raises(ClusterError, match=r"could not run: .*container not found \(\"main\"\)"):
            pod_exec.run(conn, "default", "stuck", ["true"])
        missing = pod_exec.run(
            conn, "kube-system", agent_on(conn.core, "vm-1").metadata.name, ["no-such-tool"]
        )
        assert missing.code == 127  # a command that is not there is still the shell's 127
