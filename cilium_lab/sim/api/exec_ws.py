"""pods/exec and pods/log: the agent's boot log, and commands run in a pod over a websocket.

Exec speaks the Kubernetes remote-command websocket protocols
v5.channel.k8s.io (kubectl >= 1.30; channel 255 closes a stream), v4.channel.k8s.io (the Python
client's kubernetes.stream) and their base64 variants: one frame per write, first byte (or digit)
the channel: 0 stdin, 1 stdout, 2 stderr, 3 status. The status channel carries a metav1.Status,
Success or Failure with reason NonZeroExitCode and a cause ExitCode, as the kubelet sends. The
command runs in `control.behaviour.run` with an `ExecContext` from the backend; stdin is not read (the
emulated commands take none). SPDY upgrades (kubectl before 1.30) are refused with 400 BadRequest
"unable to upgrade connection: ..." since this server has no SPDY; kubectl >= 1.30 never sends them.
An exec into a container that does not run (Pending, crash-looping) is refused as kube-apiserver and the
kubelet refuse it: to a client offering v5 as a Status on the error channel (500, `unable to upgrade
connection: container not found ("NAME")`), to older ones with the kubelet's 500 before the upgrade. Logs
pick the container as the kubelet does (`control.kubelet.log_status`): a crash-looping one's last run, with
or without `previous`; one that never started, or `previous` with no earlier run, is a 400 in its words.
A websocket exec is a GET, authorized as `get` on pods/exec; from Kubernetes 1.35 (the profile's version) also
as `create`, as kube-apiserver does (kubernetes/kubernetes#134577, AuthorizePodWebsocketUpgradeCreatePermission).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

from aiohttp import WSMsgType, web

from cilium_lab.sim.agent.runtime import ExecResult
from cilium_lab.sim.api.access import authorize, backend_of
from cilium_lab.sim.api.object_handlers import Target
from cilium_lab.sim.control import behaviour, kubelet
from cilium_lab.sim.state import k8s_errors

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "base64.channel.k8s.io")
STDOUT, STDERR, STATUS, CLOSE = 1, 2, 3, 255
CREATE_CHECKED_FROM = (1, 35)  # websocket exec also needs `create` on pods/exec from this Kubernetes version


def _checks_create(kubernetes_version: str) -> bool:
    m = re.match(r"v?(\d+)\.(\d+)", kubernetes_version)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= CREATE_CHECKED_FROM


def _container(pod: dict[str, Any], wanted: str | None) -> str:
    names = [c["name"] for c in pod["spec"]["containers"]]
    if wanted and wanted not in names:
        raise k8s_errors.bad_request(f"container {wanted} is not valid for pod {pod['metadata']['name']}")
    return wanted or names[0]


def _has_host(pod: dict[str, Any]) -> None:
    if not pod["spec"].get("nodeName"):
        raise k8s_errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")


def _offers_v5(request: web.Request) -> bool:
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    return PROTOCOLS[0] in {p.strip() for p in offered.split(",")}


def upgrade_failed(refusal: str) -> dict[str, Any]:
    """The Status kube-apiserver sends on a v5 client's error channel when the kubelet refused the upgrade
    (StreamTranslatorHandler, k8s.io/apiserver/pkg/util/proxy/streamtranslator.go, 1.32: NewInternalError of
    the SPDY client's `unable to upgrade connection: ...`)."""
    cause = f"unable to upgrade connection: {refusal}"
    return {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {cause}",
            "reason": "InternalError", "details": {"causes": [{"message": cause}]}, "code": 500}  # fmt: skip


async def log(request: web.Request, t: Target) -> web.Response:
    await authorize(request, t.attrs("get"))
    b = backend_of(request)
    pod = b.store.peek("pods", t.namespace or "", t.name or "")
    container = _container(pod, request.query.get("container"))
    try:  # the kubelet's choice of container, and its refusals (a 400 BadRequest through the API server)
        kubelet.log_status(pod, container, request.query.get("previous") in ("true", "1"))
    except kubelet.LogRefused as err:
        raise k8s_errors.bad_request(str(err)) from None
    tail = request.query.get("tailLines")
    text = kubelet.container_log(b, pod, container, int(tail) if tail else None)
    return web.Response(text=text, content_type="text/plain")


def status_message(result: ExecResult, argv: list[str]) -> dict[str, Any]:
    if result.code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {argv}, exit code {result.code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(result.code)}]},
    }


async def exec_(request: web.Request, t: Target) -> web.StreamResponse:
    await authorize(request, t.attrs("create" if request.method == "POST" else "get"))
    if request.method != "POST" and _checks_create(backend_of(request).profile.kubernetes_version):
        await authorize(request, t.attrs("create"))
    if request.headers.get("Upgrade", "").lower().startswith("spdy"):
        raise k8s_errors.bad_request(
            "unable to upgrade connection: SPDY is not supported by this server; use websockets (kubectl >= 1.30)"
        )
    b = backend_of(request)
    pod = b.store.peek("pods", t.namespace or "", t.name or "")
    container = _container(pod, request.query.get("container"))
    _has_host(pod)
    argv = request.query.getall("command", [])
    if not argv:
        raise k8s_errors.bad_request("you must specify at least 1 command")
    refusal = kubelet.exec_refusal(pod, container)
    if refusal and not _offers_v5(request):
        # v4 and older are proxied to the kubelet: its refusal (streaming.WriteError, a 500) is the answer
        return web.Response(status=500, text=refusal, content_type="text/plain", charset="utf-8")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    if not ws.can_prepare(request).ok:
        raise k8s_errors.bad_request("Upgrade request required")
    await ws.prepare(request)
    if refusal:  # v5 is translated to SPDY towards the kubelet: its refusal comes back as a Status
        await _Channels(ws).send(STATUS, json.dumps(upgrade_failed(refusal)).encode())
        await _drain(ws)
        await ws.close()
        return ws
    b.exec_log.append((t.namespace or "", t.name or "", container, tuple(argv)))
    context = b.exec_context(pod, container)
    result = await asyncio.get_running_loop().run_in_executor(None, behaviour.run, context, argv)
    channel = _Channels(ws)
    await channel.send(STDOUT, result.stdout.encode())
    await channel.send(STDERR, result.stderr.encode())
    await channel.send(STATUS, json.dumps(status_message(result, argv)).encode())
    await _drain(ws)
    await ws.close()
    return ws


class _Channels:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.base64 = "base64" in (ws.ws_protocol or "")

    async def send(self, channel: int, data: bytes) -> None:
        if not data:
            return
        if self.base64:
            await self.ws.send_str(str(channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read what the client already sent (stdin, v5 close signals) without waiting for more."""
    while True:
        try:
            msg = await asyncio.wait_for(ws.receive(), timeout=0.001)  # a kubelet does not wait either
        except TimeoutError:
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
            return
