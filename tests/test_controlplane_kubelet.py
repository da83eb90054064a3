"""The real control plane's kubelet endpoints for emulated nodes (`--kubelet NAME=IP`, `--kubelet-shell
URL`, /work/briefs/s17-interface.md): `kubectl exec`, the Python client's exec (WebSocket) and pod logs go
API server -> the node's TLS endpoint -> a shell over loopback HTTP, which this test serves itself."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from kubernetes import client as k8s
from kubernetes.stream import stream

from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.cluster.exec import run as exec_run
from controlplane import BINARY, ControlPlane, KubeletEndpoint, node_object, skip_reason, start

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]

NODE, NODE_IP = "emulated-a", "127.0.0.2"
POD, GHOST, CONTAINER = "shell-pod", "ghost-pod", "main"  # GHOST exists in the API only, not in the shell
STOPPED = "stopped-pod"  # the shell runs this pod, but its container does not run and never ran
NEVER_STARTED = f'container "{CONTAINER}" in pod "{STOPPED}" is waiting to start: ContainerCreating'
LOG = "first line\nsecond line\nthird line\n"


@dataclass
class Shell:
    """The node side's shell, as small as the interface allows: exec echoes its command (and stdin),
    `fail` exits 3, `block` waits for `release` (at most a minute), logs are LOG; only POD's container on
    NODE runs; STOPPED's is there but never started (/running says no, /logs refuses as the kubelet does)."""

    requests: list[dict] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)  # a `block` command arrived
    release: threading.Event = field(default_factory=threading.Event)

    def known(self, node: str, namespace: str, pod: str, container: str) -> bool:
        return (node, namespace, pod, container) == (NODE, "default", POD, CONTAINER)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        shell = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def reply(self, status: int, body: str, content_type: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the control plane stopped meanwhile
                    self.wfile.write(data)

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                shell.requests.append({"path": "/exec", **request})
                if self.path != "/exec" or not shell.known(
                    request["node"], request["namespace"], request["pod"], request["container"]
                ):
                    self.reply(404, json.dumps({"message": "no such pod"}), "application/json")
                    return
                command = request["command"]
                stdin = base64.b64decode(request["stdin"]).decode() if request["stdin"] is not None else ""
                result = {"stdout": " ".join(command) + "\n" + stdin, "stderr": "", "exit_code": 0}
                if command == ["fail"]:
                    result = {"stdout": "", "stderr": "it failed\n", "exit_code": 3}
                if command == ["block"]:
                    shell.blocked.set()
                    shell.release.wait(60)
                self.reply(200, json.dumps(result), "application/json")

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                shell.requests.append({"path": url.path, **query})
                where = [query.get(k, "") for k in ("node", "namespace", "pod", "container")]
                stopped = where == [NODE, "default", STOPPED, CONTAINER]
                if url.path not in ("/logs", "/running") or not (shell.known(*where) or stopped):
                    self.reply(404, json.dumps({"message": "no such container"}), "application/json")
                    return
                if url.path == "/running":
                    self.reply(200, json.dumps({"running": not stopped}), "application/json")
                    return
                if stopped:
                    self.reply(400, json.dumps({"message": NEVER_STARTED}), "application/json")
                    return
                lines = LOG.splitlines(keepends=True)
                if "tailLines" in query:
                    tail = int(query["tailLines"])
                    lines = lines[len(lines) - tail :] if tail else []
                self.reply(200, "".join(lines), "text/plain")

        return Handler


@dataclass(frozen=True)
class Cluster:
    plane: ControlPlane
    admin: Connection
    shell: Shell
    kubelet: KubeletEndpoint


def _heartbeat(admin: Connection, stop: threading.Event) -> None:
    """Keep NODE Ready as a kubelet does (the node lifecycle controller marks silent nodes Unknown)."""
    while not stop.wait(10):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        condition = {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now}
        admin.core.patch_node_status(NODE, {"status": {"conditions": [condition]}})


def _running_pod(admin: Connection, name: str) -> None:
    """A pod on NODE, marked Running through the status subresource as the kubelet would."""
    admin.core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": name},
            "spec": {
                "nodeName": NODE,
                "containers": [{"name": CONTAINER, "image": "registry.k8s.io/pause:3.10"}],
            },
        },
    )
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
        "containerStatuses": [
            {
                "name": CONTAINER,
                "image": "registry.k8s.io/pause:3.10",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
            }
        ],
    }
    admin.core.patch_namespaced_pod_status(name, "default", {"status": status})


