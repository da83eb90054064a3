"""The emulated nodes on a real control plane (`cilium_lab.sim.nodeside`): the profile's nodes register with
a real kube-apiserver, its DaemonSet controller and scheduler create and bind the agents' pods, the
emulated kubelets run them and write their status back, and a change rolls out through the real
controller. Exec and logs go through the control plane's kubelet endpoints where its build has them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import real_nodes
from kubernetes import client
from waiting import wait_for

import cilium_lab
from cilium_lab.cluster import configmaps, discover, objects, rollout
from cilium_lab.cluster import exec as cluster_exec
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.control import behaviour
from cilium_lab.sim.nodeside import process
from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]
NS = "kube-system"
ROLLOUT = real_nodes.ROLLOUT


@pytest.fixture(scope="module")
def real() -> Iterator[RealControlPlaneCluster]:
    with real_nodes.running("seed-mixed", exec_needed=False) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def admin(real: RealControlPlaneCluster) -> Connection:
    return connect(real.kubeconfig, context="admin")


def pods(conn: Connection) -> list[dict[str, Any]]:
    return objects.request(
        conn, conn.core.list_namespaced_pod, NS, verb="list", resource="pods", namespace=NS
    )["items"]


def events(conn: Connection, pod: str, reason: str) -> list[dict[str, Any]]:
    listing = objects.request(
        conn,
        conn.core.list_namespaced_event,
        NS,
        field_selector=f"involvedObject.name={pod},reason={reason}",
        verb="list",
        resource="events",
        namespace=NS,
    )
    return listing["items"]


def test_nodes_register_as_kubelets_do(real: RealControlPlaneCluster, admin: Connection):
    nodes = {n["metadata"]["name"]: n for n in discover.list_nodes(admin)}
    assert sorted(nodes) == sorted(n.name for n in real.profile.nodes)
    for node in real.profile.nodes:
        obj = nodes[node.name]
        ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        assert {"type": "InternalIP", "address": node.internal_ip} in obj["status"]["addresses"]
        assert node.internal_ip.startswith("127.0.0.")
        assert obj["status"]["nodeInfo"]["kernelVersion"] == node.kernel
        assert obj["metadata"]["labels"][discover.SIMULATED_LABEL] == "true"
        port = obj["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        assert port == (real.process.kubelets[node.name].port if real.serves_exec else 0)
    leases = objects.request(
        admin,
        client.CoordinationV1Api(admin.api_client).list_namespaced_lease,
        "kube-node-lease",
        verb="list",
        resource="leases",
        namespace="kube-node-lease",
    )["items"]
    assert sorted(lease["spec"]["holderIdentity"] for lease in leases) == sorted(nodes)


def test_agents_run_through_the_real_daemonset_controller(real: RealControlPlaneCluster, admin: Connection):
    install = discover.find(admin)
    agents = pods(admin)
    assert sorted(p["spec"]["nodeName"] for p in agents) == sorted(n.name for n in real.profile.nodes)
    for pod in agents:
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
        node = real.backend.nodes[pod["spec"]["nodeName"]]
        status = pod["status"]
        assert (status["phase"], status["podIP"], status["hostIP"]) == (
            "Running",
            node.internal_ip,
            node.internal_ip,
        )
        assert [c["ready"] for c in status["containerStatuses"]] == [True]
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
        assert {c["type"]: c["status"] for c in status["conditions"]}["PodScheduled"] == "True"
    assert install.version == real.profile.cilium_version
    assert all(a.ready for a in install.agents.values())
    # the emulated agents booted with the cilium-config the real API server holds
    assert all(real.backend.boots[p["metadata"]["uid"]].ok for p in agents)
    started = wait_for(lambda: events(admin, agents[0]["metadata"]["name"], "Started"), timeout=30)
    assert [e["message"] for e in started] == ["Started container cilium-agent"]


def test_a_config_change_rolls_out_through_the_real_controller(
    real: RealControlPlaneCluster, admin: Connection
):
    """A cilium-config change and a restart as the library makes them: the real DaemonSet controller
    replaces the pods node by node, the emulated kubelets delete the old ones and boot the new agents,
    which read the new config."""
    install = discover.find(admin)
    before = {p["metadata"]["uid"] for p in pods(admin)}
    configmaps.patch(admin, NS, install.configmap, {"enable-bandwidth-manager": "true"})
    rollout.restart(admin, NS, install.daemonset)
    result = rollout.wait(admin, install, timeout=ROLLOUT)
    assert result.state == rollout.DONE, result.message
    after = pods(admin)
    assert len(after) == len(real.profile.nodes)
    assert not before & {p["metadata"]["uid"] for p in after}
    for pod in after:
        assert real.backend.boot_configs[pod["metadata"]["uid"]]["enable-bandwidth-manager"] == "true"


def crash_loop_answers(kubeconfig: str, pod: str) -> dict[str, tuple[int, str, str]]:
    """What kubectl shows (exit code, stdout, stderr) for a crash-looping agent: its log, its previous log and
    an exec into it."""
    base = ["kubectl", f"--kubeconfig={kubeconfig}", "--context=admin", "-n", NS]
    steps = {
        "logs": ["logs", pod, "-c", "cilium-agent"],
        "logs -p": ["logs", pod, "-c", "cilium-agent", "-p"],
        "exec": ["exec", pod, "-c", "cilium-agent", "--", "cilium", "status", "--brief"],
    }
    answers = {}
    for step, args in steps.items():
        done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60, check=False)
        answers[step] = (done.returncode, done.stdout, done.stderr)
    return answers


def crash_loop_on_the_emulator() -> tuple[dict[str, tuple[int, str, str]], str]:
    """`crash_loop_answers` on the embedded cluster with vm-2's agent crash-looping, and that agent's log."""
    with EmbeddedCluster("seed-mixed", seed=0) as embedded:
        embedded.faults.crash_loop("vm-2")
        conn = connect(str(embedded.kubeconfig), context="admin")
        install = discover.find(conn)
        rollout.restart(conn, NS, install.daemonset)
        result = rollout.wait(conn, install, timeout=ROLLOUT)
        assert (result.state, result.crash_looping) == (rollout.CRASH_LOOP, ("vm-2",)), result.message
        looping = discover.find(conn).agents["vm-2"]
        pod = embedded.backend.store.get("pods", NS, looping.name)
        boot = embedded.backend.boots[pod["metadata"]["uid"]]
        return crash_loop_answers(str(embedded.kubeconfig), looping.name), "".join(f"{x}\n" for x in boot.log)


def test_a_crash_loop_shows_as_the_kubelet_reports_it(real: RealControlPlaneCluster, admin: Connection):
    install = discover.find(admin)
    real.faults.crash_loop("vm-2")
    try:
        rollout.restart(admin, NS, install.daemonset)
        result = rollout.wait(admin, install, timeout=ROLLOUT)
        assert (result.state, result.crash_looping) == (rollout.CRASH_LOOP, ("vm-2",)), result.message
        looping = discover.find(admin).agents["vm-2"]
        assert looping.waiting_reason == "CrashLoopBackOff" and not looping.ready
        # the kubelet's Warning, posted to the real API server as `kubectl describe pod` shows it
        backoff = wait_for(lambda: events(admin, looping.name, "BackOff"), timeout=30)
        assert backoff[0]["type"] == "Warning"
        assert backoff[0]["source"] == {"component": "kubelet", "host": "vm-2"}
        if (
            real.serves_exec
        ):  # the last run's log, with `previous` and without, through the node's kubelet endpoint
            pod = real.backend.store.get("pods", NS, looping.name)
            failed = "".join(f"{line}\n" for line in real.backend.boots[pod["metadata"]["uid"]].log)
            for previous in (False, True):
                log = admin.core.read_namespaced_pod_log(
                    looping.name, NS, container="cilium-agent", previous=previous
                )
                assert log == failed
            if shutil.which("kubectl"):
                on_real = crash_loop_answers(real.kubeconfig, looping.name)
    finally:
        real.faults.clear()
    if real.serves_exec and shutil.which("kubectl"):
        # through the node's kubelet endpoint, as a real kubelet answers for a container waiting to restart
        # (Kubelet.validateContainerLogStatus, kubelet_pods.go 1.32.13): `kubectl logs` is the last run's
        # output, and so is `-p` (both name lastState.terminated's container); an exec is refused before any
        # upgrade (Kubelet.GetExec finds only running containers)
        assert "fault injected by the embedded cluster: agent crash loop" in failed
        assert on_real["logs"] == (0, failed, "")
        assert on_real["logs -p"] == (0, failed, "")
        refused = 'unable to upgrade connection: container not found ("cilium-agent")'
        assert on_real["exec"] == (1, "", f"error: Internal error occurred: {refused}\n")
        # the embedded cluster (pods/log and pods/exec of its own API server) answers the same case alike
        on_emulator, failed_there = crash_loop_on_the_emulator()
        assert on_emulator["logs"] == (0, failed_there, "")
        assert on_emulator["logs -p"] == (0, failed_there, "")
        assert on_emulator["exec"] == on_real["exec"]
    wait_for(lambda: discover.find(admin).agents["vm-2"].ready, timeout=ROLLOUT)
    result = rollout.wait(admin, discover.find(admin), timeout=ROLLOUT)
    assert result.state == rollout.DONE, result.message


def test_exec_and_logs_reach_the_emulated_agent(real: RealControlPlaneCluster, admin: Connection):
    if not real.serves_exec:
        pytest.skip("this control plane build has no kubelet endpoints (--kubelet-shell): no exec or logs")
    install = discover.find(admin)
    agent = install.agents["vm-1"]
    out = cluster_exec.run(admin, NS, agent.name, list(install.status_command), container="cilium-agent")
    assert out.ok and "KubeProxyReplacement" in out.stdout, out
    pod = real.backend.store.get("pods", NS, agent.name)
    expected = behaviour.run(real.backend.exec_context(pod, "cilium-agent"), list(install.status_command))
    assert out.stdout.splitlines()[0] == expected.stdout.splitlines()[0]
    if shutil.which("kubectl"):
        done = subprocess.run(
            ["kubectl", f"--kubeconfig={real.kubeconfig}", "--context=admin", "-n", NS, "exec", agent.name,
             "-c", "cilium-agent", "--", *install.status_command],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == expected.stdout.splitlines()[0]
        failed = subprocess.run(
            ["kubectl", f"--kubeconfig={real.kubeconfig}", "-n", NS, "exec", agent.name, "--", "frobnicate"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert failed.returncode == 127, failed.stderr
        logs = subprocess.run(
            ["kubectl", f"--kubeconfig={real.kubeconfig}", "-n", NS, "logs", agent.name, "--tail=1"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        boot = real.backend.boots[pod["metadata"]["uid"]]
        assert (logs.returncode, logs.stdout) == (0, f"{boot.log[-1]}\n"), logs.stderr


def serve_real(kubeconfig: Path, profile: str) -> tuple[subprocess.Popen[str], str]:
    """`cilium-lab sim serve --control-plane real` in a process of its own, once it printed its line."""
    try:
        process.binary()
    except InputError as err:
        pytest.skip(str(err))
    env = {**os.environ, "PYTHONPATH": str(Path(cilium_lab.__file__).resolve().parents[1])}
    serve = subprocess.Popen(
        [sys.executable, "-m", "cilium_lab.cli", "sim", "serve", "--control-plane", "real",
         "--profile", profile, "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert serve.stdout is not None
    line = serve.stdout.readline()
    if not line:
        serve.wait(30)
        raise AssertionError(
            f"sim serve ended ({serve.returncode}): {serve.stderr.read() if serve.stderr else ''}"
        )
    return serve, line


def test_sim_serve_control_plane_real_serves_and_stops_cleanly(tmp_path: Path):
    """What a person runs: one line saying where it serves, a kubeconfig of their own (0600) whose operator
    sees the nodes, and SIGTERM ends it all (the control plane stops answering)."""
    kubeconfig = tmp_path / "real.yaml"
    serve, line = serve_real(kubeconfig, "modern")
    try:
        assert "SIMULATED nodes of profile 'modern' on a real control plane (kube-apiserver v1.32" in line
        assert f"kubeconfig {kubeconfig}" in line
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        operator = connect(str(kubeconfig), context="operator")
        wait_for(lambda: len(discover.list_nodes(operator)) == 4, timeout=60)
        server = operator.server
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(90)
    assert code == 0, serve.stderr.read() if serve.stderr else ""
    host, port = server.removeprefix("https://").rsplit(":", 1)
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=5):
        pass


def test_sim_serve_says_so_when_the_control_plane_dies(tmp_path: Path):
    serve, _ = serve_real(tmp_path / "real.yaml", "modern")
    children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
    [plane] = [int(c) for c in children if "controlplane" in Path(f"/proc/{c}/cmdline").read_text()]
    os.killpg(plane, signal.SIGKILL)  # its own process group: the API server and the controllers' children
    try:
        code = serve.wait(60)
    finally:
        if serve.poll() is None:
            serve.kill()
    err = serve.stderr.read() if serve.stderr else ""
    assert code == 3, err
    lines = [line for line in err.splitlines() if line.startswith("cilium-lab")]
    assert len(lines) == 1 and "the real control plane exited with code -9 while serving" in lines[0], err
