"""The emulated nodes' shell on 127.0.0.1: exec and logs, as the control plane's kubelet endpoints forward them.

The contract with the Go side (controlplane/, the kubelet endpoints that speak SPDY and WebSocket to the API
server with Kubernetes' own streaming code):
  POST /exec  {"node", "namespace", "pod", "container", "command": [..], "stdin": base64 or null, "tty"}
              -> 200 {"stdout", "stderr", "exit_code"}
  GET  /running?node=&namespace=&pod=&container=  -> 200 {"running": bool, "message" when not}
  GET  /logs?node=&namespace=&pod=&container=&previous=&tailLines=&timestamps=&follow=  -> 200 text/plain
A pod the node does not run (not mirrored, or bound to another node) answers 404 {"message"} everywhere,
which the Go side turns into the kubelet's 404. /exec answers 404 too for a container that is not running;
the Go side asks /running first and refuses such an exec as the kubelet does (`container not found`). /logs
answers as the kubelet does (`control.kubelet.log_status`): the running container's log, or for one waiting
to restart (CrashLoopBackOff) the last run's, `previous` the last terminated one's; 404 for a container the
pod does not have, 400 {"message"} in the kubelet's words for one that never started or has no previous run.
Commands run in the emulator's shell (`control.behaviour.run`) with the pod's `ExecContext` from the node
side's `Backend`, exactly as the embedded cluster's pods/exec; logs are the emulator's container logs
(`control.kubelet.container_log`). Simplifications: the emulator keeps one boot per pod (its last), so
`previous` shows that boot's log too; `follow` returns what exists and ends; `timestamps` prefixes every
line with the container's start time (a crash-looping one's: when its last run ended). No authentication:
only loopback is bound, and the API server reaches it only through the kubelet endpoints, which check its
client certificate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from aiohttp import web

from cilium_lab.sim.api.threaded_site import ThreadedSite
from cilium_lab.sim.control import behaviour, kubelet
from cilium_lab.sim.control.backend import Backend

BACKEND = web.AppKey("backend", Backend)


class NotFound(Exception):
    pass


def _pod(b: Backend, node: str, namespace: str, name: str) -> dict[str, Any]:
    pod = b.store.find("pods", namespace, name)
    if pod is None or pod["spec"].get("nodeName") != node:
        raise NotFound(f'pod "{name}" in namespace "{namespace}" not found on node "{node}"')
    return pod


def _running(pod: dict[str, Any], container: str) -> None:
    """NotFound, in the kubelet's words, unless the pod has the container and it runs."""
    if container not in {c["name"] for c in pod["spec"]["containers"]}:
        raise NotFound(f'container "{container}" not found in pod "{pod["metadata"]["name"]}"')
    if refusal := kubelet.exec_refusal(pod, container):
        raise NotFound(refusal)


def exec_in_pod(b: Backend, request: dict[str, Any]) -> dict[str, Any]:
    """One exec as the contract's JSON: run the command in the emulated container, answer its output."""
    pod = _pod(b, str(request["node"]), str(request["namespace"]), str(request["pod"]))
    container = str(request["container"])
    _running(pod, container)
    argv = [str(a) for a in request.get("command") or []]
    try:
        stdin = base64.b64decode(request["stdin"]).decode(errors="replace") if request.get("stdin") else ""
    except binascii.Error:
        raise ValueError("stdin is not base64") from None
    b.exec_log.append((pod["metadata"]["namespace"], pod["metadata"]["name"], container, tuple(argv)))
    result = behaviour.run(b.exec_context(pod, container), argv, stdin)
    return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.code}


def container_log(b: Backend, query: dict[str, str]) -> str:
    """The container's log as the contract's GET /logs answers it; LogRefused (a 400) as the kubelet refuses."""
    pod = _pod(b, query.get("node", ""), query.get("namespace", ""), query.get("pod", ""))
    container = query.get("container", "")
    if container not in {c["name"] for c in pod["spec"]["containers"]}:
        # the kubelet's 404 (getContainerLogs, pkg/kubelet/server/server.go, Kubernetes 1.32.13)
        raise NotFound(f'container "{container}" not found in pod "{pod["metadata"]["name"]}"')
    status = kubelet.log_status(pod, container, query.get("previous") == "true")
    tail = query.get("tailLines")
    text = kubelet.container_log(b, pod, container, int(tail) if tail else None)
    if query.get("timestamps") == "true":
        state = status.get("state") or {}
        last = (status.get("lastState") or {}).get("terminated") or {}
        started = (
            (state.get("running") or {}).get("startedAt")
            or last.get("startedAt")
            or last.get("finishedAt", "")
        )
        text = "".join(f"{started} {line}\n" for line in text.splitlines())
    return text


def running(b: Backend, query: dict[str, str]) -> dict[str, Any]:
    """The contract's GET /running: whether an exec may go to the container (NotFound for a pod the node does
    not run)."""
    pod = _pod(b, query.get("node", ""), query.get("namespace", ""), query.get("pod", ""))
    try:
        _running(pod, query.get("container", ""))
    except NotFound as err:
        return {"running": False, "message": str(err)}
    return {"running": True}


async def _exec(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        if not isinstance(body, dict) or not body.get("command"):
            raise ValueError("a JSON object with node, namespace, pod, container and command is required")
        answer = await asyncio.get_running_loop().run_in_executor(
            None, exec_in_pod, request.app[BACKEND], body
        )
    except NotFound as err:
        return web.json_response({"message": str(err)}, status=404)
    except (ValueError, KeyError) as err:
        return web.json_response({"message": f"bad exec request: {err}"}, status=400)
    return web.json_response(answer)


async def _logs(request: web.Request) -> web.Response:
    try:
        text = container_log(request.app[BACKEND], dict(request.query))
    except NotFound as err:
        return web.json_response({"message": str(err)}, status=404)
    except kubelet.LogRefused as err:
        return web.json_response({"message": str(err)}, status=400)
    except ValueError as err:
        return web.json_response({"message": f"bad logs request: {err}"}, status=400)
    return web.Response(text=text, content_type="text/plain")


async def _running_check(request: web.Request) -> web.Response:
    try:
        answer = running(request.app[BACKEND], dict(request.query))
    except NotFound as err:
        return web.json_response({"message": str(err)}, status=404)
    return web.json_response(answer)


def build_app(backend: Backend) -> web.Application:
    app = web.Application()
    app[BACKEND] = backend
    app.router.add_post("/exec", _exec)
    app.router.add_get("/logs", _logs)
    app.router.add_get("/running", _running_check)
    return app


class ShellServer:
    """Serves `build_app` on 127.0.0.1:<free port> in a thread of its own; `url` once started."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.url = ""
        self._site = ThreadedSite(lambda: build_app(backend), what="the node shell", thread="node-shell")

    def start(self) -> ShellServer:
        self._site.start()
        self.url = self._site.url
        return self

    def stop(self) -> None:
        self._site.stop()

    def __enter__(self) -> ShellServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