@contextmanager
def serve_shell() -> Iterator[tuple[Shell, str]]:
    """The Shell on a free port of 127.0.0.1, and its URL, until the block ends."""
    shell = Shell()
    server = ThreadingHTTPServer(("127.0.0.1", 0), shell.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield shell, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        shell.release.set()
        server.shutdown()
        server.server_close()


@contextmanager
def node_with_pods(
    plane: ControlPlane, pods: tuple[str, ...] = (POD, GHOST, STOPPED)
) -> Iterator[Connection]:
    """NODE registered at its kubelet endpoint and kept Ready, with `pods` Running on it."""
    admin = connect(plane.kubeconfig, context="admin")
    kubelet = plane.kubelets[NODE]
    node = node_object(NODE, ip=kubelet.ip, kubelet_port=kubelet.port)
    status = node.pop("status")
    admin.core.create_node(node)
    admin.core.patch_node_status(NODE, {"status": status})
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(admin, stop), daemon=True).start()
    try:
        for pod in pods:
            _running_pod(admin, pod)
        yield admin
    finally:
        stop.set()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("kubelets")
    with (
        serve_shell() as (shell, shell_url),
        start(base, kubelets={NODE: NODE_IP}, shell_url=shell_url) as plane,
        node_with_pods(plane) as admin,
    ):
        yield Cluster(plane, admin, shell, plane.kubelets[NODE])


def test_kubelet_line_and_endpoint(cluster: Cluster):
    """One `kubelet:` line per node, on its address; its TLS certificate is from the CA and names that IP."""
    assert cluster.kubelet.ip == NODE_IP and cluster.kubelet.port > 0
    context = ssl.create_default_context(cafile=str(cluster.plane.workdir / "ca.crt"))  # checks the IP SAN
    base = f"https://{NODE_IP}:{cluster.kubelet.port}"
    with urllib.request.urlopen(f"{base}/healthz", context=context, timeout=10) as response:
        assert (response.status, response.read()) == (200, b"ok")
    # without the API server's client certificate, the kubelet API refuses
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/containerLogs/default/{POD}/{CONTAINER}", context=context, timeout=10)
    assert refused.value.code == 401


def _kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    command = [
        kubectl,
        "--kubeconfig",
        cluster.plane.kubeconfig,
        "--context",
        "admin",
        "-n",
        "default",
        *args,
    ]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)


def test_kubectl_exec(cluster: Cluster):
    done = _kubectl(cluster, "exec", POD, "-c", CONTAINER, "--", "cilium-dbg", "status", "--brief")
    assert (done.returncode, done.stdout) == (0, "cilium-dbg status --brief\n"), done.stderr
    request = cluster.shell.requests[-1]
    assert request["path"] == "/exec" and request["node"] == NODE and request["tty"] is False
    assert request["stdin"] is None  # no -i: no stdin stream

    failed = _kubectl(cluster, "exec", POD, "-c", CONTAINER, "--", "fail")
    assert failed.returncode == 3  # the shell's exit code, through the remotecommand status
    assert "it failed" in failed.stderr

    with_stdin = _kubectl(cluster, "exec", "-i", POD, "-c", CONTAINER, "--", "cat", stdin="from stdin\n")
    assert (with_stdin.returncode, with_stdin.stdout) == (0, "cat\nfrom stdin\n"), with_stdin.stderr


def test_kubectl_logs(cluster: Cluster):
    done = _kubectl(cluster, "logs", POD, "-c", CONTAINER, "--tail=2")
    assert (done.returncode, done.stdout) == (0, "second line\nthird line\n"), done.stderr
    request = cluster.shell.requests[-1]
    assert (request["path"], request["tailLines"], request["previous"]) == ("/logs", "2", "false")


def _exec(cluster: Cluster, pod: str, command: list[str], **kwargs: object) -> object:
    return stream(
        cluster.admin.core.connect_get_namespaced_pod_exec,
        pod,
        "default",
        container=CONTAINER,
        command=command,
        stdin=False,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
        **kwargs,
    )


@pytest.mark.parametrize(
    "headers",
    [
        None,  # offers v5 and v4: the API server translates v5 WebSocket to SPDY towards the kubelet
        {"sec-websocket-protocol": "v4.channel.k8s.io"},  # v4 only: proxied as WebSocket to the kubelet
    ],
    ids=["websocket-v5", "websocket-v4"],
)
def test_python_client_exec(cluster: Cluster, headers: dict | None):
    extra = {"_headers": headers} if headers else {}
    client = _exec(cluster, POD, ["echo", "hello"], **extra)
    client.run_forever(timeout=30)
    assert (client.read_stdout(), client.returncode) == ("echo hello\n", 0)

    client = _exec(cluster, POD, ["fail"], **extra)
    client.run_forever(timeout=30)
    assert (client.read_stderr(), client.returncode) == ("it failed\n", 3)


def test_library_exec(cluster: Cluster):
    """The library's own exec (cilium_lab.cluster.exec.run, what the agents' commands go through)."""
    conn = connect(cluster.plane.kubeconfig, context="admin")
    done = exec_run(conn, "default", POD, ["cilium-dbg", "version"], container=CONTAINER)
    assert (done.stdout, done.stderr, done.code) == ("cilium-dbg version\n", "", 0)
    failed = exec_run(conn, "default", POD, ["fail"], container=CONTAINER)
    assert (failed.stdout, failed.stderr, failed.code) == ("", "it failed\n", 3)


