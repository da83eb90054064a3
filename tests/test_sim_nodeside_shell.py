"""The node side's shell (`sim.nodeside.shell_server`) over real HTTP on 127.0.0.1, as the control plane's
kubelet endpoints call it: exec and logs of pods that the emulator's kubelets started, answered by the
emulator's own shell and agent logs. Needs no control plane program."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from waiting import wait_for

from cilium_lab.sim.agent.runtime import ExecResult
from cilium_lab.sim.control import behaviour, bootstrap
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.control.controllers import Controllers
from cilium_lab.sim.nodeside.shell_server import ShellServer
from cilium_lab.sim.state import profiles


def started(crash_looping: tuple[str, ...] = ()) -> Backend:
    """An emulated cluster's backend whose agents started (the embedded cluster's own controllers ran
    them); those on `crash_looping` nodes failed."""
    b = Backend(profiles.load("seed-mixed"), seed=3)
    b.faults.crash_loop(*crash_looping)
    bootstrap.install(b)
    controllers = Controllers(b)

    def running() -> bool:
        controllers.tick()
        pods = b.store.list("pods", "kube-system")
        return len(pods) == len(b.nodes) and all(p["status"].get("phase") == "Running" for p in pods)

    wait_for(running)
    return b


@pytest.fixture(scope="module")
def backend() -> Backend:
    return started()


@pytest.fixture(scope="module")
def shell(backend: Backend) -> Iterator[str]:
    with ShellServer(backend) as server:
        yield server.url


def agent(b: Backend, node: str) -> dict[str, Any]:
    return next(p for p in b.store.list("pods", "kube-system") if p["spec"]["nodeName"] == node)


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/exec", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def get_logs(url: str, path: str = "/logs", **query: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(query)}", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def get_running(url: str, **query: str) -> tuple[int, dict[str, Any]]:
    status, text = get_logs(url, "/running", **query)
    return status, json.loads(text)


def exec_body(pod: dict[str, Any], command: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "node": pod["spec"]["nodeName"],
        "namespace": "kube-system",
        "pod": pod["metadata"]["name"],
        "container": "cilium-agent",
        "command": command,
        "stdin": None,
        "tty": False,
        **extra,
    }


def direct(b: Backend, pod: dict[str, Any], argv: list[str]) -> ExecResult:
    return behaviour.run(b.exec_context(pod, "cilium-agent"), argv)


def test_exec_answers_as_the_emulated_agent(backend: Backend, shell: str):
    pod = agent(backend, "vm-2")
    status, answer = post(shell, exec_body(pod, ["cilium", "status", "--brief"]))
    assert status == 200, answer
    assert answer == {**answer, "exit_code": 0, "stderr": ""}
    assert answer["stdout"] == direct(backend, pod, ["cilium", "status", "--brief"]).stdout
    assert answer["stdout"].strip() == "OK"
    assert backend.exec_log[-1][1:] == (
        pod["metadata"]["name"],
        "cilium-agent",
        ("cilium", "status", "--brief"),
    )


def test_exec_reports_the_exit_code_and_stderr(backend: Backend, shell: str):
    pod = agent(backend, "vm-1")
    status, answer = post(shell, exec_body(pod, ["frobnicate"]))
    assert (status, answer["exit_code"]) == (200, 127)
    assert "frobnicate: not found" in answer["stderr"]


def test_exec_reads_stdin(backend: Backend, shell: str):
    pod = agent(backend, "vm-1")
    stdin = base64.b64encode(b"one\ntwo\n").decode()
    status, answer = post(shell, exec_body(pod, ["wc", "-l"], stdin=stdin))
    assert (status, answer["stdout"].strip(), answer["exit_code"]) == (200, "2", 0)


def test_exec_refuses_a_pod_on_another_node_or_unknown(backend: Backend, shell: str):
    pod = agent(backend, "vm-1")
    status, answer = post(shell, {**exec_body(pod, ["uname", "-r"]), "node": "vm-2"})
    assert status == 404 and "not found on node" in answer["message"]
    status, answer = post(shell, {**exec_body(pod, ["uname", "-r"]), "pod": "cilium-nope"})
    assert status == 404
    status, answer = post(shell, {**exec_body(pod, ["uname", "-r"]), "container": "sidecar"})
    assert status == 404 and 'container "sidecar" not found' in answer["message"]
    status, answer = post(shell, {**exec_body(pod, []), "command": []})
    assert status == 400


def agent_container(pod: dict, node: str) -> dict[str, str]:
    """The query that names the agent container of `pod` on `node`, for /logs and /running."""
    return {
        "node": node,
        "namespace": "kube-system",
        "pod": pod["metadata"]["name"],
        "container": "cilium-agent",
    }


def test_logs_are_the_agent_boot_log(backend: Backend, shell: str):
    pod = agent(backend, "vm-3")
    where = agent_container(pod, "vm-3")
    status, text = get_logs(shell, **where)
    boot = backend.boots[pod["metadata"]["uid"]]
    assert (status, text) == (200, "".join(f"{line}\n" for line in boot.log))
    assert len(boot.log) > 1
    status, last = get_logs(shell, **where, tailLines="1")
    assert (status, last) == (200, f"{boot.log[-1]}\n")
    status, stamped = get_logs(shell, **where, tailLines="1", timestamps="true")
    started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert stamped == f"{started} {boot.log[-1]}\n"
    status, text = get_logs(shell, **where, previous="true")
    # no restart yet, so no previous container: the kubelet's 400 (validateContainerLogStatus)
    message = f'previous terminated container "cilium-agent" in pod "{where["pod"]}" not found'
    assert (status, json.loads(text)) == (400, {"message": message})
    assert get_logs(shell, **{**where, "node": "vm-1"})[0] == 404
    status, text = get_logs(shell, **{**where, "container": "sidecar"})
    assert (status, json.loads(text)["message"]) == (
        404,
        f'container "sidecar" not found in pod "{where["pod"]}"',
    )
    assert get_logs(shell, **where, tailLines="many")[0] == 400
    assert get_running(shell, **where) == (200, {"running": True})
    assert get_running(shell, **{**where, "node": "vm-1"})[0] == 404


def test_logs_of_a_container_that_never_started_are_refused_as_the_kubelet_refuses_them(backend: Backend):
    pod = agent(backend, "vm-3")
    where = agent_container(pod, "vm-3")
    name = pod["metadata"]["name"]
    waiting = {**pod, "status": {**pod["status"], "containerStatuses": [{**pod["status"]["containerStatuses"][0],
               "state": {"waiting": {"reason": "ImagePullBackOff"}}, "restartCount": 0}]}}  # fmt: skip
    pending = {**pod, "status": {"phase": "Pending"}}
    for changed, message in (
        (
            waiting,
            f'container "cilium-agent" in pod "{name}" is waiting to start: trying and failing to pull image',
        ),
        (pending, f'container "cilium-agent" in pod "{name}" is waiting to start: ContainerCreating'),
    ):
        b = Backend(profiles.load("seed-mixed"), seed=3)
        b.store.create("pods", {**changed, "metadata": {k: v for k, v in pod["metadata"].items()
                                                         if k in ("name", "namespace", "uid")}})  # fmt: skip
        with ShellServer(b) as server:
            status, text = get_logs(server.url, **where)
            assert (status, json.loads(text)) == (400, {"message": message})
            assert get_running(server.url, **where)[1]["running"] is False


def test_a_crash_looping_agent_logs_its_last_run_and_takes_no_exec():
    b = started(crash_looping=("vm-2",))
    pod = agent(b, "vm-2")
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    where = {
        "node": "vm-2",
        "namespace": "kube-system",
        "pod": pod["metadata"]["name"],
        "container": "cilium-agent",
    }
    with ShellServer(b) as server:
        boot = b.boots[pod["metadata"]["uid"]]
        failed = "".join(f"{line}\n" for line in boot.log)
        assert "fault injected by the embedded cluster: agent crash loop" in failed
        # waiting to restart: the kubelet shows the last run's log, with -p and without (both lastState's)
        assert get_logs(server.url, **where, previous="true") == (200, failed)
        assert get_logs(server.url, **where) == (200, failed)
        # not running: the Go side refuses an exec on this, before any upgrade
        assert get_running(server.url, **where) == (
            200,
            {"running": False, "message": 'container not found ("cilium-agent")'},
        )
        status, answer = post(server.url, exec_body(pod, ["cilium", "status"]))
        assert status == 404 and answer["message"] == 'container not found ("cilium-agent")'