def test_python_client_logs(cluster: Cluster):
    assert cluster.admin.core.read_namespaced_pod_log(POD, "default", container=CONTAINER) == LOG
    tail = cluster.admin.core.read_namespaced_pod_log(POD, "default", container=CONTAINER, tail_lines=1)
    assert tail == "third line\n"


def test_unknown_pod(cluster: Cluster):
    """A pod the API server has but the node's shell does not: the kubelet's 404 `pod does not exist`."""
    done = _kubectl(cluster, "exec", GHOST, "-c", CONTAINER, "--", "true")
    assert done.returncode == 1
    assert done.stderr == "error: Internal error occurred: unable to upgrade connection: pod does not exist\n"

    # v5 (translated by the API server): the upgrade to the client succeeded, the error is the status
    client = _exec(cluster, GHOST, ["true"])
    client.run_forever(timeout=30)
    status = json.loads(client.read_channel(3))
    assert (status["status"], status["code"]) == ("Failure", 500)
    assert status["message"] == "Internal error occurred: unable to upgrade connection: pod does not exist"
    # v4 (proxied to the kubelet): the WebSocket handshake fails with the kubelet's 404
    with pytest.raises(k8s.ApiException) as raised:
        _exec(cluster, GHOST, ["true"], _headers={"sec-websocket-protocol": "v4.channel.k8s.io"})
    assert raised.value.reason.startswith("Handshake status 404 Not Found")
    assert raised.value.reason.endswith("-+-+- pod does not exist")  # the kubelet's text, no newline

    # logs: the kubelet's 404 becomes the API server's NotFound for pods/log, as on a real cluster
    with pytest.raises(k8s.ApiException) as raised:
        cluster.admin.core.read_namespaced_pod_log(GHOST, "default", container=CONTAINER)
    assert raised.value.status == 404
    assert json.loads(raised.value.body)["details"] == {"name": GHOST, "kind": "pods/log"}
    assert cluster.shell.requests[-1] | {"path": "/logs", "pod": GHOST} == cluster.shell.requests[-1]
    assert not any(r.get("pod") == GHOST and r["path"] == "/exec" for r in cluster.shell.requests)


def test_a_container_that_does_not_run(cluster: Cluster):
    """A pod the node runs whose container does not run: an exec is refused before any upgrade as the kubelet
    refuses it (GetExec's `container not found`, a 500), its log as the kubelet refuses a container that never
    started (a 400, the API server's BadRequest)."""
    done = _kubectl(cluster, "exec", STOPPED, "-c", CONTAINER, "--", "true")
    assert done.returncode == 1
    assert done.stderr == (
        f'error: Internal error occurred: unable to upgrade connection: container not found ("{CONTAINER}")\n'
    )
    assert cluster.shell.requests[-1] | {"path": "/running", "pod": STOPPED} == cluster.shell.requests[-1]
    logs = _kubectl(cluster, "logs", STOPPED, "-c", CONTAINER)
    assert (logs.returncode, logs.stderr) == (1, f"Error from server (BadRequest): {NEVER_STARTED}\n")
    with pytest.raises(k8s.ApiException) as raised:
        cluster.admin.core.read_namespaced_pod_log(STOPPED, "default", container=CONTAINER)
    assert (raised.value.status, json.loads(raised.value.body)["message"]) == (400, NEVER_STARTED)
    assert not any(r.get("pod") == STOPPED and r["path"] == "/exec" for r in cluster.shell.requests)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kubelet=node-a"], "want NAME=IP"),
        (["--kubelet=Node_A=127.0.0.2"], "want NAME=IP"),
        (["--kubelet=node-a=10.0.0.2", "--kubelet-shell=http://127.0.0.1:1"], "127.0.0.0/8"),
        (["--kubelet=node-a=127.0.0.2"], "--kubelet needs --kubelet-shell"),
        (
            ["--kubelet=a=127.0.0.2", "--kubelet=a=127.0.0.3", "--kubelet-shell=http://127.0.0.1:1"],
            "given twice",
        ),
        (
            ["--kubelet=a=127.0.0.2", "--kubelet=b=127.0.0.2", "--kubelet-shell=http://127.0.0.1:1"],
            "given twice",
        ),
        (["--kubelet-shell=https://127.0.0.1:1"], "wants http://127.0.0.1:PORT"),
        (["--kubelet-shell=http://192.0.2.1:1"], "must be on loopback"),
    ],
)
def test_bad_kubelet_flags(tmp_path: Path, args: list[str], message: str):
    """One line that says what the flag wants, exit 2, and nothing made (no working directory)."""
    if reason := skip_reason():
        pytest.skip(reason)
    workdir = tmp_path / "never"
    done = subprocess.run(
        [str(BINARY), f"--dir={workdir}", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr, done.stderr
    assert done.stdout == "" and not workdir.exists()
